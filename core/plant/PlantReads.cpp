// What the plant record is read for: every station's state, a device's records from every
// station that holds it (for QA anywhere), the figures, and a station's audit heads (the witness).

#include "plant/PlantDatabase.h"

#include "store/AuditLog.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace imprint::core::plant {

Result<QList<StationState>> stations(pg::Connection& db)
{
    auto r = db.exec(QStringLiteral(R"(
SELECT s.station_id, s.line, s.name, s.role, p.at, coalesce(p.backlog, 0),
  (SELECT count(*) FROM imprint.changes c WHERE c.station_id = s.station_id),
  h.key, coalesce(h.payload->>'hash', ''),
  (SELECT count(*) FROM imprint.conflicts f WHERE f.station_id = s.station_id)
FROM imprint.stations s
LEFT JOIN LATERAL (SELECT at, backlog FROM imprint.pushes p WHERE p.station_id = s.station_id ORDER BY at DESC LIMIT 1) p ON true
LEFT JOIN LATERAL (SELECT key, payload FROM imprint.changes c WHERE c.station_id = s.station_id AND c.kind = 'audit-head'
                   ORDER BY (c.key)::bigint DESC LIMIT 1) h ON true
ORDER BY s.line, s.name, s.station_id)"),
        QStringLiteral("list the stations"));
    if (!r)
        return std::unexpected(r.error());
    QList<StationState> out;
    for (int i = 0; i < r->rows(); ++i) {
        StationState s { r->text(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3), r->time(i, 4), r->int8(i, 5),
            r->int8(i, 6), r->isNull(i, 7) ? 0 : r->int8(i, 7), r->text(i, 8), r->int8(i, 9) };
        out.append(s);
    }
    return out;
}

namespace {

/// Rows read for one device at most (jobs, certificates): a device has a few; a station that
/// pushed thousands under one serial does not flood QA's screen.
constexpr int MaxPerDevice = 100;
/// The largest record (its JSON, a certificate, a chain) a lookup reads: a real one is a few
/// kilobytes; a station that pushed a huge one does not take QA's memory (it is passed over).
constexpr int MaxRecordBytes = 256 * 1024;

QJsonObject jsonOf(const QString& text)
{
    return QJsonDocument::fromJson(text.toUtf8()).object();
}

/// One station's record of a device: its newest device row, its jobs (each as it stands, with
/// its steps), its certificates with their newest state, and the station's chains.
Result<QJsonObject> stationRecord(
    pg::Connection& db, const QString& station, const QString& serial, const QString& what)
{
    auto d = db.exec(QStringLiteral("SELECT s.line, s.name, c.payload::text, c.received FROM imprint.changes c JOIN "
                                    "imprint.stations s USING (station_id) WHERE c.key = $1 AND c.kind = 'device' AND "
                                    "c.station_id = $2 AND octet_length(c.payload::text) < %1 ORDER BY c.seq DESC "
                                    "LIMIT 1")
                         .arg(MaxRecordBytes),
        pg::Params().text(serial).text(station), what);
    if (!d)
        return std::unexpected(d.error());
    QJsonObject o;
    o[QStringLiteral("station")] = station;
    if (d->rows()) {
        o[QStringLiteral("line")] = d->text(0, 0);
        o[QStringLiteral("station_name")] = d->text(0, 1);
        o[QStringLiteral("device")] = jsonOf(d->text(0, 2));
        o[QStringLiteral("received")] = d->time(0, 3).toString(Qt::ISODateWithMs);
    }
    auto jobs = db.exec(QStringLiteral("SELECT payload::text FROM (SELECT DISTINCT ON (key) key, seq, payload FROM "
                                       "imprint.changes WHERE payload->>'device_serial' = $1 AND kind = 'job' AND "
                                       "station_id = $2 ORDER BY key, seq DESC) j WHERE octet_length(payload::text) "
                                       "< %2 ORDER BY seq LIMIT %1")
                            .arg(MaxPerDevice)
                            .arg(MaxRecordBytes),
        pg::Params().text(serial).text(station), what);
    if (!jobs)
        return std::unexpected(jobs.error());
    QJsonArray ja;
    for (int i = 0; i < jobs->rows(); ++i)
        ja.append(jsonOf(jobs->text(i, 0))); // its steps came with it
    o[QStringLiteral("jobs")] = ja;
    auto certs = db.exec(
        QStringLiteral("SELECT c.payload::text, c.der, st.payload::text, st.der FROM imprint.changes c "
                       "LEFT JOIN LATERAL (SELECT payload, der FROM imprint.changes s WHERE s.key = c.key AND s.kind = "
                       "'certificate-state' AND s.station_id = c.station_id ORDER BY s.seq DESC LIMIT 1) st ON true "
                       "WHERE c.payload->>'device_serial' = $1 AND c.kind = 'certificate' AND c.station_id = $2 "
                       "AND octet_length(c.payload::text) + coalesce(octet_length(c.der), 0) < %2 AND "
                       "octet_length(coalesce(st.payload::text, '')) + coalesce(octet_length(st.der), 0) < %2 "
                       "ORDER BY c.seq LIMIT %1")
            .arg(MaxPerDevice)
            .arg(MaxRecordBytes),
        pg::Params().text(serial).text(station), what);
    if (!certs)
        return std::unexpected(certs.error());
    QJsonArray ca;
    for (int i = 0; i < certs->rows(); ++i) {
        QJsonObject c = jsonOf(certs->text(i, 0));
        c[QStringLiteral("station")] = station;
        c[QStringLiteral("der")] = QString::fromLatin1(certs->bytes(i, 1).toBase64());
        c[QStringLiteral("state")] = QStringLiteral("issued");
        if (!certs->isNull(i, 2)) {
            const QJsonObject st = jsonOf(certs->text(i, 2));
            c[QStringLiteral("state")] = st.value(QStringLiteral("state"));
            c[QStringLiteral("revocation_reason")] = st.value(QStringLiteral("revocation_reason"));
            const QByteArray up = certs->bytes(i, 3);
            if (!up.isEmpty())
                c[QStringLiteral("upstream_der")] = QString::fromLatin1(up.toBase64());
        }
        ca.append(c);
    }
    o[QStringLiteral("certificates")] = ca;
    auto chains = db.exec(QStringLiteral("SELECT pem FROM imprint.chains WHERE station_id = $1 AND octet_length(pem) < "
                                         "%1 ORDER BY received DESC LIMIT 5")
                              .arg(MaxRecordBytes),
        pg::Params().text(station), what);
    if (!chains)
        return std::unexpected(chains.error());
    QJsonArray ch;
    for (int i = 0; i < chains->rows(); ++i)
        ch.append(chains->text(i, 0));
    o[QStringLiteral("chains")] = ch;
    return o;
}

} // namespace

