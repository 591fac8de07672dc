#include "engine/OfflineBatch.h"

#include "engine/Connector.h"
#include "engine/ParallelFor.h"
#include "pki/Cms.h"
#include "pki/Der.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QSaveFile>
#include <QThread>

#include <archive.h>
#include <archive_entry.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>
#include <vector>

namespace imprint::core {

namespace {

Result<void> writeFile(const QString& path, const QByteArray& contents)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(contents) != contents.size() || !f.commit())
        return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path), f.errorString());
    return {};
}

QString safe(const QString& s)
{
    QString out = s;
    for (QChar& c : out) {
        if (!c.isLetterOrNumber() && c != u'-' && c != u'_' && c != u'.')
            c = u'_';
    }
    return out;
}

} // namespace

namespace {

/// The export's connector: rows become files in the current part's tar archive; a part is
/// closed (its certificates, CRL and audit head added, its manifest written and signed) when
/// it holds part-rows rows, and at the end.
class ExportConnector : public Connector {
public:
    /// `clients`: one per thread that makes messages.
    ExportConnector(
        std::vector<CmpClient*> clients, const ExportInputs& in, QString dir, QString batch, QJsonObject audit)
        : m_clients(std::move(clients))
        , m_in(in)
        , m_dir(std::move(dir))
        , m_batch(std::move(batch))
        , m_audit(std::move(audit))
    {
    }
    ~ExportConnector() override { closeArchive(); }

    [[nodiscard]] QString name() const override { return QStringLiteral("export"); }

    [[nodiscard]] Result<void> submit(const OutboxWork& row, Outbox::Writer&, SyncRound&) override
    {
        // The runs of consecutive rows carried: what is marked exported at the end.
        if (!m_runs.isEmpty() && m_runs.last().second == m_lastSeen && m_lastSeen != 0)
            m_runs.last().second = row.entry.id;
        else
            m_runs.append({ row.entry.id, row.entry.id });
        m_lastSeen = row.entry.id;
        ++m_carried;
        m_pending.push_back({ row, {} });
        if (std::ssize(m_pending) >= Chunk || m_rows.size() + std::ssize(m_pending) >= m_in.partRows)
            return drain();
        return {};
    }

    /// A row the export passed over: it breaks the run of rows carried.
    void passed(qint64 id) { m_lastSeen = id; }

    [[nodiscard]] Result<void> flush(Outbox::Writer&, SyncRound&) override
    {
        if (auto r = drain(); !r)
            return r;
        return m_archive ? closePart() : Result<void> {};
    }

    [[nodiscard]] qint64 carried() const { return m_carried; }
    [[nodiscard]] const QList<std::pair<qint64, qint64>>& runs() const { return m_runs; }
    [[nodiscard]] const QJsonArray& parts() const { return m_parts; }

    ExportReport report;

private:
    /// Rows whose messages are made together, one client per thread; then written in order.
    static constexpr qsizetype Chunk = 256;

    /// Makes the waiting rows' CMP messages (each signed by the RA key: the export's cost) on
    /// every client's thread at once, then writes the rows in order.
    Result<void> drain()
    {
        if (m_pending.empty())
            return {};
        auto made = parallelForEach(
            std::ssize(m_pending), static_cast<int>(m_clients.size()), [this](qsizetype i, int worker) -> Result<void> {
                auto& [row, message] = m_pending[static_cast<size_t>(i)];
                CmpClient& client = *m_clients[static_cast<size_t>(worker)];
                auto m = row.entry.kind == OutboxKind::Certificate
                    ? client.requestMessage(row.request)
                    : client.revocationMessage(row.upstreamDer, revocationReason(row));
                if (!m)
                    return std::unexpected(m.error());
                message = std::move(*m);
                return {};
            });
        if (!made)
            return made;
        for (const auto& [row, message] : m_pending) {
            if (auto r = write(row, message); !r)
                return r;
        }
        m_pending.clear();
        return {};
    }

