#include "engine/Registrar.h"

#include "pki/OpenSsl.h"

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(IMPRINT_REGISTRAR, "imprint.registrar", QtInfoMsg)

namespace imprint::core {

Result<void> sealAuditLog(RecordStore& store, Signer& signer)
{
    auto head = store.auditHead();
    if (!head)
        return std::unexpected(head.error());
    auto last = store.lastCheckpoint();
    if (!last)
        return std::unexpected(last.error());
    if (head->seq == 0 || head->seq <= *last)
        return {};
    auto signature = signer.signSha256(RecordStore::checkpointMessage(head->seq, head->hash));
    if (!signature)
        return std::unexpected(signature.error());
    AuditCheckpoint c = *head;
    c.keySha256 = ossl::sha256Hex(signer.publicKey());
    c.signature = *signature;
    return store.addCheckpoint(c);
}

Registrar::Registrar(
    RecordStore store, IssuingCa ca, CertificateTemplate profile, QString station, AuditSealing sealing, QString lot)
    : m_store(std::move(store))
    , m_ca(std::move(ca))
    , m_profile(std::move(profile))
    , m_check(m_profile.profile().csrPolicy)
    , m_station(std::move(station))
    , m_sealing(std::move(sealing))
    , m_lot(std::move(lot))
{
}

void Registrar::sealIfDue()
{
    if (!m_sealing.signer)
        return;
    if (m_sealedUpTo < 0) {
        auto last = m_store.lastCheckpoint();
        if (!last)
            return;
        m_sealedUpTo = *last;
    }
    auto head = m_store.auditHead();
    if (!head || head->seq - m_sealedUpTo < std::max(1, m_sealing.every))
        return;
    // A checkpoint that cannot be signed now (token away) is signed at the next chance;
    // the chain itself is already durable.
    if (auto r = sealAuditLog(m_store, *m_sealing.signer); !r) {
        qCWarning(IMPRINT_REGISTRAR) << "audit checkpoint not signed:" << r.error().text();
        return;
    }
    m_sealedUpTo = head->seq;
}

Result<void> Registrar::sealAudit()
{
    if (!m_sealing.signer)
        return {};
    return sealAuditLog(m_store, *m_sealing.signer);
}

Result<JobStart> Registrar::beginJob(const DeviceIdentity& device, const QString& port, const QString& operatorName)
{
    auto pending = m_store.pendingCertificate(device.serial);
    if (!pending)
        return std::unexpected(pending.error());
    // A locked device with nothing left to finish gets no job: its record stays as it is.
    const bool done = !*pending
        || ((*pending)->certificate.state == QLatin1String("verified")
            && (*pending)->jobResult == QLatin1String("passed"));
    if (device.state == QLatin1String("locked") && done)
        return JobStart {};
    auto id = m_store.beginJob(device, port, m_station, operatorName, m_lot);
    if (!id)
        return std::unexpected(id.error());
    JobStart start;
    start.jobId = *id;
    if (*pending) {
        const CertificateRecord& c = (*pending)->certificate;
        start.pending = Issuance { IssuedCertificate { c.der, c.serialHex, c.sha256 }, m_ca.chain() };
        start.pendingState = c.state;
        start.pendingJobResult = (*pending)->jobResult;
    }
    return start;
}

Result<void> Registrar::recordStep(qint64 jobId, const QString& step, const QString& status, const QString& detail)
{
    auto r = m_store.recordStep(jobId, step, status, detail);
    sealIfDue();
    return r;
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
        (void)recordStep(jobId, QStringLiteral("check-csr"), QStringLiteral("rejected"),
            checked.error().reason + QStringLiteral(": ") + checked.error().message);
        return std::unexpected(checked.error());
    }
    if (auto r = m_store.recordStep(jobId, QStringLiteral("check-csr"), QStringLiteral("done"), checked->keyType); !r)
        return std::unexpected(r.error());

    // Write-ahead: the serial is on record before anything is signed with it, so a crash
    // anywhere from here on can neither lose track of it nor hand it out again.
    QByteArray serial;
    for (int attempt = 0; serial.isEmpty(); ++attempt) {
        auto candidate = IssuingCa::newSerial();
        if (!candidate)
            return std::unexpected(candidate.error());
        auto reserved = m_store.reserveSerial(jobId, QString::fromLatin1(candidate->toHex().toUpper()));
        if (!reserved)
            return std::unexpected(reserved.error());
        if (*reserved)
            serial = *candidate;
        else if (attempt >= 3)
            return fail(ErrorCode::Crypto,
                QStringLiteral("The random generator keeps producing serials already used; nothing was issued."));
    }
    auto cert = m_ca.issue(m_profile, device, checked->publicKeyDer, serial);
    if (!cert)
        return std::unexpected(cert.error());
    // Durable before the certificate leaves the station: a crash after this point can
    // never leave a certificate in the field that the records do not know.
    if (auto r = m_store.recordIssued(
            jobId, device.serial, cert->der, cert->serialHex, cert->sha256, checked->publicKeySha256);
        !r)
        return std::unexpected(r.error());
    sealIfDue();
    return Issuance { *cert, m_ca.chain() };
}

Result<void> Registrar::certificateInstalled(qint64 jobId, const QString& serialHex)
{
    auto r = m_store.setCertificateState(jobId, serialHex, QStringLiteral("installed"));
    sealIfDue();
    return r;
}

Result<void> Registrar::certificateVerified(qint64 jobId, const QString& serialHex)
{
    auto r = m_store.setCertificateState(
        jobId, serialHex, QStringLiteral("verified"), QStringLiteral("read back and challenge signed"));
    sealIfDue();
    return r;
}

Result<void> Registrar::certificateSuperseded(qint64 jobId, const QString& serialHex, const QString& why)
{
    auto r = m_store.setCertificateState(jobId, serialHex, QStringLiteral("superseded"), why);
    sealIfDue();
    return r;
}

Result<void> Registrar::finishJob(qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason)
{
    return m_store.finishJob(jobId, deviceSerial, outcome, reason);
}

Result<void> Registrar::audit(
    const QString& kind, const QString& subject, const QString& detail, const QString& operatorName)
{
    auto r = m_store.audit(kind, subject, detail, m_station, operatorName);
    sealIfDue();
    return r;
}

} // namespace imprint::core
