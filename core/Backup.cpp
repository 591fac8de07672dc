#include "Backup.h"

#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QTemporaryDir>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace imprint::core {

namespace {

constexpr qint64 MaxEntry = qint64(64) * 1024 * 1024 * 1024; ///< refuse entries past 64 GiB
constexpr qint64 MaxManifest = qint64(16) * 1024 * 1024; ///< a manifest names some thousands of files at most
constexpr qint64 MaxSignature = 4096; ///< an ECDSA signature is under 150 bytes, an RSA-4096 one 512
const QString ManifestName = QStringLiteral("MANIFEST.json");
const QString SignatureName = QStringLiteral("MANIFEST.sig");
const QString StoreName = QStringLiteral("imprint.sqlite");
/// imprint-backup/1 had no signature; such a backup is no longer restored.
const QString BackupFormat = QStringLiteral("imprint-backup/2");

/// How the archive file is made: a new file (O_EXCL: not one that was there, and never
/// through a link planted at its name, which O_NOFOLLOW refuses as well), readable by its
/// owner only from its first byte: the token files go into it.
constexpr int ArchiveCreateFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
constexpr mode_t ArchiveCreateMode = 0600;

using Archive = std::unique_ptr<archive, int (*)(archive*)>;

/// The parts of a data directory a backup carries, relative to it: files, and folders taken whole.
const QStringList& carriedFiles()
{
    static const QStringList files { QStringLiteral("station.ini"), QStringLiteral("softhsm2.conf") };
    return files;
}
const QStringList& carriedFolders()
{
    static const QStringList folders { QStringLiteral("tokens"), QStringLiteral("profiles"), QStringLiteral("ca"),
        QStringLiteral("ra"), QStringLiteral("upstream") };
    return folders;
}

/// Whether `name` is one of the things a backup carries: the store, the settings and
/// softhsm2.conf, a file in a carried folder, the manifest and its signature. A restore
/// takes nothing else; above all not secrets/ (the PIN files, the QA passphrase), which no
/// backup holds and which an archive must never be able to put in place.
bool carried(const QString& name)
{
    if (name == StoreName || name == ManifestName || name == SignatureName || carriedFiles().contains(name))
        return true;
    return std::any_of(carriedFolders().begin(), carriedFolders().end(),
        [&name](const QString& folder) { return name.startsWith(folder + u'/'); });
}

/// A relative path that stays inside the folder it is unpacked in, written the one way.
bool safeName(const QString& name)
{
    return !name.isEmpty() && !name.startsWith(u'/') && !name.contains(u'\\')
        && !name.split(u'/').contains(QStringLiteral("..")) && QDir::cleanPath(name) == name;
}

QString entryName(archive_entry* e)
{
    const char* raw = archive_entry_pathname_utf8(e) ? archive_entry_pathname_utf8(e) : archive_entry_pathname(e);
    return QString::fromUtf8(raw ? raw : "");
}

/// Why the archive member `e`, named `name`, has no place in a backup; empty when it has.
QString memberProblem(archive_entry* e, const QString& name)
{
    const QString shown = name.left(80);
    // Files only: a symbolic or hard link, a folder, a device or a FIFO is never in a backup
    // (tar gives a hard link the type of a file, hence the separate look at it).
    if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) || archive_entry_symlink(e))
        return QStringLiteral("it holds \"%1\", which is not a plain file (a link, a folder or a device)").arg(shown);
    if (!safeName(name))
        return QStringLiteral("it holds \"%1\", a path that is absolute, goes up with \"..\" or is not written plainly")
            .arg(shown);
    if (!carried(name))
        return name.startsWith(QLatin1String("secrets/"))
            ? QStringLiteral("it holds \"%1\", but the PIN files (secrets/) are never in a backup and a restore "
                             "never puts them in place")
                  .arg(shown)
            : QStringLiteral("it holds \"%1\", which a backup never does").arg(shown);
    if (archive_entry_size(e) > MaxEntry)
        return QStringLiteral("it holds \"%1\", larger than a backup ever writes").arg(shown);
    return {};
}

/// SHA-256 of a file, read in pieces (a store can be gigabytes).
Result<QString> fileSha256(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return fail(ErrorCode::Io, QStringLiteral("Could not read %1 for the backup.").arg(path), f.errorString());
    QCryptographicHash h(QCryptographicHash::Sha256);
    if (!h.addData(&f))
        return fail(ErrorCode::Io, QStringLiteral("Could not read %1 for the backup.").arg(path), f.errorString());
    return QString::fromLatin1(h.result().toHex());
}

