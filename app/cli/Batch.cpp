// imprintctl issue, sign-batch: certificates for request files, with no device present.

#include "StationContext.h"
#include "TerminalPinPrompt.h"
#include "cli/Command.h"
#include "engine/BatchIssue.h"
#include "engine/Registrar.h"
#include "pki/Der.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>

namespace imprint::app::cli {

namespace {

/// DER from a PEM or DER request file; the DER itself is checked strictly later.
QByteArray csrDer(const QByteArray& contents)
{
    const qsizetype begin = contents.indexOf("-----BEGIN ");
    if (begin < 0)
        return contents;
    const qsizetype bodyStart = contents.indexOf('\n', begin);
    const qsizetype end = contents.indexOf("-----END ", bodyStart);
    if (bodyStart < 0 || end < 0)
        return {};
    return QByteArray::fromBase64(contents.mid(bodyStart + 1, end - bodyStart - 1).simplified().replace(' ', ""));
}

} // namespace

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
    const QByteArray der = csrDer(f.read(1024 * 1024));

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

int signBatch(const QStringList& args)
{
    CommandLine p(QStringLiteral(
        "Check and issue a folder of certificate requests (*.csr, *.pem, *.der), one device each, named by the "
        "request's serialNumber. Good ones are issued and recorded; refused ones are listed with their reasons. "
        "Exit 0 when all were issued, 1 when some were refused."));
    QCommandLineOption in(QStringLiteral("in"), QStringLiteral("Folder of requests."), QStringLiteral("DIR"));
    QCommandLineOption outFile(QStringLiteral("out"),
        QStringLiteral("The PKCS#7 bundle of the issued certificates and the CA chain (DER, .p7b)."),
        QStringLiteral("FILE"));
    QCommandLineOption reportFile(QStringLiteral("report"),
        QStringLiteral("Also write a JSON report: every request, issued or refused and why."), QStringLiteral("FILE"));
    QCommandLineOption threads(QStringLiteral("threads"), QStringLiteral("Worker threads (default: one per core)."),
        QStringLiteral("N"), QString::number(QThread::idealThreadCount()));
    const QCommandLineOption op = option::operatorName(QStringLiteral("Operator recorded with the issuance."));
    p.addOptions({ in, outFile, reportFile, threads, op, option::profile });
    p.parse(args);
    if (!p.isSet(in) || !p.isSet(outFile)) {
        return usageError(args, QStringLiteral("give --in DIR and --out FILE.p7b"));
    }
    const QDir folder(p.value(in));
    if (!folder.exists())
        return report(core::Error {
            core::ErrorCode::BadInput, QStringLiteral("There is no folder %1.").arg(p.value(in)), {}, {} });
    const QStringList names = folder.entryList(
        { QStringLiteral("*.csr"), QStringLiteral("*.pem"), QStringLiteral("*.der"), QStringLiteral("*.req") },
        QDir::Files, QDir::Name);

    QElapsedTimer timer;
    timer.start();
    QList<core::BatchRequest> requests;
    requests.reserve(names.size());
    for (const QString& name : names) {
        // Oversized files are read only as far as the check needs to refuse them.
        QFile f(folder.filePath(name));
        const QByteArray contents = f.open(QIODevice::ReadOnly) ? f.read(1024 * 1024) : QByteArray();
        requests.append({ name, csrDer(contents) });
    }

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

    core::BatchIssue batch(*ca, *prepared, *store);
    const int workers = std::clamp(p.value(threads).toInt(), 1, 64);
    auto outcomes = batch.run(requests, workers, ctx->config.stationName, p.value(op),
        [](const QString& phase, qsizetype done, qsizetype total) {
            err() << "  " << phase << " " << done << "/" << total << Qt::endl;
        });
    if (!outcomes) {
        report(outcomes.error());
        err() << "Nothing was recorded and no bundle was written." << Qt::endl;
        return 1;
    }
    const double seconds = static_cast<double>(timer.nsecsElapsed()) / 1e9;

    QList<QByteArray> issuedDers;
    QJsonArray issued, refused;
    for (const core::BatchOutcome& o : *outcomes) {
        if (o.issued()) {
            issuedDers << o.certificate.der;
            issued.append(
                QJsonObject { { QStringLiteral("file"), o.source }, { QStringLiteral("serial"), o.deviceSerial },
                    { QStringLiteral("certificate_serial"), o.certificate.serialHex },
                    { QStringLiteral("sha256"), o.certificate.sha256 } });
        } else {
            refused.append(
                QJsonObject { { QStringLiteral("file"), o.source }, { QStringLiteral("serial"), o.deviceSerial },
                    { QStringLiteral("code"), o.code }, { QStringLiteral("reason"), o.reason } });
        }
    }
    // Already durable in the store; the bundle is the copy that leaves.
    const QByteArray bundle = core::der::certificateBundle(issuedDers + ctx->chain);
    if (auto r = writeOutput(p.value(outFile), bundle); !r)
        return report(r.error());
    if (auto r = store->audit().append(core::AuditKind::Exported, QFileInfo(p.value(outFile)).fileName(),
            QStringLiteral("%1 certificates, bundle sha256 %2").arg(issued.size()).arg(core::ossl::sha256Hex(bundle)),
            ctx->config.stationName, p.value(op));
        !r)
        return report(r.error());
    if (auto r = core::sealAuditLog(*store, *ctx->auditSigner); !r)
        return report(r.error());
    if (p.isSet(reportFile)) {
        QJsonObject o { { QStringLiteral("requests"), static_cast<int>(outcomes->size()) },
            { QStringLiteral("issued"), static_cast<int>(issued.size()) },
            { QStringLiteral("refused"), static_cast<int>(refused.size()) },
            { QStringLiteral("profile"), ctx->profile.name }, { QStringLiteral("bundle"), p.value(outFile) },
            { QStringLiteral("seconds"), seconds }, { QStringLiteral("certificates"), issued },
            { QStringLiteral("refusals"), refused } };
        if (auto r = writeOutput(p.value(reportFile), QJsonDocument(o).toJson(QJsonDocument::Indented)); !r)
            return report(r.error());
    }
    out() << "Requests: " << outcomes->size() << "  issued: " << issued.size() << "  refused: " << refused.size()
          << "  in " << QString::number(seconds, 'f', 2) << " s with " << workers << " threads" << Qt::endl;
    for (const auto& r : refused) {
        const QJsonObject o = r.toObject();
        out() << "  REFUSED  " << o[QStringLiteral("file")].toString() << "  " << o[QStringLiteral("code")].toString()
              << "  " << o[QStringLiteral("reason")].toString() << Qt::endl;
    }
    out() << "Bundle: " << p.value(outFile) << " (" << issued.size() << " certificates and the CA chain)" << Qt::endl;
    return refused.isEmpty() ? 0 : 1;
}

} // namespace imprint::app::cli
