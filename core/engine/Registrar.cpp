#include "engine/Registrar.h"

namespace imprint::core {

Registrar::Registrar(RecordStore store, IssuingCa ca, CertificateTemplate profile, QString station)
    : m_store(std::move(store))
    , m_ca(std::move(ca))
    , m_profile(std::move(profile))
    , m_check(m_profile.profile().csrPolicy)
    , m_station(std::move(station))
{
}

Result<qint64> Registrar::beginJob(const DeviceIdentity& device, const QString& port, const QString& operatorName)
{
    return m_store.beginJob(device, port, m_station, operatorName);
}

Result<void> Registrar::recordStep(qint64 jobId, const QString& step, const QString& status, const QString& detail)
{
    return m_store.recordStep(jobId, step, status, detail);
}

Result<Issuance> Registrar::issue(
    qint64 jobId, const DeviceIdentity& device, const QByteArray& csrDer, const QByteArray& expectedKey)
{
    auto checked = m_check.check(csrDer, device.serial, [this](const QString& key) { return m_store.keyOwner(key); });
    if (checked && !expectedKey.isEmpty() && checked->publicKeyDer != expectedKey)
        checked = fail(ErrorCode::CsrRejected,
            QStringLiteral("The device answered with a request for another key than the one it was given."), {},
            QStringLiteral("injected-key-mismatch"));
    if (!checked) {
        // A rejection is part of the device's story; a store failure here is secondary.
        (void)m_store.recordStep(jobId, QStringLiteral("check-csr"), QStringLiteral("rejected"),
            checked.error().reason + QStringLiteral(": ") + checked.error().message);
        return std::unexpected(checked.error());
    }
    if (auto r = m_store.recordStep(jobId, QStringLiteral("check-csr"), QStringLiteral("done"), checked->keyType); !r)
        return std::unexpected(r.error());

    auto cert = m_ca.issue(m_profile, device, checked->publicKeyDer);
    if (!cert)
        return std::unexpected(cert.error());
    // Durable before the certificate leaves the station: a crash after this point can
    // never leave a certificate in the field that the records do not know.
    if (auto r = m_store.recordIssued(
            jobId, device.serial, cert->der, cert->serialHex, cert->sha256, checked->publicKeySha256);
        !r)
        return std::unexpected(r.error());
    return Issuance { *cert, m_ca.chain() };
}

Result<void> Registrar::certificateVerified(qint64 jobId, const QString& serialHex)
{
    if (auto r = m_store.setCertificateState(serialHex, QStringLiteral("verified")); !r)
        return r;
    return m_store.recordStep(
        jobId, QStringLiteral("verify"), QStringLiteral("done"), QStringLiteral("read back and challenge signed"));
}

Result<void> Registrar::certificateSuperseded(qint64 jobId, const QString& serialHex, const QString& why)
{
    if (auto r = m_store.setCertificateState(serialHex, QStringLiteral("superseded")); !r)
        return r;
    return m_store.recordStep(jobId, QStringLiteral("supersede"), QStringLiteral("done"),
        QStringLiteral("certificate %1: %2").arg(serialHex, why));
}

Result<void> Registrar::finishJob(qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason)
{
    return m_store.finishJob(jobId, deviceSerial, outcome, reason);
}

} // namespace imprint::core