Result<void> writeFile(const QString& path, const QByteArray& contents)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::NewOnly) || f.write(contents) != contents.size())
        return fail(ErrorCode::Io, QStringLiteral("Could not write %1 for the backup.").arg(path), f.errorString());
    return {};
}

QString archiveError(archive* a)
{
    const char* e = archive_error_string(a);
    return e ? QString::fromUtf8(e) : QString();
}

QString systemError()
{
    return QString::fromLocal8Bit(strerror(errno));
}

Result<Archive> openArchive(const QString& path)
{
    Archive in(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(in.get());
    archive_read_support_filter_gzip(in.get());
    if (archive_read_open_filename(in.get(), QFile::encodeName(path).constData(), 64 * 1024) != ARCHIVE_OK)
        return fail(
            ErrorCode::BadInput, QStringLiteral("Cannot read the backup %1.").arg(path), archiveError(in.get()));
    return in;
}

/// A file descriptor, closed with its owner.
class OwnedFd {
public:
    explicit OwnedFd(int fd)
        : m_fd(fd)
    {
    }
    ~OwnedFd()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    OwnedFd(const OwnedFd&) = delete;
    OwnedFd& operator=(const OwnedFd&) = delete;

    [[nodiscard]] int get() const { return m_fd; }
    /// Flushes to the disk and closes; false when either failed.
    [[nodiscard]] bool syncAndClose()
    {
        const bool synced = ::fsync(m_fd) == 0;
        const bool closed = ::close(m_fd) == 0;
        m_fd = -1;
        return synced && closed;
    }

private:
    int m_fd = -1;
};

/// Removes a file it did not give up, when it goes out of scope: a half-written archive.
struct RemovedUnlessKept {
    QString path;
    bool kept = false;
    ~RemovedUnlessKept()
    {
        if (!kept)
            ::unlink(QFile::encodeName(path).constData());
    }
};

} // namespace

QByteArray backupManifestMessage(const QByteArray& manifest)
{
    // With its terminating zero, like the label of an audit checkpoint (AuditLog::checkpointMessage).
    static constexpr char Label[] = "IMPRINT-BACKUP-MANIFEST-V1";
    return QByteArray(Label, static_cast<qsizetype>(sizeof Label)) + manifest;
}

