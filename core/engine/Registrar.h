#pragma once

#include <QDateTime>

#include "Error.h"
#include "domain/DeviceIdentity.h"
#include "pki/CertificateProfile.h"
#include "pki/CsrCheck.h"
#include "pki/IssuingCa.h"
#include "pki/Signer.h"
#include "store/RecordStore.h"

#include <memory>
#include <optional>

namespace imprint::core {

/// A certificate the station has issued and durably recorded, with the chain to send along.
struct Issuance {
    IssuedCertificate certificate;
    QList<QByteArray> chain;
};

/// A new job, and what an earlier job left with the device: a certificate it may hold or
/// be about to hold (the job goes on from there instead of making another).
struct JobStart {
    qint64 jobId = 0;
    std::optional<Issuance> pending;
    /// The device is locked and passed on an earlier job with this certificate: the job is a
    /// check (the slot reads it back and challenges it; it ends done-earlier, or failed).
    std::optional<CertificateRecord> doneEarlier;
};

/// A device's certificate request, with the job it belongs to.
struct IssueRequest {
    qint64 jobId = 0;
    DeviceIdentity device;
    QByteArray csr;
    QByteArray expectedKey; ///< the SubjectPublicKeyInfo the station injected, if it did
};

/// The station acting as registration authority: checks requests, has the issuing CA
/// sign them and records everything. It is the store's one writer and lives on its own
/// thread (see Station), so HSM and disk latency never reach the GUI thread.
class Registrar {
public:
    Registrar(RecordStore store, IssuingCa ca, CertificateTemplate profile, QString station, QString lot = {});

    /// Starts a job, unless the device is locked with its job done (then jobId is 0 and
    /// nothing is recorded). Refused (serial-in-use) for an unlocked device under the serial
    /// of one that passed.
    [[nodiscard]] Result<JobStart> beginJob(
        const DeviceIdentity& device, const QString& port, const QString& operatorName);
    [[nodiscard]] Result<void> recordStep(qint64 jobId, StepName step, StepStatus status, const QString& detail = {});
    /// A slot's attempt that ended before a job started, with this station and its lot.
    [[nodiscard]] Result<qint64> recordAttempt(Attempt attempt);
    /// Checks the request, reserves a serial (write-ahead: durable before signing), issues,
    /// and commits the certificate before returning it. `expectedKey`
    /// (SubjectPublicKeyInfo), when given, is the key the station injected: a request for
    /// any other key is refused (injected-key-mismatch).
    [[nodiscard]] Result<Issuance> issue(
        qint64 jobId, const DeviceIdentity& device, const QByteArray& csrDer, const QByteArray& expectedKey = {});
    /// The same for requests that arrived together (a group commit): one transaction for
    /// all their intents, one synced transaction for all their certificates. Results in order.
    [[nodiscard]] QList<Result<Issuance>> issue(const QList<IssueRequest>& requests);
    /// Whether a certificate for `device` can reach it: in one frame, or in parts for a
    /// device of protocol version 3 (reason frame-too-large if not).
    [[nodiscard]] Result<void> deliverable(const DeviceIdentity& device, const QByteArray& publicKey) const;
    [[nodiscard]] Result<void> certificateInstalled(qint64 jobId, const QString& serialHex);
    [[nodiscard]] Result<void> certificateVerified(qint64 jobId, const QString& serialHex);
    /// Issued, never shipped: the device no longer has the certified key. A revocation is
    /// recorded for upstream.
    [[nodiscard]] Result<void> certificateSuperseded(qint64 jobId, const QString& serialHex, const QString& why);
    [[nodiscard]] Result<void> finishJob(
        qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason);
    /// An audit entry of the station's own (login, setting change, export).
    [[nodiscard]] Result<void> audit(
        AuditKind kind, const QString& subject, const QString& detail, const QString& operatorName);

    /// Seals the audit log now (at shutdown), if this process has the audit key and an
    /// entry no checkpoint covers yet (see AuditLog::sealWith: it also seals every N entries).
    [[nodiscard]] Result<void> sealAudit();

    RecordStore& store() { return m_store; }
    /// Where the CRL goes: once set, a new CRL is signed and written whenever a certificate
    /// is superseded (a failure to is logged; `imprintctl ca crl` makes one again).
    void setCrlFile(const QString& path) { m_crlFile = path; }
    /// How long a certificate issued to a device that then failed stays valid for the
    /// device to come back with the same key ([certificates] unshipped-grace-minutes);
    /// negative: never revoked by this station (a test double's default).
    void setUnshippedGrace(int minutes) { m_unshippedGraceMinutes = minutes; }
    /// Revokes what is issued, never shipped and past its grace (see
    /// CertificateLedger::revokeUnshipped), then signs a CRL when one was revoked. At most
    /// once a minute unless `now` is asked for; the station does it at start and as jobs end.
    [[nodiscard]] Result<QStringList> revokeUnshipped(bool now = false);

private:
    RecordStore m_store;
    IssuingCa m_ca;
    CertificateTemplate m_profile;
    CsrCheck m_check;
    QString m_station;
    QString m_lot;
    QString m_crlFile;
    int m_unshippedGraceMinutes = -1;
    QDateTime m_unshippedSwept;
};

} // namespace imprint::core
