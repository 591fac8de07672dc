#pragma once

#include "Error.h"
#include "domain/Records.h"
#include "store/Sql.h"

#include <QByteArray>
#include <QList>
#include <QString>

namespace imprint::core {

/// One change the plant record has not got yet (see schema 11): what it is (`kind`: device,
/// job, certificate, certificate-state, crl, lot, attempt, audit-head), the key of its
/// record, the record as it was when its batch was made (`payload`, a JSON object; a job with
/// its steps), and the blobs the payload names (they never change once written).
struct PlantChange {
    qint64 seq = 0;
    QString kind;
    QString key;
    QByteArray payload;
    QByteArray der; ///< certificate: the certificate; crl: the CRL
    QByteArray request; ///< certificate: the device's request
    QByteArray upstreamDer; ///< certificate-state: the upstream's certificate, once recorded
};

/// The plant record's last contact: when a push was tried, when one got through, what went
/// wrong last (plain words, then the library's text on the lines after).
using PlantContact = UpstreamContact;

/// The plant record's queue: plant_log, filled by triggers in the transaction of each change,
/// emptied in order once the plant database has committed what was taken. The batch in
/// flight is kept as it was composed (plant_sent): pushed again after a cut, it is the same.
class PlantLog : public StorePart {
public:
    using StorePart::StorePart;

    /// The next batch to push, of the changes numbered past `after`: at most `limit` of those
    /// in flight when a push was cut (as they were composed); else the oldest `limit`, composed
    /// now from the records and kept as composed (beside those still in flight: several
    /// batches go at once).
    [[nodiscard]] Result<QList<PlantChange>> next(int limit, qint64 after = 0);
    /// The plant committed every change up to `seq`: they leave the queue, and the contact
    /// says so, in one commit.
    [[nodiscard]] Result<void> pushed(qint64 seq, qint64 count);
    /// A push that did not get through, in plain words (a newline, then the detail).
    [[nodiscard]] Result<void> failed(const QString& error);
    /// Changes waiting.
    [[nodiscard]] Result<qint64> backlog() const;
    [[nodiscard]] Result<PlantContact> contact() const;
};

} // namespace imprint::core