    /// Writes one row (its message made) into the current part, closing the part when full.
    Result<void> write(const OutboxWork& row, const QByteArray& message)
    {
        if (!m_archive) {
            if (auto r = openPart(); !r)
                return r;
        }
        const QString stem
            = QStringLiteral("%1-%2").arg(row.entry.id, 6, 10, QLatin1Char('0')).arg(safe(row.deviceSerial));
        QJsonObject o { { QStringLiteral("row"), row.entry.id }, { QStringLiteral("kind"), text(row.entry.kind) },
            { QStringLiteral("device"), row.deviceSerial },
            { QStringLiteral("local_certificate"), row.entry.subject } };
        if (row.entry.kind == OutboxKind::Certificate) {
            const QString cmp = QStringLiteral("cmp/%1.p10cr.der").arg(stem);
            const QString p10 = QStringLiteral("pkcs10/%1.csr").arg(stem);
            for (const auto& [name, data] : { std::pair { cmp, message }, std::pair { p10, row.request } }) {
                if (auto w = add(name, data); !w)
                    return w;
            }
            o[QStringLiteral("cmp")] = cmp;
            o[QStringLiteral("pkcs10")] = p10;
            m_localCertificates << row.localDer;
            ++m_partCertificates;
            ++report.certificates;
        } else {
            const QString cmp = QStringLiteral("cmp/%1.rr.der").arg(stem);
            if (auto w = add(cmp, message); !w)
                return w;
            o[QStringLiteral("cmp")] = cmp;
            o[QStringLiteral("reason")] = revocationReason(row);
            ++m_partRevocations;
            ++report.revocations;
        }
        m_rows.append(o);
        if (m_rows.size() >= m_in.partRows)
            return closePart();
        return {};
    }

    Result<void> openPart()
    {
        ++report.parts;
        m_partName = QStringLiteral("part-%1").arg(report.parts, 4, 10, QLatin1Char('0'));
        m_path = m_dir + u'/' + m_partName + QStringLiteral(".tar.partial");
        m_archive = archive_write_new();
        archive_write_set_format_pax_restricted(m_archive);
        if (archive_write_open_filename(m_archive, QFile::encodeName(m_path).constData()) != ARCHIVE_OK)
            return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(m_path),
                QString::fromUtf8(archive_error_string(m_archive)));
        m_rows = {};
        m_files = {};
        m_localCertificates.clear();
        m_partCertificates = 0;
        m_partRevocations = 0;
        return {};
    }

    Result<void> add(const QString& name, const QByteArray& data)
    {
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
        archive_entry_set_pathname_utf8(e.get(), name.toUtf8().constData());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_size(e.get(), data.size());
        archive_entry_set_mtime(e.get(), m_now, 0);
        if (archive_write_header(m_archive, e.get()) != ARCHIVE_OK
            || archive_write_data(m_archive, data.constData(), static_cast<size_t>(data.size())) != data.size())
            return fail(ErrorCode::Io, QStringLiteral("Could not write %1 into %2.").arg(name, m_path),
                QString::fromUtf8(archive_error_string(m_archive)));
        m_files[name] = ossl::sha256Hex(data);
        return {};
    }

    void closeArchive()
    {
        if (m_archive) {
            archive_write_free(m_archive);
            m_archive = nullptr;
        }
    }

