// imprintctl issue, sign-batch: certificates for request files, with no device present.

#include "StationContext.h"
#include "TerminalPinPrompt.h"
#include "cli/Command.h"
#include "engine/BatchIssue.h"
#include "engine/Registrar.h"
#include "pki/CsrCheck.h"
#include "pki/Der.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"

#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QTemporaryFile>
#include <QThread>

#include <cmath>
#include <unistd.h>

namespace imprint::app::cli {

int issue(const QStringList& args)
{
    CommandLine p(QStringLiteral("Check a certificate request file and issue a certificate for it."));
    QCommandLineOption csr(QStringLiteral("csr"), QStringLiteral("The request (PEM or DER)."), QStringLiteral("FILE"));
    QCommandLineOption serial(
        QStringLiteral("device-serial"), QStringLiteral("The device the request is for."), QStringLiteral("SN"));
    QCommandLineOption outFile(QStringLiteral("out"),
        QStringLiteral("Write the certificate (PEM) here; default stdout."), QStringLiteral("FILE"));
    const QCommandLineOption op = option::operatorName(QStringLiteral("Operator recorded with the issuance."));
    p.addOptions({ csr, serial, outFile, op, option::profile });
    p.parse(args);
    if (!p.isSet(csr) || !p.isSet(serial)) {
        return usageError(args, QStringLiteral("give --csr FILE and --device-serial SN"));
    }
    QFile f(p.value(csr));
    if (!f.open(QIODevice::ReadOnly))
        return report(core::Error {
            core::ErrorCode::BadInput, QStringLiteral("Cannot read %1.").arg(p.value(csr)), f.errorString(), {} });
    const QByteArray der = core::requestDer(f.read(1024 * 1024));

    app::TerminalPinPrompt prompt;
    auto ctx = app::openStation(p.value(option::dataDir), &prompt, p.value(option::profile));
    if (!ctx)
        return report(ctx.error());
    auto registrar = ctx->registrarFactory()();
    if (!registrar)
        return report(registrar.error());
    core::DeviceIdentity device;
    device.serial = p.value(serial);
    device.state = QStringLiteral("offline");
    auto job = (*registrar)->beginJob(device, QStringLiteral("file:") + p.value(csr), p.value(op));
    if (!job)
        return report(job.error());
    auto issued = (*registrar)->issue(job->jobId, device, der);
    if (!issued && issued.error().code == core::ErrorCode::CsrRejected)
        issued = std::unexpected(core::CsrCheck::aboutFile(issued.error(), p.value(csr)));
    if (!issued) {
        (void)(*registrar)
            ->finishJob(job->jobId, device.serial, core::JobOutcome::Failed,
                issued.error().reason + QStringLiteral(": ") + issued.error().message);
        (void)(*registrar)->sealAudit();
        report(issued.error());
        if (!issued.error().reason.isEmpty())
            err() << "  code: " << issued.error().reason << Qt::endl;
        return 1;
    }
    if (auto r = (*registrar)->finishJob(job->jobId, device.serial, core::JobOutcome::Issued, {}); !r)
        return report(r.error());
    if (auto r = (*registrar)->sealAudit(); !r)
        return report(r.error());
    const QByteArray pem = core::ossl::derToPem(issued->certificate.der);
    if (p.isSet(outFile)) {
        QFile o(p.value(outFile));
        if (!o.open(QIODevice::WriteOnly) || o.write(pem) != pem.size())
            return report(core::Error {
                core::ErrorCode::Io, QStringLiteral("Cannot write %1.").arg(p.value(outFile)), o.errorString(), {} });
        err() << "Issued certificate " << issued->certificate.serialHex << " for " << device.serial << " to "
              << p.value(outFile) << Qt::endl;
    } else {
        out() << pem;
    }
    return 0;
}

namespace {

/// The bundle that leaves: PKCS#7 certificates-only (DER), one file per `perPart`
/// certificates, each with the CA chain. A DER SET OF is sorted, so a part is held in
/// memory until it is full (about 30 MB for 50,000 certificates) — the memory bound, never
/// the batch. One part: FILE itself; more: FILE, then FILE's name with .2, .3, ... before
/// its extension, and an index FILE.index.json naming each part with its count and SHA-256.
/// Parts are written under a temporary name and take their names only when the batch is
/// done: a batch that stops leaves no bundle, and none of an earlier run's parts stays.
class BundleParts {
public:
    ~BundleParts()
    {
        for (const QString& f : std::as_const(m_files))
            QFile::remove(f + Partial);
    }
    BundleParts(const BundleParts&) = delete;
    BundleParts& operator=(const BundleParts&) = delete;