Result<BackupReport> backup(const DataDir& dir, const QString& archivePath, Signer& auditKey)
{
    if (!dir.isInitialized())
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("The data directory %1 is not set up; there is nothing to back up.").arg(dir.path()));
    // The snapshot is made beside the archive (a store can be larger than /tmp).
    const QFileInfo outFolder(QFileInfo(archivePath).absolutePath());
    if (!outFolder.isDir())
        return fail(ErrorCode::NotFound,
            QStringLiteral("The folder %1 does not exist: make it (mkdir -p %1), or give --out a file in a folder that "
                           "does.")
                .arg(outFolder.filePath()));
    if (!outFolder.isWritable())
        return fail(ErrorCode::Io,
            QStringLiteral("This account may not write in %1: give --out a file in a folder it may write to.")
                .arg(outFolder.filePath()));
    QTemporaryDir work(outFolder.filePath() + QStringLiteral("/.imprint-backup-XXXXXX"));
    if (!work.isValid())
        return fail(ErrorCode::Io,
            QStringLiteral("Could not make a temporary folder in %1 for the backup.").arg(outFolder.filePath()),
            work.errorString());
    BackupReport report;
    // What goes in: (name in the archive, file on disk).
    QList<std::pair<QString, QString>> entries;
    {
        auto store = RecordStore::open(dir.database(), true);
        if (!store)
            return std::unexpected(store.error());
        const QString snapshot = work.filePath(StoreName);
        if (auto r = store->snapshotTo(snapshot); !r)
            return std::unexpected(r.error());
        report.schema = store->schemaVersion();
        entries.append({ StoreName, snapshot });
    }
    {
        auto copy = RecordStore::open(work.filePath(StoreName), true);
        if (!copy)
            return std::unexpected(copy.error());
        auto head = copy->audit().head();
        if (!head)
            return std::unexpected(head.error());
        report.auditSeq = head->seq;
        report.auditHash = head->hash;
    }
    QStringList names;
    for (const QString& f : carriedFiles()) {
        if (QFileInfo::exists(dir.path() + u'/' + f))
            names << f;
    }
    for (const QString& folder : carriedFolders()) {
        QDirIterator it(dir.path() + u'/' + folder, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        QStringList found;
        while (it.hasNext())
            found << it.next();
        found.sort();
        for (const QString& path : found)
            names << QDir(dir.path()).relativeFilePath(path);
    }
    // Every file is copied into the work folder first, and the copy is what is hashed and
    // archived: the manifest vouches for exactly the bytes that go in, whatever changes in
    // the data directory meanwhile (the running station writes its token; loading the
    // settings below writes softhsm2.conf again when the directory was moved or copied).
    for (const QString& name : names) {
        const QString original = dir.path() + u'/' + name;
        const QString copy = work.filePath(name);
        if (!QDir().mkpath(QFileInfo(copy).absolutePath()) || !QFile::copy(original, copy))
            return fail(ErrorCode::Io, QStringLiteral("Could not copy %1 for the backup.").arg(original));
        entries.append({ name, copy });
    }

    QJsonObject sums;
    for (const auto& [name, path] : entries) {
        auto sum = fileSha256(path);
        if (!sum)
            return std::unexpected(sum.error());
        sums[name] = *sum;
    }
    auto config = dir.loadConfig();
    const QByteArray publicKey = auditKey.publicKey();
    report.auditKeySha256 = ossl::sha256Hex(publicKey);
    const QJsonObject manifest { { QStringLiteral("format"), BackupFormat },
        { QStringLiteral("station"), config ? config->stationName : QString() },
        { QStringLiteral("created"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate) },
        { QStringLiteral("schema"), report.schema },
        { QStringLiteral("audit"),
            QJsonObject { { QStringLiteral("seq"), report.auditSeq }, { QStringLiteral("hash"), report.auditHash } } },
        // The key that signs it, for a restore on a machine without the station's token: there
        // it is believed only when it is the key the person restoring names by its SHA-256.
        { QStringLiteral("signer"),
            QJsonObject { { QStringLiteral("key"), QStringLiteral("audit") },
                { QStringLiteral("public_key"), QString::fromLatin1(publicKey.toBase64()) },
                { QStringLiteral("public_key_sha256"), report.auditKeySha256 } } },
        { QStringLiteral("files"), sums } };
    const QByteArray manifestBytes = QJsonDocument(manifest).toJson(QJsonDocument::Indented);
    auto signature = auditKey.signSha256(backupManifestMessage(manifestBytes));
    if (!signature)
        return fail(signature.error().code,
            QStringLiteral("The backup's manifest could not be signed with the station's audit key; no backup was "
                           "written."),
            signature.error().text());
    if (auto r = writeFile(work.filePath(ManifestName), manifestBytes); !r)
        return std::unexpected(r.error());
    if (auto r = writeFile(work.filePath(SignatureName), *signature); !r)
        return std::unexpected(r.error());
    entries.append({ ManifestName, work.filePath(ManifestName) });
    entries.append({ SignatureName, work.filePath(SignatureName) });

    // Written aside, then renamed over: an interrupted backup leaves no half archive.
    const QString partial = archivePath + QStringLiteral(".partial");
    const QByteArray partialName = QFile::encodeName(partial);
    int created = ::open(partialName.constData(), ArchiveCreateFlags, ArchiveCreateMode);
    if (created < 0 && errno == EEXIST) {
        // Left by a backup that was interrupted, or put there by someone else: removed (unlink
        // never follows a link) and made anew, ours.
        if (::unlink(partialName.constData()) == 0)
            created = ::open(partialName.constData(), ArchiveCreateFlags, ArchiveCreateMode);
    }
    if (created < 0)
        return fail(ErrorCode::Io, QStringLiteral("Could not create %1 for the backup.").arg(partial), systemError());
    OwnedFd fd(created);
    RemovedUnlessKept half { partial };
    Archive out(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(out.get());
    if (archivePath.endsWith(QLatin1String(".gz")) || archivePath.endsWith(QLatin1String(".tgz")))
        archive_write_add_filter_gzip(out.get());
    if (archive_write_open_fd(out.get(), fd.get()) != ARCHIVE_OK)
        return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(archivePath), archiveError(out.get()));
    for (const auto& [name, path] : entries) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return fail(ErrorCode::Io, QStringLiteral("Could not read %1 for the backup.").arg(path));
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname_utf8(e.get(), name.toUtf8().constData());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0600);
        archive_entry_set_size(e.get(), f.size());
        archive_entry_set_mtime(e.get(), QFileInfo(path).lastModified().toSecsSinceEpoch(), 0);
        bool ok = archive_write_header(out.get(), e.get()) == ARCHIVE_OK;
        QByteArray piece;
        while (ok && !(piece = f.read(1024 * 1024)).isEmpty())
            ok = archive_write_data(out.get(), piece.constData(), static_cast<size_t>(piece.size())) == piece.size();
        if (!ok)
            return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(archivePath), archiveError(out.get()));
        report.files << name;
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK)
        return fail(ErrorCode::Io, QStringLiteral("Could not finish %1.").arg(archivePath), archiveError(out.get()));
    if (!fd.syncAndClose())
        return fail(ErrorCode::Io, QStringLiteral("Could not finish %1.").arg(archivePath), systemError());
    // rename(2) replaces an archive of the same name at once (and a link there, never what it
    // points to).
    if (::rename(partialName.constData(), QFile::encodeName(archivePath).constData()) != 0)
        return fail(ErrorCode::Io, QStringLiteral("Could not put the backup at %1.").arg(archivePath), systemError());
    half.kept = true;
    return report;
}

