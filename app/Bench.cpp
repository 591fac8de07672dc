#include "Bench.h"

#include "StationSetup.h"
#include "cli/Command.h"
#include "engine/ParallelFor.h"
#include "engine/Registrar.h"
#include "pki/CertificateBuilder.h"
#include "pki/CsrCheck.h"
#include "pki/EvpSigner.h"
#include "pki/IssuingCa.h"

#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTextStream>
#include <QThread>

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
    cli::CommandLine p(QStringLiteral("Measure issuance against the raw HSM sign rate of the CA key."));
    QCommandLineOption count(QStringLiteral("count"), QStringLiteral("Certificates to issue (default 2000)."),
        QStringLiteral("N"), QStringLiteral("2000"));
    p.addOptions({ count });
    p.parse(args);
    QTextStream out(stdout);
    QTextStream err(stderr);
    const int n = std::max(1, p.value(count).toInt());

    // One token (one libp11 context) per module and process: the raw baseline and the
    // issuing signer share it.
    const DataDir dir = p.dataDir();
    auto config = dir.loadConfig();
    auto chain = config ? dir.loadChain() : Result<QList<QByteArray>>(std::unexpected(config.error()));
    auto caKey = chain ? hsm::openCaKey(*config) : Result<hsm::CaKey>(std::unexpected(chain.error()));
    auto signer = caKey ? caKey->signer() : Result<std::shared_ptr<Signer>>(std::unexpected(caKey.error()));
    auto ca = signer ? IssuingCa::create(*signer, *chain) : Result<IssuingCa>(std::unexpected(signer.error()));
    const CertificateProfile profile = CertificateProfile::idevid();
    auto prepared = ca ? ca->prepare(profile) : Result<CertificateTemplate>(std::unexpected(ca.error()));
    if (!prepared) {
        err << "imprintctl bench: " << prepared.error().text() << Qt::endl;
        return 1;
    }
    const int threads = std::max(1, QThread::idealThreadCount());

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

    hsm::Token& token = caKey->service->token();
    auto raw = token.measureRawSignRate(caKey->keyUri.object, n);
    auto rawParallel = token.measureRawSignRate(caKey->keyUri.object, n, threads);
    if (!raw || !rawParallel) {
        err << "imprintctl bench: " << (raw ? rawParallel.error() : raw.error()).text() << Qt::endl;
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
    const CsrCheck check(profile.csrPolicy);
    QElapsedTimer checkTimer;
    checkTimer.start();
    for (int i = 0; i < n; ++i) {
        if (auto r = check.check(requests[i], QStringLiteral("BENCH-%1").arg(i), {}); !r) {
            err << "imprintctl bench: " << r.error().text() << Qt::endl;
            return 1;
        }
    }
    const double checkRate = n / (static_cast<double>(checkTimer.nsecsElapsed()) / 1e9);

    // Check + build + sign, as the registrar does, without the store; on one thread, then
    // on one per core.
    auto issueAll = [&](int workers) -> Result<double> {
        QElapsedTimer timer;
        timer.start();
        auto done = parallelFor(n, workers, [&](qsizetype i) -> Result<void> {
            DeviceIdentity device;
            device.serial = QStringLiteral("BENCH-%1").arg(i);
            auto checked = check.check(requests[i], device.serial, {});
            if (!checked)
                return std::unexpected(checked.error());
            auto cert = ca->issue(*prepared, device, checked->publicKeyDer);
            if (!cert)
                return std::unexpected(cert.error());
            return {};
        });
        if (!done)
            return std::unexpected(done.error());
        return n / (static_cast<double>(timer.nsecsElapsed()) / 1e9);
    };
    auto issueRate = issueAll(1);
    auto issueParallel = issueAll(threads);
    if (!issueRate || !issueParallel) {
        err << "imprintctl bench: " << (issueRate ? issueParallel.error() : issueRate.error()).text() << Qt::endl;
        return 1;
    }

    // The same, with every certificate durably recorded (one commit, fully synced, each).
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("bench.sqlite")));
    if (!store) {
        err << "imprintctl bench: " << store.error().text() << Qt::endl;
        return 1;
    }
    auto ca2 = IssuingCa::create(*signer, *chain);
    auto prepared2 = ca2->prepare(profile);
    Registrar registrar(std::move(*store), std::move(*ca2), std::move(*prepared2), QStringLiteral("bench"));
    const int recorded = std::min(n, 500);
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < recorded; ++i) {
        DeviceIdentity device;
        device.serial = QStringLiteral("BENCH-%1").arg(i);
        auto job = registrar.beginJob(device, QStringLiteral("bench"), QStringLiteral("bench"));
        auto issued
            = job ? registrar.issue(job->jobId, device, requests[i]) : Result<Issuance>(std::unexpected(job.error()));
        if (!issued) {
            err << "imprintctl bench: " << issued.error().text() << Qt::endl;
            return 1;
        }
    }
    const double recordedRate = recorded / (static_cast<double>(timer.nsecsElapsed()) / 1e9);

    out << Qt::fixed;
    out.setRealNumberPrecision(1);
    out << "key: " << CsrCheck::describeKey(ossl::publicKeyFromDer((*signer)->publicKey())->get()) << " in token \""
        << token.label() << "\", " << n << " signatures per figure, " << threads << " threads where parallel"
        << Qt::endl
        << "raw PKCS#11 sign (C_Sign, one session):        " << *raw << " /s" << Qt::endl
        << "raw PKCS#11 sign (one session per thread):     " << *rawParallel << " /s" << Qt::endl
        << "CA signer (SHA-256 + pooled session):          " << signerRate << " /s" << Qt::endl
        << "request check alone:                           " << checkRate << " /s" << Qt::endl
        << "issue (check + build + sign), one thread:      " << *issueRate << " /s" << Qt::endl
        << "issue (check + build + sign), " << threads << " threads:       " << *issueParallel << " /s" << Qt::endl;
    out.setRealNumberPrecision(2);
    out << "ratio issue / raw sign, one thread:            " << *issueRate / *raw << Qt::endl
        << "ratio issue / raw sign, " << threads << " threads:             " << *issueParallel / *rawParallel
        << Qt::endl
        << "ratio issue (" << threads << " threads) / raw (one session):  " << *issueParallel / *raw << Qt::endl;
    out.setRealNumberPrecision(1);
    out << "issue + durable record (job, cert, fsync each): " << recordedRate << " /s  (" << recorded
        << " certificates)" << Qt::endl;
    return 0;
}

} // namespace imprint::app
