#include "engine/RequestSource.h"

#include <QDirIterator>
#include <QFile>
#include <QFileInfo>

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <string>
#include <vector>

namespace imprint::core {

namespace {

bool isRequestFileName(QStringView name)
{
    for (const char* suffix : { ".csr", ".pem", ".der", ".req" }) {
        if (name.endsWith(QLatin1String(suffix), Qt::CaseInsensitive))
            return true;
    }
    return false;
}

/// A folder, one request a file, by name. Only the names are held (a million of them in
/// a few tens of MB); each file is read when its turn comes.
class FolderRequests final : public RequestSource {
public:
    explicit FolderRequests(const QString& path)
        : m_dir(path)
    {
        QDirIterator it(path, QDir::Files);
        while (it.hasNext()) {
            it.next();
            if (isRequestFileName(it.fileName()))
                m_names.push_back(it.fileName().toStdString());
        }
        std::sort(m_names.begin(), m_names.end());
    }

    Result<std::optional<BatchRequest>> next() override
    {
        if (m_next >= m_names.size())
            return std::optional<BatchRequest> {};
        const QString name = QString::fromStdString(m_names[m_next++]);
        // Oversized files are read only as far as the check needs to refuse them; the others
        // into a buffer of their own size (read(max) would allocate the maximum each time).
        QFile f(m_dir + u'/' + name);
        const QByteArray contents = f.open(QIODevice::ReadOnly)
            ? f.read(f.size() > 0 ? std::min<qint64>(f.size(), MaxRequestFileBytes) : MaxRequestFileBytes)
            : QByteArray();
        return std::optional<BatchRequest> { BatchRequest { name, requestDer(contents) } };
    }

    qsizetype total() const override { return static_cast<qsizetype>(m_names.size()); }

private:
    QString m_dir;
    std::vector<std::string> m_names;
    size_t m_next = 0;
};

/// A PEM file of many requests, read a line at a time. The Nth request is "FILE#N".
class PemRequests final : public RequestSource {
public:
    static Result<std::unique_ptr<RequestSource>> open(const QString& path)
    {
        auto r = std::unique_ptr<PemRequests>(new PemRequests(path));
        if (!r->m_file.open(QIODevice::ReadOnly))
            return fail(ErrorCode::BadInput, QStringLiteral("Cannot read %1.").arg(path), r->m_file.errorString());
        // A first pass for the count (for the time left); it reads at disk speed.
        while (!r->m_file.atEnd()) {
            if (r->m_file.readLine(256).startsWith("-----BEGIN "))
                ++r->m_total;
        }
        r->m_file.seek(0);
        return std::unique_ptr<RequestSource>(std::move(r));
    }

    Result<std::optional<BatchRequest>> next() override
    {
        QByteArray block;
        bool inside = false;
        while (!m_file.atEnd()) {
            const QByteArray line = m_file.readLine(64 * 1024);
            if (line.startsWith("-----BEGIN ")) {
                inside = true;
                block = line;
            } else if (inside) {
                if (block.size() < MaxRequestFileBytes)
                    block += line;
                if (line.startsWith("-----END ")) {
                    ++m_index;
                    return std::optional<BatchRequest> { BatchRequest {
                        QStringLiteral("%1#%2").arg(m_name).arg(m_index), requestDer(block) } };
                }
            }
        }
        if (inside) // cut off: still a request, refused as malformed
            return std::optional<BatchRequest> { BatchRequest {
                QStringLiteral("%1#%2").arg(m_name).arg(++m_index), {} } };
        return std::optional<BatchRequest> {};
    }

    qsizetype total() const override { return m_total; }

private:
    explicit PemRequests(const QString& path)
        : m_file(path)
        , m_name(QFileInfo(path).fileName())
    {
    }

