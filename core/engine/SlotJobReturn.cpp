// A slot's device that went away and came back: waiting for it (the job stays open), then
// going on from what it holds — the certificate on record installed, a key and a new
// certificate, or the issued one superseded (issued, never shipped). The rest of the slot's
// pipeline is SlotJob.cpp.

#include "engine/SlotJob.h"

#include "device/DeviceLink.h"
#include "device/Protocol.h"
#include "engine/Station.h"

#include <QLoggingCategory>
#include <QTimer>

Q_DECLARE_LOGGING_CATEGORY(IMPRINT_SLOT)

namespace imprint::core {

void SlotJob::waitForReturn(const Error& why)
{
    m_awayReason = why;
    m_away.start();
    m_resuming = true;
    m_continueWhenJob = false; // the next resume() decides again
    if (m_link)
        m_link->transport()->close();
    if (m_jobId != 0) {
        const qint64 job = m_jobId;
        m_station->submit<Result<void>>(
            this,
            [=](Registrar& r) { return r.recordStep(job, StepName::Disconnect, StepStatus::Waiting, why.message); },
            [this](Result<void> r) {
                if (!r) // the slot carries on; the gap in its timeline is logged
                    qCCritical(IMPRINT_SLOT) << m_port << r.error().text();
            });
    }
    setStep(Step::Reconnecting);
    if (!m_returnPoll) {
        m_returnPoll = new QTimer(this);
        m_returnPoll->setInterval(300);
        connect(m_returnPoll, &QTimer::timeout, this, [this] {
            if (m_step != Step::Reconnecting) {
                m_returnPoll->stop();
                return;
            }
            if (m_away.elapsed() > m_timeouts.reconnectMs) {
                m_returnPoll->stop();
                Error gone = m_awayReason;
                gone.message
                    += QStringLiteral(" It did not come back within %1 s.").arg(m_timeouts.reconnectMs / 1000.0);
                m_resuming = false;
                return failNow(gone);
            }
            openLink();
        });
    }
    m_returnPoll->start();
}

void SlotJob::resume()
{
    m_returnPoll->stop();
    callIdentify([this](DeviceIdentity identity) {
        if (identity.serial != m_device.serial)
            return failWith(Error { ErrorCode::DeviceRefused,
                QStringLiteral("Device %1 went away and %2 came back in its place; the job for %1 ends here.")
                    .arg(m_device.serial, identity.serial),
                {}, QStringLiteral("device-swapped") });
        m_device = identity;
        if (m_jobId == 0) {
            // Gone before its job was on record: the job's answer goes on from here.
            m_continueWhenJob = true;
            return;
        }
        const qint64 job = m_jobId;
        const QString state = m_device.state;
        m_station->submit<Result<void>>(
            this,
            [=](Registrar& r) {
                return r.recordStep(job, StepName::Reconnect, StepStatus::Done, QStringLiteral("device is ") + state);
            },
            [this](Result<void> r) {
                if (!r) // the slot carries on; the gap in its timeline is logged
                    qCCritical(IMPRINT_SLOT) << m_port << r.error().text();
            });
        m_mayBeStale = !m_issued.certificate.der.isEmpty();
        continueFromDevice(QStringLiteral("the device came back blank"));
    });
}

void SlotJob::continueFromDevice(const QString& blankWhy)
{
    // Where the device is decides where the job goes on.
    const QString& state = m_device.state;
    if (m_issued.certificate.der.isEmpty())
        return rekey();
    if (state == protocol::state::Certified || state == protocol::state::Locked)
        return readBack();
    if (state == protocol::state::Keyed)
        return inject(); // refused if the key is not the certified one: see inject()
    supersede(blankWhy);
}

void SlotJob::rekey()
{
    // A device that makes its own P-256 key does; one that cannot receives one.
    if (m_device.canGenerateKey && m_device.keyTypes.contains(QLatin1String("p256")))
        generateKey();
    else if (m_device.canReceiveKey)
        injectKey();
    else
        failWith(Error { ErrorCode::DeviceRefused,
            QStringLiteral("Device %1 can neither make a P-256 key nor receive one.").arg(m_device.serial), {},
            QStringLiteral("unsupported") });
}

void SlotJob::supersede(const QString& why)
{
    // Issued, never shipped: the certificate stays on record as superseded, and the
    // device gets a new key and a new certificate.
    const qint64 job = m_jobId;
    const QString serial = m_issued.certificate.serialHex;
    m_issued = {};
    m_mayBeStale = false; // once: a device that refuses a fresh certificate fails
    m_station->submit<Result<void>>(
        this, [=](Registrar& r) { return r.certificateSuperseded(job, serial, why); },
        thisRun<Result<void>>([this](Result<void> r) {
            if (!r)
                return failWith(r.error());
            if (!isFinished())
                rekey();
        }));
}

} // namespace imprint::core