    Result<void> closePart()
    {
        const std::pair<QString, QByteArray> fixed[] = {
            { QStringLiteral("certificates.p7b"), der::certificateBundle(m_localCertificates + m_in.caChain) },
            { QStringLiteral("crl.pem"), m_in.crlPem },
            { QStringLiteral("audit-head.json"), QJsonDocument(m_audit).toJson(QJsonDocument::Indented) },
        };
        for (const auto& [name, data] : fixed) {
            if (data.isEmpty())
                continue;
            if (auto w = add(name, data); !w)
                return w;
        }
        const bool closed = archive_write_close(m_archive) == ARCHIVE_OK;
        const QString why = QString::fromUtf8(archive_error_string(m_archive));
        closeArchive();
        if (!closed)
            return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(m_path), why);
        // The archive's own SHA-256, read back a piece at a time.
        QFile tar(m_path);
        if (!tar.open(QIODevice::ReadOnly))
            return fail(ErrorCode::Io, QStringLiteral("Could not read back %1.").arg(m_path), tar.errorString());
        QCryptographicHash sum(QCryptographicHash::Sha256);
        if (!sum.addData(&tar))
            return fail(ErrorCode::Io, QStringLiteral("Could not read back %1.").arg(m_path), tar.errorString());
        const qint64 size = tar.size();
        tar.close();
        const QString archiveName = m_partName + QStringLiteral(".tar");
        const QJsonObject manifest { { QStringLiteral("format"), QStringLiteral("imprint-upstream-batch-part/1") },
            { QStringLiteral("station"), m_in.station }, { QStringLiteral("batch"), m_batch },
            { QStringLiteral("part"), report.parts },
            { QStringLiteral("created"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate) },
            { QStringLiteral("archive"),
                QJsonObject { { QStringLiteral("name"), archiveName },
                    { QStringLiteral("sha256"), QString::fromLatin1(sum.result().toHex()) },
                    { QStringLiteral("size"), size } } },
            { QStringLiteral("counts"),
                QJsonObject { { QStringLiteral("certificates"), m_partCertificates },
                    { QStringLiteral("revocations"), m_partRevocations } } },
            { QStringLiteral("rows"), m_rows }, { QStringLiteral("files"), m_files } };
        const QByteArray json = QJsonDocument(manifest).toJson(QJsonDocument::Indented);
        auto signature = signDetached(json, m_in.raKey, m_in.raChain);
        if (!signature)
            return std::unexpected(signature.error());
        const QString manifestName = m_partName + QStringLiteral(".json");
        for (const auto& [name, data] :
            { std::pair { manifestName, json }, std::pair { manifestName + QStringLiteral(".p7s"), *signature } }) {
            if (auto w = writeFile(m_dir + u'/' + name, data); !w)
                return w;
        }
        if (!QFile::rename(m_path, m_dir + u'/' + archiveName))
            return fail(ErrorCode::Io, QStringLiteral("Could not name %1 %2.").arg(m_path, archiveName));
        report.files << archiveName << manifestName << manifestName + QStringLiteral(".p7s");
        m_parts.append(QJsonObject { { QStringLiteral("part"), report.parts },
            { QStringLiteral("archive"), archiveName }, { QStringLiteral("manifest"), manifestName },
            { QStringLiteral("manifest_sha256"), ossl::sha256Hex(json) },
            { QStringLiteral("rows"), static_cast<qint64>(m_rows.size()) } });
        m_rows = {};
        m_files = {};
        m_localCertificates.clear();
        return {};
    }

    std::vector<CmpClient*> m_clients;
    std::vector<std::pair<OutboxWork, QByteArray>> m_pending; ///< rows carried, their messages not yet made
    const ExportInputs& m_in;
    QString m_dir;
    QString m_batch;
    QJsonObject m_audit;
    qint64 m_now = QDateTime::currentSecsSinceEpoch();
    archive* m_archive = nullptr;
    QString m_partName;
    QString m_path;
    QJsonArray m_rows;
    QJsonObject m_files;
    QList<QByteArray> m_localCertificates;
    int m_partCertificates = 0;
    int m_partRevocations = 0;
    QJsonArray m_parts;
    QList<std::pair<qint64, qint64>> m_runs;
    qint64 m_lastSeen = 0;
    qint64 m_carried = 0;
};

/// Clears what an export that was stopped left in `dir` (its parts, never another file):
/// true when `dir` can take a new batch.
bool clearStoppedExport(const QString& dir)
{
    QDir d(dir);
    if (!d.exists() || d.isEmpty())
        return true;
    if (d.exists(QStringLiteral("batch.json")))
        return false; // a whole batch: never overwritten
    static const QRegularExpression ours(QStringLiteral("^part-\\d{4}\\.(tar|tar\\.partial|json|json\\.p7s)$"));
    const QStringList entries = d.entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden);
    for (const QString& e : entries) {
        if (!ours.match(e).hasMatch())
            return false;
    }
    for (const QString& e : entries)
        d.remove(e);
    return true;
}

} // namespace