    QFile m_file;
    QString m_name;
    qsizetype m_total = 0;
    qsizetype m_index = 0;
};

struct ArchiveDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};

/// An archive of request files (whatever libarchive reads: tar, tar.gz, tar.xz, zip, ...),
/// in the archive's own order.
class ArchiveRequests final : public RequestSource {
public:
    static Result<std::unique_ptr<RequestSource>> open(const QString& path)
    {
        auto r = std::unique_ptr<ArchiveRequests>(new ArchiveRequests(path));
        archive* a = r->m_archive.get();
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        archive_read_support_format_gnutar(a);
        archive_read_support_format_zip(a);
        archive_read_support_format_cpio(a);
        if (archive_read_open_filename(a, QFile::encodeName(path).constData(), 64 * 1024) != ARCHIVE_OK)
            return r->notRequests();
        // The first header tells an archive from any other file.
        if (auto first = r->nextEntry(); !first)
            return std::unexpected(first.error());
        return std::unique_ptr<RequestSource>(std::move(r));
    }

    Result<std::optional<BatchRequest>> next() override
    {
        while (m_pending) {
            archive_entry* e = m_pending;
            m_pending = nullptr;
            const QString name = QString::fromUtf8(
                archive_entry_pathname_utf8(e) ? archive_entry_pathname_utf8(e) : archive_entry_pathname(e));
            const bool wanted = archive_entry_filetype(e) == AE_IFREG && isRequestFileName(name);
            QByteArray contents;
            if (wanted) {
                // The member's own size where the archive says it (tar does), else the most.
                contents.resize(archive_entry_size_is_set(e) != 0
                        ? std::clamp<qsizetype>(static_cast<qsizetype>(archive_entry_size(e)), 0, MaxRequestFileBytes)
                        : MaxRequestFileBytes);
                qsizetype got = 0;
                la_ssize_t n;
                while (got < contents.size()
                    && (n = archive_read_data(
                            m_archive.get(), contents.data() + got, static_cast<size_t>(contents.size() - got)))
                        > 0)
                    got += n;
                contents.resize(got);
            }
            if (auto more = nextEntry(); !more)
                return std::unexpected(more.error());
            if (wanted)
                return std::optional<BatchRequest> { BatchRequest { name, requestDer(contents) } };
        }
        return std::optional<BatchRequest> {};
    }

private:
    explicit ArchiveRequests(const QString& path)
        : m_archive(archive_read_new())
        , m_path(path)
    {
    }

    /// Moves to the next entry; none at the end.
    Result<void> nextEntry()
    {
        archive_entry* e = nullptr;
        const int r = archive_read_next_header(m_archive.get(), &e);
        if (r == ARCHIVE_EOF)
            return {};
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return notRequests();
        m_pending = e;
        return {};
    }

    std::unexpected<Error> notRequests() const
    {
        return fail(ErrorCode::BadInput,
            QStringLiteral("%1 is not a folder, a PEM file of requests or an archive of request files (tar, tar.gz, "
                           "zip), or it is damaged.")
                .arg(m_path),
            QString::fromLocal8Bit(archive_error_string(m_archive.get())));
    }

    std::unique_ptr<archive, ArchiveDeleter> m_archive;
    QString m_path;
    archive_entry* m_pending = nullptr;
};

} // namespace

QByteArray requestDer(const QByteArray& contents)
{
    const qsizetype begin = contents.indexOf("-----BEGIN ");
    // A copy of just its bytes: the request stays with its chunk until recorded, and must
    // not keep the reading buffer's capacity (up to MaxRequestFileBytes) with it.
    if (begin < 0)
        return QByteArray(contents.constData(), contents.size());
    const qsizetype bodyStart = contents.indexOf('\n', begin);
    const qsizetype end = contents.indexOf("-----END ", bodyStart);
    if (bodyStart < 0 || end < 0)
        return {};
    return QByteArray::fromBase64(contents.mid(bodyStart + 1, end - bodyStart - 1).simplified().replace(' ', ""));
}

Result<std::unique_ptr<RequestSource>> openRequests(const QString& path)
{
    const QFileInfo info(path);
    if (info.isDir())
        return std::unique_ptr<RequestSource>(std::make_unique<FolderRequests>(path));
    if (!info.exists())
        return fail(ErrorCode::BadInput, QStringLiteral("There is no folder or file %1.").arg(path));
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return fail(ErrorCode::BadInput, QStringLiteral("Cannot read %1.").arg(path), f.errorString());
    const QByteArray head = f.peek(4096);
    if (head.trimmed().startsWith("-----BEGIN "))
        return PemRequests::open(path);
    return ArchiveRequests::open(path);
}

} // namespace imprint::core
