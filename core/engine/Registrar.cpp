#include "engine/Registrar.h"

#include "device/Protocol.h"

#include "engine/CrlPublisher.h"

#include "pki/OpenSsl.h"

#include <QHash>

#include <vector>

#include <QLoggingCategory>

Q_LOGGING_CATEGORY(IMPRINT_REGISTRAR, "imprint.registrar", QtInfoMsg)

namespace imprint::core {

Registrar::Registrar(RecordStore store, IssuingCa ca, CertificateTemplate profile, QString station, QString lot)
    : m_store(std::move(store))
    , m_ca(std::move(ca))
    , m_profile(std::move(profile))
    , m_check(m_profile.profile().csrPolicy)
    , m_station(std::move(station))
    , m_lot(std::move(lot))
{
}

Result<void> Registrar::sealAudit()
{
    auto sealed = m_store.audit().seal();
    if (!sealed)
        return std::unexpected(sealed.error());
    return {};
}

Result<JobStart> Registrar::beginJob(const DeviceIdentity& device, const QString& port, const QString& operatorName)
{
    auto pending = m_store.ledger().pending(device.serial);
    if (!pending)
        return std::unexpected(pending.error());
    // A locked device with nothing left to finish gets no job: its record stays as it is.
    const bool shipped = *pending && (*pending)->certificate.state == CertificateState::Verified
        && (*pending)->jobResult == JobOutcome::Passed;
    if (device.state == device_state::Locked && !*pending) {
        // Taken out of production: it stays out, whatever the device says.
        auto known = m_store.records().device(device.serial);
        if (!known)
            return std::unexpected(known.error());
        if (*known && (*known)->status == DeviceStatus::Scrapped)
            return fail(ErrorCode::DeviceRefused,
                QStringLiteral("Device %1 was scrapped (%2); it must not be shipped. Set it aside.")
                    .arg(device.serial, (*known)->statusReason),
                {}, QStringLiteral("scrapped"));
    }
    if (device.state == device_state::Locked && !*pending)
        return JobStart {};
    if (device.state == device_state::Locked && shipped) {
        // Passed before and back: a job of its own (a check, in the lot it was made in), which
        // ends done-earlier when the device holds its certificate and key, failed otherwise.
        auto known = m_store.records().device(device.serial);
        if (!known)
            return std::unexpected(known.error());
        auto id = m_store.jobs().begin(device, port, m_station, operatorName, *known ? (*known)->lot : m_lot);
        if (!id)
            return std::unexpected(id.error());
        JobStart start;
        start.jobId = *id;
        start.doneEarlier = (*pending)->certificate;
        return start;
    }
    if (!m_lot.isEmpty()) {
        // A lot closed meanwhile (the admin screen, imprintctl lot close) takes no more devices.
        auto lot = m_store.lots().find(m_lot);
        if (!lot)
            return std::unexpected(lot.error());
        if (*lot && (*lot)->closed.isValid())
            return fail(ErrorCode::DeviceRefused,
                QStringLiteral("Lot %1 was closed; it takes no more devices. Start the station with a new lot.")
                    .arg(m_lot),
                {}, QStringLiteral("lot-closed"));
    }
    // An unlocked device under the serial of one that shipped: a duplicate label, or a board
    // reworked without its record. Its certificate is not touched; a person decides.
    if (shipped)
        return fail(ErrorCode::DeviceRefused,
            QStringLiteral("Serial %1 already belongs to a device that passed (certificate %2). Check the label; if "
                           "this is that device reworked, scrap its old record first (imprintctl scrap), then "
                           "provision it again.")
                .arg(device.serial, (*pending)->certificate.serialHex),
            {}, QStringLiteral("serial-in-use"));
    // A device keeps its lot unless the station runs one (a retry, a rework on another line).
    QString lot = m_lot;
    if (lot.isEmpty()) {
        auto known = m_store.records().device(device.serial);
        if (!known)
            return std::unexpected(known.error());
        if (*known)
            lot = (*known)->lot;
    }
    auto id = m_store.jobs().begin(device, port, m_station, operatorName, lot);
    if (!id)
        return std::unexpected(id.error());
    JobStart start;
    start.jobId = *id;
    if (*pending) {
        const CertificateRecord& c = (*pending)->certificate;
        start.pending = Issuance { IssuedCertificate { c.der, c.serialHex, c.sha256 }, m_ca.chain() };
    }
    return start;
}

Result<qint64> Registrar::recordAttempt(Attempt attempt)
{
    attempt.station = m_station;
    if (attempt.lot.isEmpty())
        attempt.lot = m_lot;
    return m_store.jobs().recordAttempt(attempt);
}

Result<void> Registrar::recordStep(qint64 jobId, StepName step, StepStatus status, const QString& detail)
{
    auto r = m_store.jobs().recordStep(jobId, step, status, detail);
    return r;
}

Result<Issuance> Registrar::issue(
    qint64 jobId, const DeviceIdentity& device, const QByteArray& csrDer, const QByteArray& expectedKey)
{
    return issue(QList<IssueRequest> { { jobId, device, csrDer, expectedKey } }).first();
}

Result<void> Registrar::deliverable(const DeviceIdentity& device, const QByteArray& publicKey) const
{
    // Decided before signing: a certificate the device cannot take is never made.
    auto bound = m_ca.certificateSizeBound(m_profile, device, publicKey);
    if (!bound)
        return std::unexpected(bound.error());
    const qsizetype request = protocol::installRequestSize(*bound, m_ca.chain());
    const bool chainFits = m_ca.chain().size() <= protocol::limit::ChainEntries
        && std::all_of(m_ca.chain().begin(), m_ca.chain().end(),
            [](const QByteArray& c) { return c.size() <= protocol::limit::Certificate; });
    if (!chainFits || *bound > protocol::limit::Certificate)
        return fail(ErrorCode::DeviceRefused,
            QStringLiteral(
                "The certificate (up to %1 bytes) or the CA chain (%2 certificates) is beyond what the device "
                "protocol carries (16384 bytes each, 4 in the chain); nothing was signed. Use a shorter "
                "chain or a profile with fewer extensions.")
                .arg(*bound)
                .arg(m_ca.chain().size()),
            {}, QStringLiteral("frame-too-large"));
    if (request <= device.maxFrame)
        return {};
    if (device.protocol >= protocol::ChunkedVersion && request <= protocol::limit::Staged)
        return {}; // sent in parts (stage-begin, stage-chunk)
    return fail(ErrorCode::DeviceRefused,
        device.protocol >= protocol::ChunkedVersion
            ? QStringLiteral("The certificate and its chain (up to %1 bytes) are larger than a device can take even "
                             "in parts (%2 bytes); nothing was signed. Use a shorter chain or a profile with fewer "
                             "extensions.")
                  .arg(request)
                  .arg(protocol::limit::Staged)
            : QStringLiteral("The certificate and its chain (up to %1 bytes) do not fit the device's largest frame "
                             "(%2 bytes), and the device speaks protocol version %3, which cannot take them in parts; "
                             "nothing was signed. Update its firmware to protocol version 3, or use a shorter chain "
                             "or a profile with fewer extensions.")
                  .arg(request)
                  .arg(device.maxFrame)
                  .arg(device.protocol),
        {}, QStringLiteral("frame-too-large"));
}

QList<Result<Issuance>> Registrar::issue(const QList<IssueRequest>& requests)
{
    QList<Result<Issuance>> results(requests.size());
    auto failAll = [&](const Error& e) {
        for (auto& r : results) {
            if (r)
                r = std::unexpected(e);
        }
        return results;
    };
    // Check every request; keys are compared with the store and with each other.
    struct Checked {
        qsizetype index;
        CheckedCsr csr;
        QByteArray serial;
    };
    std::vector<Checked> checked; // move-only (the parsed key)
    QHash<QString, QString> keysHere; // public key hash -> device, in this group
    for (qsizetype i = 0; i < requests.size(); ++i) {
        const IssueRequest& req = requests[i];
        auto c = m_check.check(req.csr, req.device.serial, [&](const QString& key) -> Result<std::optional<QString>> {
            if (keysHere.contains(key))
                return std::optional<QString> { keysHere.value(key) };
            return m_store.ledger().keyOwner(key);
        });
        if (c && !req.expectedKey.isEmpty() && c->publicKeyDer != req.expectedKey)
            c = fail(ErrorCode::CsrRejected,
                QStringLiteral("The device answered with a request for another key than the one it was given."), {},
                QStringLiteral("injected-key-mismatch"));
        if (c && req.device.state != device_state::Offline) {
            if (auto fits = deliverable(req.device, c->publicKeyDer); !fits)
                c = std::unexpected(fits.error());
        }
        if (!c) {
            // A rejection is part of the device's story; a store failure here is secondary.
            if (req.device.state != device_state::Offline)
                (void)recordStep(req.jobId, req.expectedKey.isEmpty() ? StepName::Keygen : StepName::InjectKey,
                    StepStatus::Done, keyStepDetail({}, !req.expectedKey.isEmpty()));
            (void)recordStep(req.jobId, StepName::CheckCsr, StepStatus::Rejected,
                c.error().reason + QStringLiteral(": ") + c.error().message);
            results[i] = std::unexpected(c.error());
            continue;
        }
        keysHere.insert(c->publicKeySha256, req.device.serial);
        checked.push_back(Checked { i, std::move(*c), {} });
    }
    if (checked.empty())
        return results;

    // Write-ahead: the serials are on record (one transaction for the whole group) before
    // anything is signed with them, so a crash anywhere from here on can neither lose
    // track of one nor hand it out again.
    for (int attempt = 0;; ++attempt) {
        QList<IssueIntent> intents;
        QList<size_t> which;
        for (size_t k = 0; k < checked.size(); ++k) {
            if (!checked[k].serial.isEmpty())
                continue;
            auto serial = IssuingCa::newSerial();
            if (!serial)
                return failAll(serial.error());
            checked[k].serial = *serial;
            intents.append(IssueIntent { requests[checked[k].index].jobId, checked[k].csr.keyType,
                QString::fromLatin1(serial->toHex().toUpper()), !requests[checked[k].index].expectedKey.isEmpty() });
            which.append(k);
        }
        if (intents.isEmpty())
            break;
        if (attempt >= 3)
            return failAll(Error { ErrorCode::Crypto,
                QStringLiteral("The random generator keeps producing serials already used; nothing was issued."), {},
                {} });
        auto reserved = m_store.ledger().reserve(intents);
        if (!reserved)
            return failAll(reserved.error());
        for (qsizetype j = 0; j < which.size(); ++j) {
            if (!reserved->at(j))
                checked[which[j]].serial.clear(); // drawn before: draw again
        }
    }

    QList<IssuedRecord> records;
    QList<qsizetype> recordIndex;
    for (const Checked& c : checked) {
        const IssueRequest& req = requests[c.index];
        auto cert = m_ca.issue(m_profile, req.device, c.csr.publicKeyDer, c.serial);
        if (!cert) {
            results[c.index] = std::unexpected(cert.error());
            continue;
        }
        records.append(IssuedRecord {
            req.jobId, req.device.serial, cert->der, cert->serialHex, cert->sha256, c.csr.publicKeySha256, req.csr });
        recordIndex.append(c.index);
        results[c.index] = Issuance { *cert, m_ca.chain() };
    }
    // Durable before any certificate leaves the station: a crash after this point can never
    // leave a certificate in the field that the records do not know.
    if (!records.isEmpty()) {
        if (auto r = m_store.ledger().recordIssued(records); !r) {
            for (qsizetype k : recordIndex)
                results[k] = std::unexpected(r.error());
        }
    }
    return results;
}

Result<void> Registrar::certificateInstalled(qint64 jobId, const QString& serialHex)
{
    auto r = m_store.ledger().setState(jobId, serialHex, CertificateState::Installed);
    return r;
}

Result<void> Registrar::certificateVerified(qint64 jobId, const QString& serialHex)
{
    auto r = m_store.ledger().setState(jobId, serialHex, CertificateState::Verified,
        QStringLiteral("read back as issued; a fresh challenge signed with its key"));
    return r;
}

Result<void> Registrar::certificateSuperseded(qint64 jobId, const QString& serialHex, const QString& why)
{
    auto r = m_store.ledger().setState(jobId, serialHex, CertificateState::Superseded, why);
    if (r && !m_crlFile.isEmpty()) {
        if (auto crl = publishCrl(m_store, m_ca.signer(), m_ca.certificate(), m_crlFile); !crl)
            qCWarning(IMPRINT_REGISTRAR).noquote()
                << "The CRL was not signed after a supersede:" << crl.error().text() << "(run imprintctl ca crl)";
    }
    return r;
}

Result<void> Registrar::finishJob(qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason)
{
    auto r = m_store.jobs().finish(jobId, deviceSerial, outcome, reason);
    if (r && outcome == JobOutcome::Failed) {
        if (auto swept = revokeUnshipped(); !swept)
            qCWarning(IMPRINT_REGISTRAR).noquote()
                << "Certificates never shipped were not revoked:" << swept.error().text();
    }
    return r;
}

Result<QStringList> Registrar::revokeUnshipped(bool now)
{
    if (m_unshippedGraceMinutes < 0)
        return QStringList {};
    const QDateTime t = QDateTime::currentDateTimeUtc();
    if (!now && m_unshippedSwept.isValid() && m_unshippedSwept.secsTo(t) < 60 && m_unshippedGraceMinutes > 0)
        return QStringList {};
    m_unshippedSwept = t;
    auto revoked = m_store.ledger().revokeUnshipped(t.addSecs(-60LL * m_unshippedGraceMinutes));
    if (revoked && !revoked->isEmpty() && !m_crlFile.isEmpty()) {
        if (auto crl = publishCrl(m_store, m_ca.signer(), m_ca.certificate(), m_crlFile); !crl)
            qCWarning(IMPRINT_REGISTRAR).noquote()
                << "The CRL was not signed after a revocation:" << crl.error().text() << "(run imprintctl ca crl)";
    }
    return revoked;
}

Result<void> Registrar::audit(
    AuditKind kind, const QString& subject, const QString& detail, const QString& operatorName)
{
    auto r = m_store.audit().append(kind, subject, detail, m_station, operatorName);
    return r;
}

} // namespace imprint::core