Result<QJsonObject> device(pg::Connection& db, const QString& serial)
{
    const QString what = QStringLiteral("look up device %1").arg(serial);
    // Every station that holds a record of this serial, the one heard from last first (by the
    // plant's own clock: a station cannot date its rows to stay on top).
    auto holders = db.exec(QStringLiteral("SELECT station_id FROM imprint.changes WHERE key = $1 AND kind = 'device' "
                                          "GROUP BY station_id ORDER BY max(received) DESC LIMIT 20"),
        pg::Params().text(serial), what);
    if (!holders)
        return std::unexpected(holders.error());
    if (holders->rows() == 0)
        return QJsonObject {};
    QJsonArray records;
    for (int i = 0; i < holders->rows(); ++i) {
        auto record = stationRecord(db, holders->text(i, 0), serial, what);
        if (!record)
            return std::unexpected(record.error());
        records.append(*record);
    }
    QJsonObject o = records.first().toObject();
    o[QStringLiteral("records")] = records;
    return o;
}

Result<QJsonObject> figures(pg::Connection& db)
{
    const QString what = QStringLiteral("read the plant's figures");
    // Each job of the week as it stands (its newest change), by the time the plant indexes.
    const QString jobs = QStringLiteral(
        "WITH j AS (SELECT DISTINCT ON (c.station_id, c.key) c.station_id, s.line, coalesce(c.payload->>'lot', '') "
        "AS lot, imprint.to_time(c.payload->>'finished') AS finished, c.payload->>'result' AS result, "
        "coalesce(c.payload->>'reason', '') AS reason FROM imprint.changes c JOIN imprint.stations s USING "
        "(station_id) WHERE c.kind = 'job' AND c.at > now() - interval '7 days' AND c.at < now() + interval '1 day' "
        "ORDER BY c.station_id, c.key, c.seq DESC) ");
    // A station's own times count only inside the week (a time in the future, or "infinity",
    // never breaks nor crowds out the others' figures).
    const QString finished
        = QStringLiteral("finished > now() - interval '7 days' AND finished < now() + interval '1 day'");
    auto yield = db.exec(jobs
            + QStringLiteral(
                "SELECT station_id, line, lot, imprint.shift_of(finished), count(*) FILTER (WHERE result = "
                "'passed'), count(*) FILTER (WHERE result = 'failed') FROM j WHERE %1 "
                "GROUP BY 1, 2, 3, 4 ORDER BY 4 DESC, 2, 1, 3 LIMIT 500")
                  .arg(finished),
        what);
    if (!yield)
        return std::unexpected(yield.error());
    // Each line's totals apart from the table's rows (which a station with many lots could fill).
    auto lines = db.exec(jobs
            + QStringLiteral("SELECT line, count(*) FILTER (WHERE result = 'passed'), count(*) FILTER (WHERE result = "
                             "'failed') FROM j WHERE %1 GROUP BY 1 ORDER BY 1 LIMIT 100")
                  .arg(finished),
        what);
    if (!lines)
        return std::unexpected(lines.error());
    auto rate = db.exec(jobs
            + QStringLiteral("SELECT line, date_trunc('hour', finished), count(*) FROM j WHERE result = 'passed' AND "
                             "finished > now() - interval '24 hours' AND finished < now() + interval '1 day' GROUP "
                             "BY 1, 2 ORDER BY 2, 1 LIMIT 2000"),
        what);
    if (!rate)
        return std::unexpected(rate.error());
    auto failures = db.exec(jobs
            + QStringLiteral("SELECT left(reason, 200), count(*) FROM j WHERE result = 'failed' AND %1 GROUP BY 1 "
                             "ORDER BY 2 DESC, 1 LIMIT 20")
                  .arg(finished),
        what);
    if (!failures)
        return std::unexpected(failures.error());
    QJsonArray y;
    for (int i = 0; i < yield->rows(); ++i)
        y.append(QJsonObject { { QStringLiteral("station_id"), yield->text(i, 0) },
            { QStringLiteral("line"), yield->text(i, 1) }, { QStringLiteral("lot"), yield->text(i, 2) },
            { QStringLiteral("shift"), yield->time(i, 3).toString(Qt::ISODate) },
            { QStringLiteral("passed"), yield->int8(i, 4) }, { QStringLiteral("failed"), yield->int8(i, 5) } });
    QJsonArray l;
    for (int i = 0; i < lines->rows(); ++i)
        l.append(QJsonObject { { QStringLiteral("line"), lines->text(i, 0) },
            { QStringLiteral("passed"), lines->int8(i, 1) }, { QStringLiteral("failed"), lines->int8(i, 2) } });
    QJsonArray r;
    for (int i = 0; i < rate->rows(); ++i)
        r.append(QJsonObject { { QStringLiteral("line"), rate->text(i, 0) },
            { QStringLiteral("hour"), rate->time(i, 1).toString(Qt::ISODate) },
            { QStringLiteral("passed"), rate->int8(i, 2) } });
    QJsonArray f;
    for (int i = 0; i < failures->rows(); ++i)
        f.append(QJsonObject {
            { QStringLiteral("reason"), failures->text(i, 0) }, { QStringLiteral("jobs"), failures->int8(i, 1) } });
    return QJsonObject { { QStringLiteral("yield"), y }, { QStringLiteral("lines"), l }, { QStringLiteral("rate"), r },
        { QStringLiteral("failures"), f } };
}

Result<QList<PlantHead>> auditHeads(pg::Connection& db, const QString& stationId)
{
    auto r = db.exec(QStringLiteral("SELECT (key)::bigint, payload->>'hash', payload->>'detail' FROM imprint.changes "
                                    "WHERE station_id = $1 AND kind = 'audit-head' ORDER BY (key)::bigint"),
        pg::Params().text(stationId), QStringLiteral("read the station's audit heads"));
    if (!r)
        return std::unexpected(r.error());
    QList<PlantHead> out;
    for (int i = 0; i < r->rows(); ++i) {
        PlantHead h { r->int8(i, 0), r->text(i, 1), {} };
        if (AuditLog::parseCheckpoint(r->text(i, 2), &h.signedHead))
            out.append(h);
    }
    return out;
}

} // namespace imprint::core::plant