Result<ExportReport> exportBatch(
    RecordStore& store, CmpClient& client, const ExportInputs& in, const QString& dir, const QString& again)
{
    if (!clearStoppedExport(dir))
        return fail(ErrorCode::BadInput,
            QStringLiteral("%1 is not empty; export writes into a new folder (or completes an export that was "
                           "stopped there).")
                .arg(dir));
    if (!QDir().mkpath(dir))
        return fail(ErrorCode::Io, QStringLiteral("Could not make the folder %1.").arg(dir));
    Outbox& outbox = store.outbox();
    qint64 total = 0;
    if (!again.isEmpty()) {
        auto exported = outbox.exportedIn(again);
        if (!exported)
            return std::unexpected(exported.error());
        if (exported->isEmpty())
            return fail(ErrorCode::NotFound, QStringLiteral("No batch %1 was exported from this station.").arg(again));
        total = exported->size();
    } else if (auto pending = outbox.pendingCount(); pending) {
        total = *pending;
    }
    const QString batch = again.isEmpty() ? QStringLiteral("%1-%2").arg(safe(in.station),
                              QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMddTHHmmssZ")))
                                          : again;
    auto head = store.audit().head();
    auto checkpoint = store.audit().newestCheckpoint();
    if (!head)
        return std::unexpected(head.error());
    if (!checkpoint)
        return std::unexpected(checkpoint.error());
    QJsonObject audit { { QStringLiteral("head_seq"), head->seq }, { QStringLiteral("head_hash"), head->hash } };
    if (*checkpoint)
        audit[QStringLiteral("checkpoint")] = QJsonObject { { QStringLiteral("seq"), (*checkpoint)->seq },
            { QStringLiteral("hash"), (*checkpoint)->hash }, { QStringLiteral("at"), (*checkpoint)->at },
            { QStringLiteral("key_sha256"), (*checkpoint)->keySha256 },
            { QStringLiteral("signature"), QString::fromLatin1((*checkpoint)->signature.toBase64()) } };

    // The messages are made on every core (a client each); the rows are written in order.
    std::vector<std::unique_ptr<CmpClient>> clones;
    std::vector<CmpClient*> clients { &client };
    for (int t = 1; t < std::clamp(in.threads > 0 ? in.threads : QThread::idealThreadCount(), 1, 16); ++t) {
        auto c = client.clone();
        if (!c)
            return std::unexpected(c.error());
        clients.push_back(c->get());
        clones.push_back(std::move(*c));
    }
    // A page at a time, as it is read: memory holds one page and one part, whatever the batch.
    ExportConnector out(std::move(clients), in, dir, batch, audit);
    Outbox::Writer answers = outbox.writer();
    SyncRound round;
    qint64 seen = 0;
    for (qint64 after = 0;;) {
        auto page = outbox.exportable(again, after, 1000);
        if (!page)
            return std::unexpected(page.error());
        for (const OutboxWork& row : *page) {
            ++seen;
            if (out.carries(row).verdict != Readiness::Verdict::Send) {
                out.report.held += row.entry.kind == OutboxKind::Revocation ? 1 : 0;
                out.passed(row.entry.id);
                continue;
            }
            if (auto r = out.submit(row, answers, round); !r)
                return std::unexpected(r.error());
            if (in.progress)
                in.progress(seen, std::max(total, seen));
        }
        if (page->size() < 1000)
            break;
        after = page->last().entry.id;
    }
    if (auto r = out.flush(answers, round); !r)
        return std::unexpected(r.error());
    ExportReport report = out.report;
    if (out.carried() == 0) {
        QDir(dir).removeRecursively();
        return fail(ErrorCode::NotFound,
            QStringLiteral("Nothing is waiting to go upstream%1; no batch was written.")
                .arg(report.held
                        ? QStringLiteral(" (%1 revocation(s) wait for their certificate's answer)").arg(report.held)
                        : QString()));
    }
    // The batch is whole once batch.json is there: written last, signed, then the rows are marked.
    report.batch = batch;
    const QJsonObject index { { QStringLiteral("format"), QStringLiteral("imprint-upstream-batch/2") },
        { QStringLiteral("station"), in.station }, { QStringLiteral("batch"), batch },
        { QStringLiteral("created"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate) },
        { QStringLiteral("counts"),
            QJsonObject { { QStringLiteral("certificates"), report.certificates },
                { QStringLiteral("revocations"), report.revocations } } },
        { QStringLiteral("parts"), out.parts() } };
    const QByteArray indexJson = QJsonDocument(index).toJson(QJsonDocument::Indented);
    auto signature = signDetached(indexJson, in.raKey, in.raChain);
    if (!signature)
        return std::unexpected(signature.error());
    for (const auto& [name, data] : { std::pair { QStringLiteral("batch.json.p7s"), *signature },
             std::pair { QStringLiteral("batch.json"), indexJson } }) {
        if (auto w = writeFile(dir + u'/' + name, data); !w)
            return std::unexpected(w.error());
    }
    report.files << QStringLiteral("batch.json.p7s") << QStringLiteral("batch.json");
    if (again.isEmpty()) {
        for (const auto& [first, last] : out.runs()) {
            if (auto r = answers.markExported(first, last, batch); !r)
                return std::unexpected(r.error());
        }
        if (auto r = answers.commit(); !r)
            return std::unexpected(r.error());
    }
    if (auto r = store.audit().append(AuditKind::Exported, report.batch,
            QStringLiteral("%1 batch %2: %3 certificate(s), %4 revocation(s) in %5 part(s), batch.json sha256 %6")
                .arg(again.isEmpty() ? QStringLiteral("exported") : QStringLiteral("exported again"), report.batch)
                .arg(report.certificates)
                .arg(report.revocations)
                .arg(report.parts)
                .arg(ossl::sha256Hex(indexJson)),
            in.station, in.person.isEmpty() ? qEnvironmentVariable("USER", QStringLiteral("cli")) : in.person);
        !r)
        return std::unexpected(r.error());
    return report;
}

namespace {

/// The largest answer file read (a part of 20,000 certificates in PEM is about 30 MiB).
constexpr qint64 MaxAnswerFileBytes = 256LL * 1024 * 1024;
/// The most CA certificates an answer may carry.
constexpr qsizetype MaxAnswerIssuers = 64;

/// The CA certificates of an answer that may be in `cert`'s chain: its issuer by name, then
/// theirs (at most a few levels).
QList<QByteArray> issuersOf(X509* cert, const std::vector<std::pair<ossl::Cert, QByteArray>>& issuers)
{
    QList<QByteArray> chain;
    QList<const X509_NAME*> wanted { X509_get_issuer_name(cert) };
    for (int depth = 0; depth < 8 && !wanted.isEmpty(); ++depth) {
        QList<const X509_NAME*> next;
        for (const auto& [c, der] : issuers) {
            if (chain.contains(der))
                continue;
            for (const X509_NAME* name : wanted) {
                if (X509_NAME_cmp(X509_get_subject_name(c.get()), name) == 0) {
                    chain << der;
                    next << X509_get_issuer_name(c.get());
                    break;
                }
            }
        }
        wanted = next;
    }
    return chain;
}

/// True when every critical extension of a CRL entry is one this station reads.
bool criticalExtensionsKnown(const X509_REVOKED* entry)
{
    for (int i = 0; i < X509_REVOKED_get_ext_count(entry); ++i) {
        X509_EXTENSION* ext = X509_REVOKED_get_ext(entry, i);
        const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        if (X509_EXTENSION_get_critical(ext) && nid != NID_crl_reason && nid != NID_invalidity_date
            && nid != NID_certificate_issuer)
            return false;
    }
    return true;
}

/// Why a CRL cannot end a revocation as a whole: a critical extension this station does not
/// read, or a scope narrower than every certificate for every reason. Empty when none.
QString crlScopeProblem(X509_CRL* crl)
{
    for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
        X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
        const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
        if (X509_EXTENSION_get_critical(ext) && nid != NID_issuing_distribution_point && nid != NID_delta_crl
            && nid != NID_crl_number && nid != NID_authority_key_identifier)
            return QStringLiteral("a CRL with a critical extension this station does not read; it ends nothing");
    }
    int critical = 0;
    std::unique_ptr<ISSUING_DIST_POINT, ossl::Deleter<ISSUING_DIST_POINT_free>> idp { static_cast<ISSUING_DIST_POINT*>(
        X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, &critical, nullptr)) };
    ERR_clear_error();
    if (idp && (idp->onlysomereasons || idp->onlyCA > 0 || idp->onlyattr > 0))
        return QStringLiteral("a CRL for some reasons or some certificates only; it ends nothing");
    return {};
}

} // namespace

