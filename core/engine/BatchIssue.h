#pragma once

#include "pki/CertificateTemplate.h"
#include "pki/IssuingCa.h"
#include "store/RecordStore.h"

#include <QList>
#include <QString>

#include <functional>

namespace imprint::core {

/// One request file of a batch.
struct BatchRequest {
    QString source;
    QByteArray der;
};

/// What became of one request: issued (code empty), or refused with a stable code.
struct BatchOutcome {
    QString source;
    QString deviceSerial; ///< the request's serialNumber, when it could be read
    QString code; ///< a CsrCheck reason, duplicate-serial, already-certified or serial-invalid
    QString reason; ///< plain words
    IssuedCertificate certificate;

    bool issued() const { return code.isEmpty(); }
};

/// Issues certificates for a folder of requests with no device present (a contract
/// manufacturer's batch). Checking and signing run on `threads` workers at once; the
/// requests are compared with each other and with the store on one thread (a serial or a
/// key twice is refused); everything issued is committed in one synced transaction before
/// run() returns, so no certificate leaves unrecorded.
class BatchIssue {
public:
    using Progress = std::function<void(const QString& phase, qsizetype done, qsizetype total)>;

    BatchIssue(const IssuingCa& ca, const CertificateTemplate& profile, RecordStore& store);

    /// Outcomes in the order of `requests`. Fails as a whole only when signing or the
    /// store fails; then nothing is recorded.
    [[nodiscard]] Result<QList<BatchOutcome>> run(const QList<BatchRequest>& requests, int threads,
        const QString& station, const QString& operatorName, const Progress& progress = {});

private:
    const IssuingCa& m_ca;
    const CertificateTemplate& m_profile;
    RecordStore& m_store;
};

} // namespace imprint::core