    BundleParts(QString path, qsizetype perPart, QList<QByteArray> chain)
        : m_path(std::move(path))
        , m_perPart(std::max<qsizetype>(1, perPart))
        , m_chain(std::move(chain))
    {
    }

    core::Result<void> add(const QByteArray& der)
    {
        m_part.append(der);
        ++m_count;
        if (m_part.size() >= m_perPart)
            return flush();
        return {};
    }

    /// Writes what is left (an empty batch still gets a bundle with the chain) and, for
    /// more than one part, the index. Returns the files written.
    core::Result<QStringList> finish()
    {
        if (!m_part.isEmpty() || m_files.isEmpty()) {
            if (auto r = flush(); !r)
                return std::unexpected(r.error());
        }
        for (const QString& f : std::as_const(m_files)) {
            QFile::remove(f);
            if (!QFile::rename(f + Partial, f))
                return core::fail(core::ErrorCode::Io, QStringLiteral("Cannot write %1.").arg(f));
        }
        // Parts and an index an earlier, larger run of the same output left are not this batch.
        for (qsizetype n = m_files.size() + 1; QFile::exists(partName(n)); ++n)
            QFile::remove(partName(n));
        const QString index = m_path + QStringLiteral(".index.json");
        QFile::remove(index);
        if (m_files.size() > 1) {
            QJsonArray parts;
            for (qsizetype i = 0; i < m_files.size(); ++i)
                parts.append(QJsonObject { { QStringLiteral("file"), QFileInfo(m_files[i]).fileName() },
                    { QStringLiteral("certificates"), static_cast<double>(m_counts[i]) },
                    { QStringLiteral("sha256"), m_sums[i] } });
            if (auto r = writeOutput(index,
                    QJsonDocument(QJsonObject { { QStringLiteral("certificates"), static_cast<double>(m_count) },
                                      { QStringLiteral("parts"), parts } })
                        .toJson(QJsonDocument::Indented));
                !r)
                return std::unexpected(r.error());
            return m_files + QStringList { index };
        }
        return m_files;
    }

    qsizetype count() const { return m_count; }
    /// What the audit entry says of the files: one SHA-256, or each part's.
    QString digests() const { return m_sums.join(u' '); }

private:
    static constexpr QLatin1String Partial { ".partial" };

    /// FILE for the first part, FILE's name with .N before its extension for the Nth.
    QString partName(qsizetype n) const
    {
        if (n == 1)
            return m_path;
        const QFileInfo info(m_path);
        const QString suffix = info.suffix().isEmpty() ? QString() : u'.' + info.suffix();
        return QDir::cleanPath(info.path() + u'/' + info.completeBaseName() + QStringLiteral(".%1").arg(n) + suffix);
    }

    core::Result<void> flush()
    {
        const QString file = partName(m_files.size() + 1);
        const core::der::BundleLayout bundle = core::der::certificateBundleLayout(m_part + m_chain);
        QSaveFile out(file + Partial);
        QCryptographicHash sha(QCryptographicHash::Sha256);
        bool written = out.open(QIODevice::WriteOnly);
        auto put = [&](const QByteArray& bytes) {
            written = written && out.write(bytes) == bytes.size();
            sha.addData(bytes);
        };
        put(bundle.head);
        for (const QByteArray& der : bundle.certificates)
            put(der);
        put(bundle.tail);
        if (!written || !out.commit())
            return core::fail(
                core::ErrorCode::Io, QStringLiteral("Cannot write %1.").arg(out.fileName()), out.errorString());
        m_files << file;
        m_counts << m_part.size();
        m_sums << QString::fromLatin1(sha.result().toHex());
        m_part.clear();
        return {};
    }

    QString m_path;
    qsizetype m_perPart;
    QList<QByteArray> m_chain;
    QList<QByteArray> m_part;
    qsizetype m_count = 0;
    QStringList m_files;
    QList<qsizetype> m_counts;
    QStringList m_sums;
};

/// The JSON report, streamed: the certificates and the refusals each go to a spool file as
/// they come, and are put together behind the counts at the end.
class BatchReport {
public:
    core::Result<void> open()
    {
        if (!m_certificates.open() || !m_refusals.open())
            return core::fail(core::ErrorCode::Io, QStringLiteral("Cannot write the report's spool files."),
                m_certificates.errorString());
        return {};
    }