Result<ImportReport> importAnswers(RecordStore& store, const QList<QByteArray>& anchors, const QStringList& files,
    const QString& station, const QString& person)
{
    QList<QByteArray> all;
    QList<std::pair<QString, QByteArray>> crls;
    for (const QString& path : files) {
        // Regular files only, of a bounded size: a link to a device or a pipe is never read.
        const QFileInfo info(path);
        if (!info.isFile())
            return fail(ErrorCode::BadInput,
                QStringLiteral("%1 is not a regular file (a device, a pipe or a folder); nothing was imported.")
                    .arg(path));
        if (info.size() > MaxAnswerFileBytes)
            return fail(ErrorCode::BadInput,
                QStringLiteral("%1 is larger than an answer part can be (%2 MiB); nothing was imported.")
                    .arg(path)
                    .arg(MaxAnswerFileBytes / (1024 * 1024)));
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return fail(ErrorCode::BadInput, QStringLiteral("Cannot read %1.").arg(path), f.errorString());
        const QByteArray bytes = f.read(MaxAnswerFileBytes + 1);
        if (bytes.size() > MaxAnswerFileBytes)
            return fail(ErrorCode::BadInput,
                QStringLiteral("%1 is larger than an answer part can be; nothing was imported.").arg(path));
        if (path.endsWith(QLatin1String(".crl")) || bytes.contains("-----BEGIN X509 CRL")) {
            crls.append({ path, bytes });
            continue;
        }
        auto certs = certificatesIn(bytes);
        if (!certs)
            return fail(ErrorCode::BadInput, QStringLiteral("%1: %2").arg(path, certs.error().message));
        all += *certs;
    }
    QList<QByteArray> issuers;
    QList<QByteArray> leaves;
    for (const QByteArray& der : all) {
        auto c = ossl::certFromDer(der);
        if (c && X509_check_ca(c->get()) != 0)
            issuers << der;
        else
            leaves << der;
    }
    std::vector<std::pair<ossl::Cert, QByteArray>> parsedIssuers;
    for (const QByteArray& der : issuers.mid(0, MaxAnswerIssuers + 1)) {
        if (auto c = ossl::certFromDer(der))
            parsedIssuers.emplace_back(std::move(*c), der);
    }
    ImportReport report;
    // An answer carries its certificates' chain: a few CAs. Many more would make every
    // certificate's check as long as the list (found by name below, but all of one name).
    if (issuers.size() > MaxAnswerIssuers)
        return fail(ErrorCode::BadInput,
            QStringLiteral("The answer holds %1 CA certificates; an upstream's answer carries its chain, at most %2. "
                           "Nothing was imported.")
                .arg(issuers.size())
                .arg(MaxAnswerIssuers));
    // First every certificate is checked and matched to its row, with nothing written (the
    // store's write lock is not held while certificates are verified); then they are recorded.
    QList<std::pair<OutboxWork, QByteArray>> accepted;
    for (const QByteArray& der : leaves) {
        auto cert = ossl::certFromDer(der);
        if (!cert) {
            report.refused << QStringLiteral("an entry that is not a certificate");
            continue;
        }
        const QString who
            = QStringLiteral("%1 (serial %2)")
                  .arg(ossl::nameToString(X509_get_subject_name(cert->get())), ossl::serialHex(cert->get()));
        const QString keyHash = ossl::sha256Hex(ossl::publicKeyDer(X509_get0_pubkey(cert->get())));
        auto locals = store.ledger().certificatesOfKey(keyHash);
        if (!locals)
            return std::unexpected(locals.error());
        if (locals->isEmpty()) {
            report.refused << who + QStringLiteral(": certifies no key this station issued a certificate for");
            continue;
        }
        if (auto chain = verifyToAnchors(der, anchors, issuersOf(cert->get(), parsedIssuers)); !chain) {
            report.refused << who
                    + QStringLiteral(": does not verify to the upstream's trust anchors (%1)")
                          .arg(chain.error().detail);
            continue;
        }
        // The row it answers: of the station's certificates for this key (a device may be
        // issued again with its key), the one whose request went upstream and has no answer
        // yet; never one that did not go.
        bool already = false;
        std::optional<OutboxWork> answered;
        int open = 0;
        for (const QString& local : *locals) {
            auto recorded = store.ledger().upstreamCertificate(local);
            if (!recorded)
                return std::unexpected(recorded.error());
            if (*recorded == der)
                already = true;
            if (!recorded->isEmpty())
                continue;
            auto rows = store.outbox().ofCertificate(local);
            if (!rows)
                return std::unexpected(rows.error());
            for (const OutboxEntry& e : *rows) {
                if (e.kind != OutboxKind::Certificate || e.exportBatch.isEmpty()
                    || (e.state != OutboxState::Pending && e.state != OutboxState::Failed
                        && e.state != OutboxState::Sent && e.state != OutboxState::Waiting))
                    continue;
                auto work = store.outbox().work({ e.id });
                if (!work)
                    return std::unexpected(work.error());
                if (!work->isEmpty() && ++open == 1)
                    answered = work->first();
            }
        }
        if (already) {
            ++report.already;
            continue;
        }
        if (open > 1) {
            report.refused << who
                    + QStringLiteral(": %1 exported requests of this station are for its key; which one it answers "
                                     "cannot be told")
                          .arg(open);
            continue;
        }
        if (!answered) {
            report.refused << who
                    + QStringLiteral(": no request for its key went upstream without an answer (the device may "
                                     "already have another upstream certificate on record)");
            continue;
        }
        accepted.append({ *answered, der });
    }
    // Many answers, a few commits (each synced): a part of tens of thousands of certificates
    // is not tens of thousands of fsyncs.
    Outbox::Writer answers = store.outbox().writer();
    for (const auto& [work, der] : accepted) {
        if (answers.pending() >= 2000) {
            if (auto r = answers.commit(); !r)
                return std::unexpected(r.error());
        }
        if (auto r = answers.recordCertificate(work, der); !r)
            return std::unexpected(r.error());
        if (auto r = answers.confirm(work, QStringLiteral("imported")); !r)
            return std::unexpected(r.error());
        ++report.recorded;
    }
    if (auto r = answers.commit(); !r)
        return std::unexpected(r.error());

    // The upstream's CRLs end the revocations they list: a CRL signed by an issuer that
    // verifies to the anchors, naming the upstream certificate's serial.
    for (const auto& [path, bytes] : crls) {
        ossl::Bio bio { BIO_new_mem_buf(bytes.constData(), static_cast<int>(bytes.size())) };
        std::unique_ptr<X509_CRL, ossl::Deleter<X509_CRL_free>> crl { bytes.contains("-----BEGIN X509 CRL")
                ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)
                : d2i_X509_CRL_bio(bio.get(), nullptr) };
        ERR_clear_error();
        if (!crl) {
            report.refused << QStringLiteral("%1: not a CRL (PEM or DER)").arg(path);
            continue;
        }
        const QString issuerName = ossl::nameToString(X509_CRL_get_issuer(crl.get()));
        // Its signer: a CA certificate allowed to sign CRLs, of the CRL's issuer name, whose
        // key verifies the CRL, vouched for by the anchors.
        ossl::Cert signer;
        for (const QByteArray& candidate : issuers + anchors) {
            auto c = ossl::certFromDer(candidate);
            if (!c || X509_NAME_cmp(X509_get_subject_name(c->get()), X509_CRL_get_issuer(crl.get())) != 0
                || X509_check_ca(c->get()) == 0
                || ((X509_get_extension_flags(c->get()) & EXFLAG_KUSAGE) != 0
                    && (X509_get_key_usage(c->get()) & KU_CRL_SIGN) == 0))
                continue;
            if (X509_CRL_verify(crl.get(), X509_get0_pubkey(c->get())) != 1) {
                ERR_clear_error();
                continue;
            }
            if (verifyToAnchors(candidate, anchors, issuersOf(c->get(), parsedIssuers))) {
                signer = std::move(*c);
                break;
            }
        }
        if (auto scope = crlScopeProblem(crl.get()); !scope.isEmpty()) {
            report.refused << QStringLiteral("%1: %2").arg(path, scope);
            continue;
        }
        if (!signer) {
            report.refused << QStringLiteral("%1: a CRL of \"%2\" whose signature does not verify to the upstream's "
                                             "trust anchors")
                                  .arg(path, issuerName);
            continue;
        }
        auto open = store.outbox().openRevocations();
        if (!open)
            return std::unexpected(open.error());
        const QString when = ossl::timeToIso(X509_CRL_get0_lastUpdate(crl.get()));
        for (const OutboxWork& row : *open) {
            // The certificate's own issuer: the same name, and the key that signed the CRL
            // signed it too (another CA of the same name cannot end it).
            auto cert = ossl::certFromDer(row.upstreamDer);
            if (!cert || X509_NAME_cmp(X509_get_issuer_name(cert->get()), X509_CRL_get_issuer(crl.get())) != 0)
                continue;
            if (X509_verify(cert->get(), X509_get0_pubkey(signer.get())) != 1) {
                ERR_clear_error();
                continue;
            }
            X509_REVOKED* entry = nullptr;
            if (X509_CRL_get0_by_serial(crl.get(), &entry, X509_get_serialNumber(cert->get())) != 1)
                continue;
            // Listed to be taken off (a delta CRL's removeFromCRL) or only on hold: not ended.
            const int reason = X509_REVOKED_get_ext_by_NID(entry, NID_crl_reason, -1) >= 0 ? [&] {
                std::unique_ptr<ASN1_ENUMERATED, ossl::Deleter<ASN1_ENUMERATED_free>> code { static_cast<ASN1_ENUMERATED*>(
                    X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr)) };
                return code ? static_cast<int>(ASN1_ENUMERATED_get(code.get())) : -1;
            }()
                                                                                          : -1;
            if (reason == CRL_REASON_REMOVE_FROM_CRL || reason == CRL_REASON_CERTIFICATE_HOLD)
                continue;
            // A reason that cannot be read, a hold instruction, or a critical extension of the
            // entry this station does not know: not ended (RFC 5280, 5.3).
            if ((X509_REVOKED_get_ext_by_NID(entry, NID_crl_reason, -1) >= 0 && reason < 0)
                || X509_REVOKED_get_ext_by_NID(entry, NID_hold_instruction_code, -1) >= 0
                || !criticalExtensionsKnown(entry))
                continue;
            if (auto r = answers.confirm(row, QStringLiteral("revoked in the upstream's CRL of %1").arg(when)); !r)
                return std::unexpected(r.error());
            ++report.revoked;
        }
        if (auto r = answers.commit(); !r)
            return std::unexpected(r.error());
    }
    if (auto r = store.audit().append(AuditKind::Imported, QStringLiteral("upstream-answer"),
            QStringLiteral("%1 upstream certificate(s) recorded, %2 already on record, %3 revocation(s) ended, %4 "
                           "refused, from %5")
                .arg(report.recorded)
                .arg(report.already)
                .arg(report.revoked)
                .arg(report.refused.size())
                .arg(files.join(QStringLiteral(", "))),
            station, person.isEmpty() ? qEnvironmentVariable("USER", QStringLiteral("cli")) : person);
        !r)
        return std::unexpected(r.error());
    return report;
}

} // namespace imprint::core
