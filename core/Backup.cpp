#include "Backup.h"

#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QTemporaryDir>

#include <archive.h>
#include <archive_entry.h>

namespace imprint::core {

namespace {

constexpr qint64 MaxEntry = qint64(64) * 1024 * 1024 * 1024; ///< refuse entries past 64 GiB
const QString ManifestName = QStringLiteral("MANIFEST.json");
const QString StoreName = QStringLiteral("imprint.sqlite");

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

bool safeName(const QString& name)
{
    return !name.isEmpty() && !name.startsWith(u'/') && !name.contains(QStringLiteral("\\\\"))
        && !name.split(u'/').contains(QStringLiteral("..")) && QDir::cleanPath(name) == name;
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

QString archiveError(archive* a)
{
    const char* e = archive_error_string(a);
    return e ? QString::fromUtf8(e) : QString();
}

} // namespace

Result<BackupReport> backup(const DataDir& dir, const QString& archivePath)
{
    if (!dir.isInitialized())
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("The data directory %1 is not set up; there is nothing to back up.").arg(dir.path()));
    // The snapshot is made beside the archive (a store can be larger than /tmp).
    QTemporaryDir work(QFileInfo(archivePath).absolutePath() + QStringLiteral("/.imprint-backup-XXXXXX"));
    if (!work.isValid())
        return fail(ErrorCode::Io,
            QStringLiteral("Could not make a temporary folder beside %1 for the backup.").arg(archivePath));
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
    for (const QString& f : carriedFiles()) {
        if (QFileInfo::exists(dir.path() + u'/' + f))
            entries.append({ f, dir.path() + u'/' + f });
    }
    for (const QString& folder : carriedFolders()) {
        QDirIterator it(dir.path() + u'/' + folder, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
        QStringList found;
        while (it.hasNext())
            found << it.next();
        found.sort();
        for (const QString& path : found)
            entries.append({ QDir(dir.path()).relativeFilePath(path), path });
    }

    QJsonObject sums;
    for (const auto& [name, path] : entries) {
        auto sum = fileSha256(path);
        if (!sum)
            return std::unexpected(sum.error());
        sums[name] = *sum;
    }
    auto config = dir.loadConfig();
    const QJsonObject manifest { { QStringLiteral("format"), QStringLiteral("imprint-backup/1") },
        { QStringLiteral("station"), config ? config->stationName : QString() },
        { QStringLiteral("created"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate) },
        { QStringLiteral("schema"), report.schema },
        { QStringLiteral("audit"),
            QJsonObject { { QStringLiteral("seq"), report.auditSeq }, { QStringLiteral("hash"), report.auditHash } } },
        { QStringLiteral("files"), sums } };
    const QString manifestFile = work.filePath(ManifestName);
    {
        QFile m(manifestFile);
        if (!m.open(QIODevice::WriteOnly) || m.write(QJsonDocument(manifest).toJson(QJsonDocument::Indented)) < 0)
            return fail(ErrorCode::Io, QStringLiteral("Could not write the backup's manifest."));
    }
    entries.append({ ManifestName, manifestFile });

    // Written aside, then renamed over: an interrupted backup leaves no half archive.
    const QString partial = archivePath + QStringLiteral(".partial");
    Archive out(archive_write_new(), archive_write_free);
    archive_write_set_format_pax_restricted(out.get());
    if (archivePath.endsWith(QLatin1String(".gz")) || archivePath.endsWith(QLatin1String(".tgz")))
        archive_write_add_filter_gzip(out.get());
    if (archive_write_open_filename(out.get(), QFile::encodeName(partial).constData()) != ARCHIVE_OK)
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
        if (!ok) {
            QFile::remove(partial);
            return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(archivePath), archiveError(out.get()));
        }
        report.files << name;
    }
    if (archive_write_close(out.get()) != ARCHIVE_OK) {
        QFile::remove(partial);
        return fail(ErrorCode::Io, QStringLiteral("Could not finish %1.").arg(archivePath), archiveError(out.get()));
    }
    QFile::setPermissions(partial, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    QFile::remove(archivePath);
    if (!QFile::rename(partial, archivePath))
        return fail(ErrorCode::Io, QStringLiteral("Could not put the backup at %1.").arg(archivePath));
    return report;
}

Result<BackupReport> restore(const QString& archivePath, const QString& target, bool force)
{
    auto damaged = [&](const QString& why) {
        return fail(ErrorCode::BadInput,
            QStringLiteral("The backup %1 is damaged (%2); nothing was restored.").arg(archivePath, why));
    };
    const QDir targetDir(target);
    if (targetDir.exists() && !targetDir.isEmpty(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden) && !force)
        return fail(ErrorCode::BadInput,
            QStringLiteral("%1 is not empty; restore into a new folder, or give --force to replace what is there.")
                .arg(target));
    // Everything is read and checked in a folder beside the target before anything moves.
    const QString parent = QFileInfo(QDir::cleanPath(QDir(target).absolutePath())).absolutePath();
    QDir().mkpath(parent);
    QTemporaryDir work(parent + QStringLiteral("/.imprint-restore-XXXXXX"));
    if (!work.isValid())
        return fail(ErrorCode::Io, QStringLiteral("Could not make a folder beside %1 to restore into.").arg(target));
    Archive in(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(in.get());
    archive_read_support_filter_gzip(in.get());
    if (archive_read_open_filename(in.get(), QFile::encodeName(archivePath).constData(), 64 * 1024) != ARCHIVE_OK)
        return fail(
            ErrorCode::BadInput, QStringLiteral("Cannot read the backup %1.").arg(archivePath), archiveError(in.get()));
    QHash<QString, QString> sums;
    archive_entry* e = nullptr;
    int r = ARCHIVE_OK;
    while ((r = archive_read_next_header(in.get(), &e)) == ARCHIVE_OK) {
        const char* raw = archive_entry_pathname_utf8(e) ? archive_entry_pathname_utf8(e) : archive_entry_pathname(e);
        const QString name = QString::fromUtf8(raw ? raw : "");
        if (archive_entry_filetype(e) != AE_IFREG || !safeName(name) || archive_entry_size(e) > MaxEntry)
            return damaged(QStringLiteral("it holds \"%1\", which a backup never does").arg(name.left(80)));
        const QString path = work.filePath(name);
        QDir().mkpath(QFileInfo(path).absolutePath());
        QFile f(path);
        if (!f.open(QIODevice::WriteOnly))
            return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path), f.errorString());
        f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
        QCryptographicHash h(QCryptographicHash::Sha256);
        char buf[64 * 1024];
        la_ssize_t n = 0;
        while ((n = archive_read_data(in.get(), buf, sizeof buf)) > 0) {
            h.addData(QByteArrayView(buf, static_cast<qsizetype>(n)));
            if (f.write(buf, n) != n)
                return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path), f.errorString());
        }
        if (n < 0)
            return damaged(archiveError(in.get()));
        sums.insert(name, QString::fromLatin1(h.result().toHex()));
    }
    if (r != ARCHIVE_EOF)
        return damaged(archiveError(in.get()));
    QFile m(work.filePath(ManifestName));
    if (!m.open(QIODevice::ReadOnly))
        return damaged(QStringLiteral("it has no %1").arg(ManifestName));
    const QJsonObject manifest = QJsonDocument::fromJson(m.readAll()).object();
    const QJsonObject files = manifest[QStringLiteral("files")].toObject();
    if (manifest[QStringLiteral("format")].toString() != QLatin1String("imprint-backup/1") || files.isEmpty())
        return damaged(QStringLiteral("its manifest is not one of an Imprint backup"));
    for (auto it = files.begin(); it != files.end(); ++it) {
        if (!sums.contains(it.key()))
            return damaged(QStringLiteral("%1 is missing").arg(it.key()));
        if (sums.value(it.key()) != it.value().toString())
            return damaged(QStringLiteral("%1 does not match its SHA-256 in the manifest").arg(it.key()));
    }
    for (auto it = sums.begin(); it != sums.end(); ++it) {
        if (it.key() != ManifestName && !files.contains(it.key()))
            return damaged(QStringLiteral("%1 is not in the manifest").arg(it.key()));
    }
    BackupReport report;
    report.schema = manifest[QStringLiteral("schema")].toInt();
    report.auditSeq = manifest[QStringLiteral("audit")].toObject()[QStringLiteral("seq")].toInteger();
    report.auditHash = manifest[QStringLiteral("audit")].toObject()[QStringLiteral("hash")].toString();
    {
        auto store = RecordStore::open(work.filePath(StoreName), true);
        if (!store)
            return damaged(QStringLiteral("its store does not open: ") + store.error().text());
        auto head = store->audit().head();
        if (!head || head->seq != report.auditSeq || head->hash != report.auditHash)
            return damaged(QStringLiteral("its store's audit log does not end where the manifest says"));
    }
    QFile::remove(work.filePath(ManifestName));
    // In place: what the target held is moved aside first (with --force), then the restored
    // folder is renamed to the target.
    const QString aside = target + QStringLiteral(".before-restore");
    if (targetDir.exists()) {
        QDir(aside).removeRecursively();
        if (!QDir().rename(target, aside))
            return fail(ErrorCode::Io, QStringLiteral("Could not move %1 aside to restore.").arg(target));
    }
    if (!QDir().rename(work.path(), target)) {
        if (QDir(aside).exists())
            (void)QDir().rename(aside, target);
        return fail(ErrorCode::Io, QStringLiteral("Could not put the restored folder at %1.").arg(target));
    }
    work.setAutoRemove(false);
    QFile::setPermissions(target, QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    // The PIN files were never in the backup: a folder restored over keeps its own.
    if (QDir(aside + QStringLiteral("/secrets")).exists())
        (void)QDir().rename(aside + QStringLiteral("/secrets"), target + QStringLiteral("/secrets"));
    QDir(aside).removeRecursively();
    for (auto it = files.begin(); it != files.end(); ++it)
        report.files << it.key();
    return report;
}

} // namespace imprint::core