    core::Result<void> add(const core::BatchOutcome& o)
    {
        QJsonObject entry { { QStringLiteral("file"), o.source }, { QStringLiteral("serial"), o.deviceSerial } };
        if (o.issued()) {
            entry[QStringLiteral("certificate_serial")] = o.certificate.serialHex;
            entry[QStringLiteral("sha256")] = o.certificate.sha256;
            if (o.earlier)
                entry[QStringLiteral("recorded_earlier")] = true;
        } else {
            entry[QStringLiteral("code")] = o.code;
            entry[QStringLiteral("reason")] = o.reason;
        }
        QTemporaryFile& spool = o.issued() ? m_certificates : m_refusals;
        qsizetype& n = o.issued() ? m_certificateCount : m_refusalCount;
        const QByteArray line = (n++ == 0 ? "\n    " : ",\n    ") + QJsonDocument(entry).toJson(QJsonDocument::Compact);
        if (spool.write(line) != line.size())
            return core::fail(core::ErrorCode::Io,
                QStringLiteral("Cannot write the report's spool file %1 (is the disk "
                               "full?).")
                    .arg(spool.fileName()),
                spool.errorString());
        return {};
    }

    core::Result<void> write(const QString& path, QJsonObject head)
    {
        QSaveFile f(path);
        if (!f.open(QIODevice::WriteOnly))
            return core::fail(core::ErrorCode::Io, QStringLiteral("Cannot write %1.").arg(path), f.errorString());
        QByteArray start = QJsonDocument(head).toJson(QJsonDocument::Indented);
        start.chop(2); // "}\n": the arrays follow
        f.write(start + ",\n  \"certificates\": [");
        append(f, m_certificates);
        f.write("\n  ],\n  \"refusals\": [");
        append(f, m_refusals);
        f.write("\n  ]\n}\n");
        if (!m_certificates.flush() || !m_refusals.flush() || m_certificates.error() != QFile::NoError
            || m_refusals.error() != QFile::NoError || !f.commit())
            return core::fail(core::ErrorCode::Io, QStringLiteral("Cannot write %1.").arg(path), f.errorString());
        return {};
    }

private:
    static void append(QSaveFile& to, QTemporaryFile& spool)
    {
        spool.seek(0);
        while (!spool.atEnd())
            to.write(spool.read(1 << 20));
    }

