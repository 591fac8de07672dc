#pragma once

#include "Error.h"
#include "device/DeviceIdentity.h"
#include "pki/CertificateProfile.h"
#include "pki/CsrCheck.h"
#include "pki/IssuingCa.h"
#include "store/RecordStore.h"

#include <memory>

namespace imprint::core {

/// A certificate the station has issued and durably recorded, with the chain to send along.
struct Issuance {
    IssuedCertificate certificate;
    QList<QByteArray> chain;
};

/// The station acting as registration authority: checks requests, has the issuing CA
/// sign them and records everything. It is the store's one writer and lives on its own
/// thread (see Station), so HSM and disk latency never reach the GUI thread.
class Registrar {
public:
    Registrar(RecordStore store, IssuingCa ca, CertificateTemplate profile, QString station);

    [[nodiscard]] Result<qint64> beginJob(
        const DeviceIdentity& device, const QString& port, const QString& operatorName);
    [[nodiscard]] Result<void> recordStep(
        qint64 jobId, const QString& step, const QString& status, const QString& detail = {});
    /// Checks the request, issues, and commits the certificate before returning it.
    /// `expectedKey` (SubjectPublicKeyInfo), when given, is the key the station injected:
    /// a request for any other key is refused (injected-key-mismatch).
    [[nodiscard]] Result<Issuance> issue(
        qint64 jobId, const DeviceIdentity& device, const QByteArray& csrDer, const QByteArray& expectedKey = {});
    [[nodiscard]] Result<void> certificateVerified(qint64 jobId, const QString& serialHex);
    /// Issued, never shipped: the device no longer has the certified key.
    [[nodiscard]] Result<void> certificateSuperseded(qint64 jobId, const QString& serialHex, const QString& why);
    [[nodiscard]] Result<void> finishJob(
        qint64 jobId, const QString& deviceSerial, JobOutcome outcome, const QString& reason);

    RecordStore& store() { return m_store; }

private:
    RecordStore m_store;
    IssuingCa m_ca;
    CertificateTemplate m_profile;
    CsrCheck m_check;
    QString m_station;
};

} // namespace imprint::core