Result<BackupReport> restore(const QString& archivePath, const QString& target, bool force, const BackupTrust& trust)
{
    auto damaged = [&](const QString& why) {
        return fail(ErrorCode::BadInput,
            QStringLiteral("The backup %1 is damaged (%2); nothing was restored.").arg(archivePath, why));
    };
    auto refused = [&](const QString& why) {
        return fail(ErrorCode::BadInput,
            QStringLiteral("The backup %1 is refused: %2; nothing was restored.").arg(archivePath, why));
    };
    const QDir targetDir(target);
    if (targetDir.exists() && !targetDir.isEmpty(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden) && !force)
        return fail(ErrorCode::BadInput,
            QStringLiteral("%1 is not empty; restore into a new folder, or give --force to replace what is there.")
                .arg(target));
    // What the target held is moved here while the restored folder takes its place. One left
    // by a restore that did not finish may hold the only copy of the PIN files: it is never
    // removed unseen.
    const QString aside = target + QStringLiteral(".before-restore");
    if (targetDir.exists() && (QFileInfo::exists(aside) || QFileInfo(aside).isSymLink()))
        return fail(ErrorCode::BadInput,
            QStringLiteral("%1 is there, left by a restore that did not finish, and may hold the PIN files (secrets/) "
                           "of %2; look at it, move it away or remove it, then restore again. Nothing was restored.")
                .arg(aside, target));

    // First read: every member is looked at and hashed, the manifest and its signature kept.
    // Nothing is written until the signature and every sum are checked.
    QHash<QString, QString> sums; // every member but the manifest and its signature
    QByteArray manifestBytes;
    QByteArray signature;
    QSet<QString> seen;
    {
        auto in = openArchive(archivePath);
        if (!in)
            return std::unexpected(in.error());
        archive_entry* e = nullptr;
        int r = ARCHIVE_OK;
        while ((r = archive_read_next_header(in->get(), &e)) == ARCHIVE_OK) {
            const QString name = entryName(e);
            if (const QString why = memberProblem(e, name); !why.isEmpty())
                return refused(why);
            if (seen.contains(name))
                return refused(QStringLiteral("it holds \"%1\" twice").arg(name.left(80)));
            seen.insert(name);
            QByteArray* kept = name == ManifestName ? &manifestBytes : name == SignatureName ? &signature : nullptr;
            const qint64 keepUpTo = kept == &manifestBytes ? MaxManifest : MaxSignature;
            QCryptographicHash h(QCryptographicHash::Sha256);
            char buf[64 * 1024];
            la_ssize_t n = 0;
            while ((n = archive_read_data(in->get(), buf, sizeof buf)) > 0) {
                if (!kept) {
                    h.addData(QByteArrayView(buf, static_cast<qsizetype>(n)));
                } else if (kept->size() + n > keepUpTo) {
                    return damaged(QStringLiteral("its %1 is larger than a backup ever writes").arg(name));
                } else {
                    kept->append(buf, static_cast<qsizetype>(n));
                }
            }
            if (n < 0)
                return damaged(archiveError(in->get()));
            if (!kept)
                sums.insert(name, QString::fromLatin1(h.result().toHex()));
        }
        if (r != ARCHIVE_EOF)
            return damaged(archiveError(in->get()));
    }
    if (!seen.contains(ManifestName))
        return damaged(QStringLiteral("it has no %1").arg(ManifestName));
    const QJsonObject manifest = QJsonDocument::fromJson(manifestBytes).object();

    // Whose signature is believed: the audit key in the token of the station restored over;
    // where there is none, the key the person restoring names by its SHA-256.
    const QString given = trust.auditKeySha256.toLower();
    QByteArray spki;
    QString whose;
    if (!trust.auditKey.isEmpty()) {
        const QString tokenKey = ossl::sha256Hex(trust.auditKey);
        if (!given.isEmpty() && given != tokenKey)
            return fail(ErrorCode::BadInput,
                QStringLiteral(
                    "The audit key in the token of %1 has SHA-256 %2, not the %3 given; nothing was restored.")
                    .arg(target, tokenKey, given));
        spki = trust.auditKey;
        whose = QStringLiteral("the audit key in the token of %1 (SHA-256 %2)").arg(target, tokenKey);
    } else if (!given.isEmpty()) {
        spki = QByteArray::fromBase64(
            manifest[QStringLiteral("signer")].toObject()[QStringLiteral("public_key")].toString().toLatin1());
        whose = QStringLiteral("the audit key with SHA-256 %1").arg(given);
        if (spki.isEmpty() || ossl::sha256Hex(spki) != given)
            return refused(QStringLiteral("it is not signed by %1").arg(whose));
    } else {
        return fail(ErrorCode::BadInput,
            QStringLiteral("Nothing here can vouch for the backup %1: a backup is restored only when the audit key of "
                           "the station that made it signed it, and %2 has no station whose token holds that key. "
                           "Restore it over that station (--force), or give the key's SHA-256, as \"imprintctl "
                           "backup\" printed it, with --audit-key-sha256; nothing was restored.")
                .arg(archivePath, target),
            trust.tokenProblem);
    }
    if (!seen.contains(SignatureName))
        return refused(QStringLiteral("it carries no signature (%1): it was made before backups were signed, or the "
                                      "signature was taken out")
                           .arg(SignatureName));
    auto key = ossl::publicKeyFromDer(spki);
    if (!key)
        return refused(QStringLiteral("the key that should have signed it cannot be read"));
    if (!ossl::verifySha256(key->get(), backupManifestMessage(manifestBytes), signature))
        return refused(QStringLiteral("its manifest does not carry a valid signature of %1: it was altered, or made "
                                      "by another station")
                           .arg(whose));

    const QJsonObject files = manifest[QStringLiteral("files")].toObject();
    if (manifest[QStringLiteral("format")].toString() != BackupFormat || files.isEmpty())
        return damaged(QStringLiteral("its manifest is not one of an Imprint backup"));
    for (auto it = files.begin(); it != files.end(); ++it) {
        if (!sums.contains(it.key()))
            return damaged(QStringLiteral("%1 is missing").arg(it.key()));
        if (sums.value(it.key()) != it.value().toString())
            return damaged(QStringLiteral("%1 does not match its SHA-256 in the manifest").arg(it.key()));
    }
    for (auto it = sums.begin(); it != sums.end(); ++it) {
        if (!files.contains(it.key()))
            return damaged(QStringLiteral("%1 is not in the manifest").arg(it.key()));
    }
    BackupReport report;
    report.schema = manifest[QStringLiteral("schema")].toInt();
    report.auditSeq = manifest[QStringLiteral("audit")].toObject()[QStringLiteral("seq")].toInteger();
    report.auditHash = manifest[QStringLiteral("audit")].toObject()[QStringLiteral("hash")].toString();
    report.auditKeySha256 = ossl::sha256Hex(spki);

    // Second read: unpacked in a folder beside the target (on its file system, so that it
    // moves in with a rename), each file checked against the manifest again: the archive may
    // have changed since the first read.
    const QString parent = QFileInfo(QDir::cleanPath(QDir(target).absolutePath())).absolutePath();
    QDir().mkpath(parent);
    QTemporaryDir work(parent + QStringLiteral("/.imprint-restore-XXXXXX"));
    if (!work.isValid())
        return fail(ErrorCode::Io, QStringLiteral("Could not make a folder beside %1 to restore into.").arg(target));
    {
        const auto changed = [&] { return damaged(QStringLiteral("it changed while it was being read")); };
        auto in = openArchive(archivePath);
        if (!in)
            return std::unexpected(in.error());
        QSet<QString> unpacked;
        archive_entry* e = nullptr;
        int r = ARCHIVE_OK;
        while ((r = archive_read_next_header(in->get(), &e)) == ARCHIVE_OK) {
            const QString name = entryName(e);
            if (const QString why = memberProblem(e, name); !why.isEmpty())
                return refused(why);
            if (name == ManifestName || name == SignatureName)
                continue;
            if (!files.contains(name) || unpacked.contains(name))
                return changed();
            unpacked.insert(name);
            const QString path = work.filePath(name);
            QDir().mkpath(QFileInfo(path).absolutePath());
            QFile f(path);
            if (!f.open(QIODevice::WriteOnly | QIODevice::NewOnly))
                return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path), f.errorString());
            f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
            QCryptographicHash h(QCryptographicHash::Sha256);
            char buf[64 * 1024];
            la_ssize_t n = 0;
            while ((n = archive_read_data(in->get(), buf, sizeof buf)) > 0) {
                h.addData(QByteArrayView(buf, static_cast<qsizetype>(n)));
                if (f.write(buf, n) != n)
                    return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path), f.errorString());
            }
            if (n < 0)
                return damaged(archiveError(in->get()));
            if (QString::fromLatin1(h.result().toHex()) != files.value(name).toString())
                return changed();
        }
        if (r != ARCHIVE_EOF)
            return damaged(archiveError(in->get()));
        if (unpacked.size() != files.size())
            return changed();
    }
    {
        auto store = RecordStore::open(work.filePath(StoreName), true);
        if (!store)
            return damaged(QStringLiteral("its store does not open: ") + store.error().text());
        auto head = store->audit().head();
        if (!head || head->seq != report.auditSeq || head->hash != report.auditHash)
            return damaged(QStringLiteral("its store's audit log does not end where the manifest says"));
    }

    // In place. The PIN files of a folder restored over are moved into the restored folder
    // before anything else of the target moves: when they cannot be kept, nothing has changed.
    // Then the target is moved aside (with --force) and the restored folder renamed to it.
    const QString secrets = target + QStringLiteral("/secrets");
    const QString secretsInWork = work.filePath(QStringLiteral("secrets"));
    const bool keepSecrets = targetDir.exists() && (QFileInfo::exists(secrets) || QFileInfo(secrets).isSymLink());
    if (keepSecrets && !QDir().rename(secrets, secretsInWork))
        return fail(ErrorCode::Io,
            QStringLiteral("Could not keep the PIN files of %1: its secrets/ could not be moved into the restored "
                           "folder. Nothing was restored; %1 is as it was.")
                .arg(target));
    bool movedAside = false;
    // Puts back what was moved, when the restore cannot go on: the target, then its PIN files.
    const auto undo = [&](const QString& what) {
        QStringList left;
        if (movedAside && !QDir().rename(aside, target))
            left << QStringLiteral("%1 is at %2").arg(target, aside);
        if (keepSecrets && !QDir().rename(secretsInWork, secrets)) {
            work.setAutoRemove(false); // it holds the PIN files now
            left << QStringLiteral("its PIN files are in %1").arg(secretsInWork);
        }
        if (left.isEmpty())
            return fail(ErrorCode::Io, what + QStringLiteral(" Nothing was restored; %1 is as it was.").arg(target));
        return fail(ErrorCode::Io,
            what
                + QStringLiteral(" Nothing was restored, but not everything could be put back: %1. Move them back by "
                                 "hand.")
                      .arg(left.join(QStringLiteral("; "))));
    };
    if (targetDir.exists()) {
        if (!QDir().rename(target, aside))
            return undo(QStringLiteral("Could not move %1 aside to restore.").arg(target));
        movedAside = true;
    }
    if (!QDir().rename(work.path(), target))
        return undo(QStringLiteral("Could not put the restored folder at %1.").arg(target));
    work.setAutoRemove(false);
    QFile::setPermissions(target, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    if (movedAside)
        QDir(aside).removeRecursively();
    for (auto it = files.begin(); it != files.end(); ++it)
        report.files << it.key();
    return report;
}

} // namespace imprint::core