    QTemporaryFile m_certificates, m_refusals;
    qsizetype m_certificateCount = 0, m_refusalCount = 0;
};

/// "1:05" / "1:02:05"

} // namespace

int signBatch(const QStringList& args)
{
    CommandLine p(QStringLiteral(
        "Check and issue a batch of certificate requests, one device each, named by the request's serialNumber: a "
        "folder of request files (*.csr, *.pem, *.der, *.req), a PEM file of many requests, or an archive of request "
        "files (tar, tar.gz, zip). Good ones are issued and recorded a chunk at a time; refused ones are listed with "
        "their reasons. A batch stopped anywhere and run again with the same input continues where it was: what was "
        "recorded is given again, never signed twice. Exit 0 when all were issued, 1 when some were refused."));
    QCommandLineOption in(QStringLiteral("in"), QStringLiteral("The requests: a folder, a PEM file or an archive."),
        QStringLiteral("PATH"));
    QCommandLineOption outFile(QStringLiteral("out"),
        QStringLiteral("The PKCS#7 bundle of the issued certificates and the CA chain (DER, .p7b); split into parts "
                       "of --bundle-size certificates when there are more."),
        QStringLiteral("FILE"));
    QCommandLineOption reportFile(QStringLiteral("report"),
        QStringLiteral("Also write a JSON report: every request, issued or refused and why."), QStringLiteral("FILE"));
    // One more worker than there are cores: a signature spends part of its time waiting on the
    // token's locks, and the spare worker keeps the cores busy meanwhile (measured: 100,000
    // requests on 2 cores in 16.4-17.2 s with 3 workers, 17.9-20.6 s with 2).
    QCommandLineOption threads(QStringLiteral("threads"),
        QStringLiteral("Worker threads (default: one per core, and one more)."), QStringLiteral("N"),
        QString::number(QThread::idealThreadCount() + 1));
    QCommandLineOption bundleSize(QStringLiteral("bundle-size"),
        QStringLiteral("Certificates per bundle file (default 50000)."), QStringLiteral("N"), QStringLiteral("50000"));
    QCommandLineOption chunk(QStringLiteral("chunk"),
        QStringLiteral("Requests checked, signed and recorded at a time (default 2048)."), QStringLiteral("N"),
        QStringLiteral("2048"));
    QCommandLineOption progress(QStringLiteral("progress"),
        QStringLiteral("Print the progress as JSON lines on standard error (done, total, per second, seconds left)."));
    const QCommandLineOption op = option::operatorName(QStringLiteral("Operator recorded with the issuance."));
    p.addOptions({ in, outFile, reportFile, threads, bundleSize, chunk, progress, op, option::profile });
    p.parse(args);
    if (!p.isSet(in) || !p.isSet(outFile))
        return usageError(args, QStringLiteral("give --in DIR|FILE and --out FILE.p7b"));

    QElapsedTimer timer;
    timer.start();
    auto requests = core::openRequests(p.value(in));
    if (!requests)
        return report(requests.error());
    app::TerminalPinPrompt prompt;
    auto ctx = app::openStation(p.value(option::dataDir), &prompt, p.value(option::profile));
    if (!ctx)
        return report(ctx.error());
    auto store = core::RecordStore::open(ctx->dir.database());
    if (!store)
        return report(store.error());
    auto ca = core::IssuingCa::create(ctx->caSigner, ctx->chain);
    if (!ca)
        return report(ca.error());
    auto prepared = ca->prepare(ctx->profile);
    if (!prepared)
        return report(prepared.error());

    BundleParts bundle(p.value(outFile), std::clamp(p.value(bundleSize).toLongLong(), 1LL, 10'000'000LL), ctx->chain);
    BatchReport reportOut;
    if (p.isSet(reportFile)) {
        if (auto r = reportOut.open(); !r)
            return report(r.error());
    }
    core::BatchIssue batch(*ca, *prepared, *store);
    batch.setChunkSize(std::clamp(p.value(chunk).toInt(), 1, 65536));
    const int workers = std::clamp(p.value(threads).toInt(), 1, 64);
    Progress shown(p.isSet(progress), QStringLiteral("requests"));
    auto outcomes = batch.run(
        **requests,
        [&](const core::BatchOutcome& o) -> core::Result<void> {
            if (p.isSet(reportFile)) {
                if (auto r = reportOut.add(o); !r)
                    return r;
            }
            if (!o.issued()) {
                out() << "  REFUSED  " << o.source << "  " << o.code << "  " << o.reason << '\n';
                return {};
            }
            return bundle.add(o.certificate.der);
        },
        workers, ctx->config.stationName, p.value(op), [&](qsizetype done, qsizetype total) { shown(done, total); });
    shown.finish();
    out() << Qt::flush;
    if (!outcomes) {
        report(outcomes.error());
        err() << "What was signed before this is recorded; no bundle was written. Run the same command again to "
                 "continue."
              << Qt::endl;
        return 1;
    }
    // Already durable in the store; the bundle is the copy that leaves.
    auto files = bundle.finish();
    if (!files)
        return report(files.error());
    if (auto r = store->audit().append(core::AuditKind::Exported, QFileInfo(p.value(outFile)).fileName(),
            QStringLiteral("%1 certificates, bundle sha256 %2").arg(bundle.count()).arg(bundle.digests()),
            ctx->config.stationName, p.value(op));
        !r)
        return report(r.error());
    if (auto r = store->audit().seal(); !r)
        return report(r.error());
    const double seconds = static_cast<double>(timer.nsecsElapsed()) / 1e9;
    if (p.isSet(reportFile)) {
        QJsonObject head { { QStringLiteral("requests"), static_cast<double>(outcomes->requests) },
            { QStringLiteral("issued"), static_cast<double>(outcomes->issued) },
            { QStringLiteral("recorded_earlier"), static_cast<double>(outcomes->earlier) },
            { QStringLiteral("refused"), static_cast<double>(outcomes->refused) },
            { QStringLiteral("profile"), ctx->profile.name }, { QStringLiteral("bundle"), p.value(outFile) },
            { QStringLiteral("bundle_files"), QJsonArray::fromStringList(*files) },
            { QStringLiteral("seconds"), seconds } };
        if (auto r = reportOut.write(p.value(reportFile), head); !r)
            return report(r.error());
    }
    out() << "Requests: " << outcomes->requests << "  issued: " << outcomes->issued
          << (outcomes->earlier ? QStringLiteral("  recorded earlier: %1").arg(outcomes->earlier) : QString())
          << "  refused: " << outcomes->refused << "  in " << QString::number(seconds, 'f', 2) << " s with " << workers
          << " threads" << Qt::endl
          << "Bundle: " << files->join(QStringLiteral(", ")) << " (" << bundle.count()
          << " certificates and the CA chain)" << Qt::endl;
    return outcomes->refused == 0 ? 0 : 1;
}

} // namespace imprint::app::cli
