// A slot's pipeline: identify, key, issue, verify, lock, and how a job fails or ends. A device
// that goes away and comes back is SlotJobReturn.cpp; certificate transfers SlotJobTransfer.cpp.

#include "engine/SlotJob.h"

#include "device/DeviceLink.h"
#include "device/KeyInjection.h"
#include "device/Protocol.h"
#include "engine/Station.h"
#include "pki/OpenSsl.h"

#include <QCborArray>
#include <QLoggingCategory>
#include <QTimer>

#include <openssl/rand.h>

Q_LOGGING_CATEGORY(IMPRINT_SLOT, "imprint.slot", QtInfoMsg)

namespace imprint::core {

namespace {
constexpr qsizetype MaxCsrBytes = protocol::limit::Csr;
constexpr qsizetype MaxSignatureBytes = protocol::limit::Signature;
} // namespace

SlotJob::SlotJob(
    Station* station, int index, QString port, TransportFactory transport, Timeouts timeouts, QObject* parent)
    : QObject(parent)
    , m_station(station)
    , m_index(index)
    , m_port(std::move(port))
    , m_transportFactory(std::move(transport))
    , m_timeouts(timeouts)
{
}

SlotJob::~SlotJob() = default;

QString SlotJob::stepName(Step step)
{
    switch (step) {
    case Step::Waiting: return QStringLiteral("waiting");
    case Step::Connecting: return QStringLiteral("connecting");
    case Step::Identifying: return QStringLiteral("identifying");
    case Step::AwaitingSerial: return QStringLiteral("waiting for its serial label to be scanned");
    case Step::Keying: return QStringLiteral("generating key");
    case Step::Issuing: return QStringLiteral("checking and issuing");
    case Step::Injecting: return QStringLiteral("installing certificate");
    case Step::Verifying: return QStringLiteral("verifying");
    case Step::Locking: return QStringLiteral("locking");
    case Step::Reconnecting: return QStringLiteral("waiting for the device to come back");
    case Step::Passed: return QStringLiteral("PASS");
    case Step::Failed: return QStringLiteral("FAIL");
    case Step::DoneEarlier: return QStringLiteral("DONE EARLIER");
    }
    return {};
}

int SlotJob::pipelinePosition(Step step)
{
    switch (step) {
    case Step::Connecting: return 1;
    case Step::Identifying:
    case Step::AwaitingSerial: return 2;
    case Step::Keying: return 3;
    case Step::Issuing: return 4;
    case Step::Injecting: return 5;
    case Step::Verifying: return 6;
    case Step::Locking: return 7;
    default: return 0;
    }
}

qint64 SlotJob::stepLimitMs() const
{
    const qint64 attempts = m_timeouts.attempts;
    switch (m_step) {
    case Step::Identifying: return m_timeouts.identifyMs * attempts;
    case Step::Keying: return m_timeouts.keygenMs * std::min<qint64>(attempts, 2); // generateKey asks at most twice
    case Step::Injecting:
    case Step::Verifying: return m_timeouts.exchangeMs * attempts * m_stepCalls;
    case Step::Locking: return m_timeouts.exchangeMs * attempts;
    case Step::Reconnecting: return m_timeouts.reconnectMs;
    default: return 0;
    }
}

int SlotJob::recentFailures() const
{
    return static_cast<int>(std::count(m_recent.begin(), m_recent.end(), true));
}

void SlotJob::setStep(Step step)
{
    if (step != m_step) {
        m_stepTimer.start();
        m_stepCalls = 1;
    }
    m_step = step;
    // The slot's own record of verdicts; an operator's abort says nothing of the slot.
    if (step == Step::Passed || step == Step::DoneEarlier || (step == Step::Failed && m_failureCode != u"aborted")) {
        m_recent.append(step == Step::Failed);
        while (m_recent.size() > 5)
            m_recent.removeFirst();
    }
    qCDebug(IMPRINT_SLOT) << m_port << stepName(step);
    if (m_link && isFinished() && m_failureCode != u"bad-frames") {
        // Noise the device's answers came through, said once per verdict.
        const auto& received = m_link->receiveStats();
        if (received.droppedFrames > 0 || received.noiseBytes > 0)
            qCWarning(IMPRINT_SLOT).noquote()
                << m_port
                << QStringLiteral("%1 with %2 broken frame(s) and %3 byte(s) of noise dropped on the way")
                       .arg(stepName(step))
                       .arg(received.droppedFrames)
                       .arg(received.noiseBytes);
    }
    emit changed();
}

void SlotJob::start()
{
    delete m_link;
    m_link = nullptr;
    m_device = {};
    m_jobId = 0;
    m_issued = {};
    m_failure.clear();
    m_failureCode.clear();
    ++m_run;
    m_resuming = false;
    m_mayBeStale = false;
    m_continueWhenJob = false;
    m_csrInNs = -1;
    m_stationNs = -1;
    m_doneEarlierAt = {};
    m_checkingDoneEarlier = false;
    m_beginInFlight = false;
    m_startedAt = QDateTime::currentDateTimeUtc();
    m_elapsed.start();
    setStep(Step::Connecting);
    openLink();
}

void SlotJob::openLink()
{
    if (m_link) {
        m_link->transport()->close(); // an open still under way is dropped
        m_link->transport()->disconnect(this);
        m_link->disconnect(this);
        m_link->deleteLater(); // may be inside one of its callbacks
    }
    m_link = new DeviceLink(m_transportFactory(), this);
    connect(m_link->transport(), &DeviceTransport::opened, this, [this] { m_resuming ? resume() : identify(); });
    // A broken link with no call in flight (e.g. open failed) still ends the job.
    connect(m_link->transport(), &DeviceTransport::failed, this, [this](const Error& e) {
        if (m_step == Step::Reconnecting)
            return; // not back yet; the poll tries again
        failWith(e);
    });
    // Noise is counted by the link; the slot says it once (its failure, or its verdict).
    connect(m_link, &DeviceLink::protocolNoise, this,
        [this](const QString& what) { qCDebug(IMPRINT_SLOT) << m_port << "protocol noise:" << what; });
    connect(m_link, &DeviceLink::broken, this, [this](const Error& e) { failWith(e); });
    m_link->transport()->open();
}

void SlotJob::callIdentify(std::function<void(DeviceIdentity)> then)
{
    setStep(Step::Identifying);
    QCborArray versions;
    for (int v : protocol::SupportedVersions)
        versions.append(v);
    QCborMap args;
    args.insert(QStringLiteral("versions"), versions);
    m_link->call(
        protocol::op::Identify, args, m_timeouts.identifyMs,
        [this, then = std::move(then)](Result<QCborMap> reply) {
            if (!reply)
                return failWith(reply.error());
            auto identity = protocol::identityFromCbor(*reply);
            if (!identity)
                return failWith(identity.error());
            // From now on nothing larger than the device may send is waited for or checked.
            m_link->setReceiveLimit(protocol::receiveLimit(identity->protocol, identity->maxFrame));
            then(std::move(*identity));
        },
        m_timeouts.attempts);
}

void SlotJob::retry()
{
    if (isFinished())
        start();
}

void SlotJob::abort(const QString& why)
{
    if (isFinished())
        return;
    if (m_returnPoll)
        m_returnPoll->stop();
    m_resuming = false;
    failNow(Error { ErrorCode::Cancelled,
        why.isEmpty() ? QStringLiteral("Stopped by %1 while %2.").arg(m_station->operatorName(), stepName(m_step))
                      : why,
        {}, QStringLiteral("aborted") });
}

void SlotJob::awaitSerial()
{
    if (!m_station->acceptsScannedSerials())
        return failWith(Error { ErrorCode::DeviceRefused,
            QStringLiteral("The device on %1 has no serial yet; scan its label (imprint window: Assign serial; "
                           "imprintctl provision --scan).")
                .arg(m_port),
            {}, QStringLiteral("serial-unassigned") });
    setStep(Step::AwaitingSerial);
}

Result<void> SlotJob::assignSerial(const QString& serial)
{
    if (m_step != Step::AwaitingSerial)
        return fail(ErrorCode::BadInput,
            m_device.serial.isEmpty()
                ? QStringLiteral("Slot %1 is not waiting for a serial.").arg(m_index + 1)
                : QStringLiteral("The device on slot %1 already has serial %2.").arg(m_index + 1).arg(m_device.serial));
    if (auto ok = protocol::checkSerial(serial); !ok)
        return fail(ErrorCode::BadInput,
            QStringLiteral("\"%1\" is not a serial: %2.").arg(serial.left(64), ok.error().message));
    QCborMap args;
    args.insert(QStringLiteral("serial"), serial);
    setStep(Step::Identifying);
    m_link->call(
        protocol::op::SetSerial, args, m_timeouts.exchangeMs,
        [this](Result<QCborMap> reply) {
            if (!reply)
                return failWith(reply.error());
            identify(); // from the start, now with its serial
        },
        m_timeouts.attempts);
    return {};
}

void SlotJob::failWith(const Error& error)
{
    if (isFinished())
        return;
    // A device that went away mid-job may come back: wait for it instead of failing.
    if (error.code == ErrorCode::Disconnected && m_timeouts.reconnectMs > 0 && !m_device.serial.isEmpty()
        && m_step != Step::Connecting && m_step != Step::Reconnecting)
        return waitForReturn(error);
    failNow(error);
}

void SlotJob::failNow(const Error& error)
{
    if (isFinished())
        return;
    m_failure = error.message;
    m_failureCode = error.reason.isEmpty() ? errorCodeName(error.code) : error.reason;
    m_failedStep = m_step;
    qCWarning(IMPRINT_SLOT) << m_port << "failed:" << error.text();
    if (m_link)
        m_link->transport()->close();
    if (m_jobId != 0) {
        const qint64 job = m_jobId;
        const QString serial = m_device.serial;
        const QString reason = QStringLiteral("%1: %2").arg(m_failureCode, m_failure);
        m_station->submit<Result<void>>(
            this, [=](Registrar& r) { return r.finishJob(job, serial, JobOutcome::Failed, reason); },
            [this](Result<void> r) {
                if (!r)
                    qCCritical(IMPRINT_SLOT) << m_port << r.error().text();
            });
    } else if (!m_beginInFlight) {
        // No job: the device was never identified, or refused before its job started. The
        // attempt is recorded all the same (a job being recorded ends failed by itself).
        recordAttempt();
    }
    setStep(Step::Failed);
}

void SlotJob::recordAttempt()
{
    // An operator's stop is not the line failing (the slot's own verdicts leave it out too).
    if (m_failureCode == u"aborted")
        return;
    Attempt attempt;
    attempt.port = m_port;
    attempt.operatorName = m_station->operatorName();
    attempt.started = m_startedAt;
    attempt.code = m_failureCode;
    attempt.reason = m_failure;
    attempt.claimedSerial = m_device.serial;
    attempt.droppedFrames = m_link ? m_link->receiveStats().droppedFrames : 0;
    m_station->submit<Result<qint64>>(
        this, [attempt](Registrar& r) { return r.recordAttempt(attempt); },
        [port = m_port](Result<qint64> r) {
            if (!r)
                qCCritical(IMPRINT_SLOT) << port << r.error().text();
        });
}

void SlotJob::identify()
{
    callIdentify([this](DeviceIdentity identity) {
        m_device = std::move(identity);
        if (m_device.serial.isEmpty())
            return awaitSerial();
        const DeviceIdentity device = m_device;
        const QString port = m_port;
        const QString op = m_station->operatorName();
        m_beginInFlight = true;
        m_station->submit<Result<JobStart>>(
            this, [=](Registrar& r) { return r.beginJob(device, port, op); },
            [this, run = m_run](Result<JobStart> job) {
                if (run == m_run)
                    m_beginInFlight = false;
                // The slot failed while the job was being recorded, and no job came of it: the
                // attempt is recorded instead.
                if (run == m_run && isFinished() && (!job || job->jobId == 0))
                    return recordAttempt();
                if (!job)
                    return run == m_run ? failWith(job.error()) : void();
                if (isFinished() || run != m_run) {
                    // Stopped (aborted) while the job was being recorded: the job ends too.
                    if (job->jobId != 0) {
                        const qint64 id = job->jobId;
                        const QString serial = m_device.serial;
                        const QString reason = run == m_run
                            ? QStringLiteral("%1: %2").arg(m_failureCode, m_failure)
                            : QStringLiteral("aborted: the slot was stopped and started again");
                        m_station->submit<Result<void>>(
                            this, [=](Registrar& r) { return r.finishJob(id, serial, JobOutcome::Failed, reason); },
                            [](Result<void>) {});
                    }
                    return;
                }
                if (job->doneEarlier) {
                    m_jobId = job->jobId;
                    return checkDoneEarlier(*job->doneEarlier);
                }
                if (job->jobId == 0)
                    return failWith(Error { ErrorCode::DeviceRefused,
                        QStringLiteral("Device %1 is locked, but this station has no pass on record for it (another "
                                       "station provisioned it, or its record was restored from an older backup). "
                                       "Set it aside for QA.")
                            .arg(m_device.serial),
                        {}, QStringLiteral("already-locked") });
                m_jobId = job->jobId;
                // An earlier job (the station stopped, or the job failed after issuing) left
                // a certificate: go on from where the device is, not from the start.
                if (job->pending) {
                    m_issued = std::move(*job->pending);
                    m_mayBeStale = true;
                }
                if (m_resuming) {
                    // The device went away meanwhile: resume() goes on when it is back, or has
                    // left it to us once it was back.
                    if (m_step != Step::Reconnecting && std::exchange(m_continueWhenJob, false))
                        continueFromDevice(QStringLiteral("the device is blank again"));
                    return;
                }
                continueFromDevice(QStringLiteral("the device is blank again"));
            });
    });
}

void SlotJob::generateKey()
{
    setStep(Step::Keying);
    QCborMap args;
    args.insert(QStringLiteral("key-type"), QStringLiteral("p256"));
    m_link->call(
        protocol::op::GenerateKey, args, m_timeouts.keygenMs,
        [this](Result<QCborMap> reply) {
            if (!reply)
                return failWith(reply.error());
            auto csr = protocol::bytesField(*reply, QStringLiteral("csr"), MaxCsrBytes);
            if (!csr)
                return failWith(csr.error());
            m_csrInNs = m_elapsed.nsecsElapsed();
            issue(*csr);
        },
        std::min(m_timeouts.attempts, 2));
}

void SlotJob::injectKey()
{
    setStep(Step::Keying);
    m_link->call(
        protocol::op::InjectBegin, {}, m_timeouts.exchangeMs,
        [this](Result<QCborMap> reply) {
            if (!reply)
                return failWith(reply.error());
            auto ephemeral = protocol::bytesField(*reply, QStringLiteral("ephemeral"), injection::PointSize);
            if (!ephemeral)
                return failWith(ephemeral.error());
            // The device's private key exists in the station only inside sealNewKey.
            auto sealed = injection::sealNewKey(*ephemeral, m_device.serial);
            if (!sealed)
                return failWith(sealed.error());
            QCborMap args;
            args.insert(QStringLiteral("ephemeral"), sealed->stationEphemeral);
            args.insert(QStringLiteral("nonce"), sealed->nonce);
            args.insert(QStringLiteral("ciphertext"), sealed->ciphertext);
            m_link->call(
                protocol::op::InjectKey, args, m_timeouts.exchangeMs,
                [this, expected = sealed->publicKey](Result<QCborMap> answer) {
                    if (!answer)
                        return failWith(answer.error());
                    auto csr = protocol::bytesField(*answer, QStringLiteral("csr"), MaxCsrBytes);
                    if (!csr)
                        return failWith(csr.error());
                    m_csrInNs = m_elapsed.nsecsElapsed();
                    issue(*csr, expected);
                },
                m_timeouts.attempts);
        },
        m_timeouts.attempts);
}

void SlotJob::issue(const QByteArray& csr, const QByteArray& expectedKey)
{
    setStep(Step::Issuing);
    m_station->submitIssue(this, IssueRequest { m_jobId, m_device, csr, expectedKey },
        thisRun<Result<Issuance>>([this](Result<Issuance> issued) {
            if (!issued)
                return failWith(issued.error());
            m_issued = std::move(*issued);
            m_mayBeStale = false;
            if (isFinished() || m_step == Step::Reconnecting) // unplugged while it was being made
                return;
            inject();
        }));
}

void SlotJob::readBack()
{
    setStep(Step::Verifying);
    readCertificate([this](const QByteArray& cert) {
        if (cert != m_issued.certificate.der)
            return failWith(Error { ErrorCode::VerificationFailed,
                QStringLiteral("The device holds a different certificate from the one it was "
                               "given; it did not store it correctly."),
                {}, QStringLiteral("readback-mismatch") });
        challenge();
    });
}

void SlotJob::checkDoneEarlier(const CertificateRecord& record)
{
    m_issued.certificate = IssuedCertificate { record.der, record.serialHex, record.sha256 };
    setStep(Step::Verifying);
    readCertificate([this, record](const QByteArray& cert) {
        if (cert != record.der)
            return failWith(Error { ErrorCode::VerificationFailed,
                QStringLiteral("Device %1 is locked and passed before with certificate %2, but it now holds "
                               "another certificate. Set it aside for QA: it may be a copy or a reworked board.")
                    .arg(m_device.serial, record.serialHex),
                {}, QStringLiteral("certificate-mismatch") });
        // And it must still hold the key: a fresh challenge, as at its first pass.
        m_doneEarlierAt = record.issuedAt;
        m_checkingDoneEarlier = true;
        challenge();
    });
}

void SlotJob::recordDoneEarlier()
{
    const qint64 job = m_jobId;
    const QString serial = m_device.serial;
    const QString why = QStringLiteral("passed on %1 with certificate %2; read back and challenged again")
                            .arg(m_doneEarlierAt.toString(Qt::ISODate), m_issued.certificate.serialHex);
    m_station->submit<Result<void>>(
        this, [=](Registrar& r) { return r.finishJob(job, serial, JobOutcome::DoneEarlier, why); },
        thisRun<Result<void>>([this](Result<void> r) {
            if (!r)
                return failWith(r.error());
            if (isFinished())
                return;
            m_link->transport()->close();
            setStep(Step::DoneEarlier);
        }));
}

void SlotJob::challenge()
{
    QByteArray nonce(protocol::ChallengeSize, Qt::Uninitialized);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1)
        return failWith(ossl::cryptoFail(QStringLiteral("The random generator failed.")).error());
    QCborMap args;
    args.insert(QStringLiteral("challenge"), nonce);
    m_link->call(
        protocol::op::SignChallenge, args, m_timeouts.exchangeMs,
        [this, nonce](Result<QCborMap> reply) {
            if (!reply)
                return failWith(reply.error());
            auto sig = protocol::bytesField(*reply, QStringLiteral("signature"), MaxSignatureBytes);
            if (!sig)
                return failWith(sig.error());
            // The signature is checked against the installed certificate's key: only the
            // device that holds the private key for that certificate can produce it.
            auto cert = ossl::certFromDer(m_issued.certificate.der);
            if (!cert)
                return failWith(cert.error());
            const QByteArray signedData = QByteArray(protocol::ChallengeContext) + nonce;
            if (!ossl::verifySha256(X509_get0_pubkey(cert->get()), signedData, *sig))
                return failWith(Error { ErrorCode::VerificationFailed,
                    QStringLiteral("The device could not prove it holds the key of its certificate "
                                   "(wrong challenge signature)."),
                    {}, QStringLiteral("challenge-failed") });
            if (std::exchange(m_checkingDoneEarlier, false))
                return recordDoneEarlier();
            recordThen([job = m_jobId, serial = m_issued.certificate.serialHex](
                           Registrar& r) { return r.certificateVerified(job, serial); },
                [this] { lock(); });
        },
        m_timeouts.attempts);
}

