#include "Bench.h"

#include "StationSetup.h"
#include "engine/Registrar.h"
#include "pki/CertificateBuilder.h"
#include "pki/CsrCheck.h"
#include "pki/EvpSigner.h"
#include "pki/IssuingCa.h"

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTextStream>

namespace imprint::app {

using namespace imprint::core;

namespace {

Result<QByteArray> deviceRequest(const QString& serial)
{
    auto key = EvpSigner::generateP256();
    if (!key)
        return std::unexpected(key.error());
    return makeRequest({ { QStringLiteral("serialNumber"), serial } }, key->key(), *key);
}

} // namespace

int benchIssue(const QStringList& args)
{
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("Measure issuance against the raw HSM sign rate of the CA key."));
    p.addHelpOption();
    QCommandLineOption dataDir(
        QStringLiteral("data-dir"), QStringLiteral("Station data directory."), QStringLiteral("DIR"));
    QCommandLineOption count(QStringLiteral("count"), QStringLiteral("Certificates to issue (default 2000)."),
        QStringLiteral("N"), QStringLiteral("2000"));
    p.addOptions({ dataDir, count });
    p.process(args);
    QTextStream out(stdout);
    QTextStream err(stderr);
    const int n = std::max(1, p.value(count).toInt());

    // One token (one libp11 context) per module and process: the raw baseline and the
    // issuing signer share it.
    const DataDir dir(DataDir::resolve(p.value(dataDir)));
    auto config = dir.loadConfig();
    auto chain = config ? dir.loadChain() : Result<QList<QByteArray>>(std::unexpected(config.error()));
    auto caToken = chain ? hsm::openCaToken(*config) : Result<hsm::CaToken>(std::unexpected(chain.error()));
    auto signer = caToken ? caToken->token->signer(caToken->keyUri.object)
                          : Result<std::shared_ptr<Signer>>(std::unexpected(caToken.error()));
    auto ca = signer ? IssuingCa::create(*signer, *chain) : Result<IssuingCa>(std::unexpected(signer.error()));
    if (!ca) {
        err << "imprintctl bench: " << ca.error().text() << Qt::endl;
        return 1;
    }

    out << "Preparing " << n << " requests (not timed)..." << Qt::endl;
    QList<QByteArray> requests;
    requests.reserve(n);
    for (int i = 0; i < n; ++i) {
        auto request = deviceRequest(QStringLiteral("BENCH-%1").arg(i));
        if (!request) {
            err << "imprintctl bench: " << request.error().text() << Qt::endl;
            return 1;
        }
        requests << *request;
    }

    auto raw = caToken->token->measureRawSignRate(caToken->keyUri.object, n);
    if (!raw) {
        err << "imprintctl bench: " << raw.error().text() << Qt::endl;
        return 1;
    }

    // The CA signer alone, as issuance uses it.
    QElapsedTimer signerTimer;
    signerTimer.start();
    const QByteArray sample(200, 'x');
    for (int i = 0; i < n; ++i) {
        if (auto sig = (*signer)->signSha256(sample); !sig) {
            err << "imprintctl bench: " << sig.error().text() << Qt::endl;
            return 1;
        }
    }
    const double signerRate = n / (static_cast<double>(signerTimer.nsecsElapsed()) / 1e9);

    // Request checks alone.
    const CertificateProfile checkProfile = CertificateProfile::idevid();
    QElapsedTimer checkTimer;
    checkTimer.start();
    for (int i = 0; i < n; ++i)
        (void)CsrCheck(checkProfile.csrPolicy).check(requests[i], QStringLiteral("BENCH-%1").arg(i), {});
    const double checkRate = n / (static_cast<double>(checkTimer.nsecsElapsed()) / 1e9);

    // Check + build + sign, as the registrar does, without the store.
    const CertificateProfile profile = CertificateProfile::idevid();
    CsrCheck check(profile.csrPolicy);
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < n; ++i) {
        DeviceIdentity device;
        device.serial = QStringLiteral("BENCH-%1").arg(i);
        auto checked = check.check(requests[i], device.serial, {});
        if (!checked) {
            err << "imprintctl bench: " << checked.error().text() << Qt::endl;
            return 1;
        }
        auto cert = ca->issue(device, checked->publicKey.get(), profile);
        if (!cert) {
            err << "imprintctl bench: " << cert.error().text() << Qt::endl;
            return 1;
        }
    }
    const double issueRate = n / (static_cast<double>(timer.nsecsElapsed()) / 1e9);

    // The same, with every certificate durably recorded (one commit, fully synced, each).
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("bench.sqlite")));
    if (!store) {
        err << "imprintctl bench: " << store.error().text() << Qt::endl;
        return 1;
    }
    auto ca2 = IssuingCa::create(*signer, *chain);
    Registrar registrar(std::move(*store), std::move(*ca2), profile, QStringLiteral("bench"));
    const int recorded = std::min(n, 500);
    timer.restart();
    for (int i = 0; i < recorded; ++i) {
        DeviceIdentity device;
        device.serial = QStringLiteral("BENCH-%1").arg(i);
        auto job = registrar.beginJob(device, QStringLiteral("bench"), QStringLiteral("bench"));
        auto issued = job ? registrar.issue(*job, device, requests[i]) : Result<Issuance>(std::unexpected(job.error()));
        if (!issued) {
            err << "imprintctl bench: " << issued.error().text() << Qt::endl;
            return 1;
        }
    }
    const double recordedRate = recorded / (static_cast<double>(timer.nsecsElapsed()) / 1e9);

    out << Qt::fixed;
    out.setRealNumberPrecision(1);
    out << "raw PKCS#11 sign (C_Sign, one session):   " << *raw << " /s" << Qt::endl
        << "CA signer (SHA-256 + token signature):    " << signerRate << " /s" << Qt::endl
        << "request check alone:                      " << checkRate << " /s" << Qt::endl
        << "issue (check + build + sign):             " << issueRate << " /s" << Qt::endl;
    out.setRealNumberPrecision(2);
    out << "ratio issue / raw sign:                   " << issueRate / *raw << Qt::endl;
    out.setRealNumberPrecision(1);
    out << "issue + durable record (job, cert, fsync): " << recordedRate << " /s  (" << recorded << " certificates)"
        << Qt::endl;
    return 0;
}

} // namespace imprint::app