void SlotJob::lock()
{
    setStep(Step::Locking);
    auto finish = [this] {
        // A pass's reason is its lock step's detail.
        const QString how = m_device.state == protocol::state::Locked
            ? QStringLiteral("locked already: the station had stopped after locking it")
            : QStringLiteral("locked: it takes no other key or certificate");
        recordThen([job = m_jobId, serial = m_device.serial, how](
                       Registrar& r) { return r.finishJob(job, serial, JobOutcome::Passed, how); },
            [this] {
                m_link->transport()->close();
                setStep(Step::Passed);
            });
    };
    // Locked already: the station stopped after locking it, before the job was closed.
    if (m_device.state == protocol::state::Locked)
        return finish();
    m_link->call(
        protocol::op::Lock, {}, m_timeouts.exchangeMs,
        [this, finish](Result<QCborMap> reply) {
            if (!reply)
                return failWith(reply.error());
            finish();
        },
        m_timeouts.attempts);
}

void SlotJob::recordThen(std::function<Result<void>(Registrar&)> write, std::function<void()> next)
{
    m_station->submit<Result<void>>(
        this, std::move(write), thisRun<Result<void>>([this, next = std::move(next)](Result<void> r) {
            if (!r)
                return failWith(r.error());
            if (isFinished() || m_step == Step::Reconnecting)
                return;
            next();
        }));
}

} // namespace imprint::core
