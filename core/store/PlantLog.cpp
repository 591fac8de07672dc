#include "store/PlantLog.h"

namespace imprint::core {

namespace {

/// Each record as the plant keeps it, read as it is now: a JSON object per change of the
/// batch (a job with its steps). Values are cast to their columns' types, so that a value of
/// another type written behind the station's back is sent as text, never refused.
const QString Compose = QStringLiteral(R"(
SELECT l.seq, CASE l.kind
  WHEN 'device' THEN (SELECT json_object('serial', CAST(serial AS TEXT), 'model', CAST(model AS TEXT),
      'firmware', CAST(firmware AS TEXT), 'status', CAST(status AS TEXT), 'status_reason', CAST(status_reason AS TEXT),
      'lot', CAST(lot AS TEXT), 'first_seen', CAST(first_seen AS TEXT), 'updated', CAST(updated AS TEXT))
    FROM devices WHERE serial = l.key)
  WHEN 'job' THEN (SELECT json_object('id', CAST(j.id AS INTEGER), 'device_serial', CAST(j.device_serial AS TEXT),
      'port', CAST(j.port AS TEXT), 'operator', CAST(j.operator AS TEXT), 'lot', CAST(j.lot AS TEXT),
      'started', CAST(j.started AS TEXT), 'finished', CAST(j.finished AS TEXT), 'result', CAST(j.result AS TEXT),
      'reason', CAST(j.reason AS TEXT),
      'steps', (SELECT json_group_array(json(s)) FROM (SELECT json_object('id', CAST(id AS INTEGER), 'step',
          CAST(step AS TEXT), 'status', CAST(status AS TEXT), 'detail', CAST(detail AS TEXT), 'at', CAST(at AS TEXT)) AS s
        FROM job_steps WHERE job_id = j.id ORDER BY id)))
    FROM jobs j WHERE j.id = CAST(l.key AS INTEGER))
  WHEN 'certificate' THEN (SELECT json_object('serial', CAST(serial AS TEXT), 'device_serial',
      CAST(device_serial AS TEXT), 'job_id', CAST(job_id AS INTEGER), 'sha256', CAST(sha256 AS TEXT), 'spki_sha256',
      CAST(spki_sha256 AS TEXT), 'issued_at', CAST(issued_at AS TEXT))
    FROM certificates WHERE serial = l.key)
  WHEN 'certificate-state' THEN (SELECT json_object('serial', CAST(serial AS TEXT), 'state', CAST(state AS TEXT),
      'revocation_reason', CAST(revocation_reason AS INTEGER), 'upstream', upstream_der IS NOT NULL)
    FROM certificates WHERE serial = l.key)
  WHEN 'crl' THEN (SELECT json_object('number', CAST(number AS INTEGER), 'issued', CAST(issued AS TEXT),
      'next_update', CAST(next_update AS TEXT)) FROM crls WHERE number = CAST(l.key AS INTEGER))
  WHEN 'lot' THEN (SELECT json_object('id', CAST(id AS TEXT), 'profile', CAST(profile AS TEXT), 'expected',
      CAST(expected AS INTEGER), 'note', CAST(note AS TEXT), 'created', CAST(created AS TEXT), 'closed',
      CAST(closed AS TEXT)) FROM lots WHERE id = l.key)
  WHEN 'attempt' THEN (SELECT json_object('id', CAST(id AS INTEGER), 'port', CAST(port AS TEXT), 'operator',
      CAST(operator AS TEXT), 'lot', CAST(lot AS TEXT), 'started', CAST(started AS TEXT), 'finished',
      CAST(finished AS TEXT), 'code', CAST(code AS TEXT), 'reason', CAST(reason AS TEXT), 'claimed_serial',
      CAST(claimed_serial AS TEXT)) FROM attempts WHERE id = CAST(l.key AS INTEGER))
  WHEN 'audit-head' THEN (SELECT json_object('seq', CAST(seq AS INTEGER), 'at', CAST(at AS TEXT), 'hash',
      CAST(hash AS TEXT), 'detail', CAST(detail AS TEXT)) FROM audit WHERE seq = CAST(l.key AS INTEGER))
  END
FROM plant_log l WHERE l.seq > ? ORDER BY l.seq LIMIT ?)");

/// The batch in flight (composed before), with the blobs its records carry (never changed
/// once written: a certificate and its request, a CRL, the upstream's certificate). Read from
/// plant_sent outward (CROSS JOIN keeps that order): driven from plant_log, finding nothing in
/// flight would walk the whole backlog, for every batch.
const QString InFlight = QStringLiteral(
    "SELECT l.seq, l.kind, l.key, s.payload, CASE l.kind WHEN 'certificate' THEN c.der ELSE r.der END, "
    "CASE l.kind WHEN 'certificate' THEN c.request END, "
    "CASE WHEN l.kind = 'certificate-state' THEN c.upstream_der END "
    "FROM plant_sent s CROSS JOIN plant_log l ON l.seq = s.seq "
    "LEFT JOIN certificates c ON l.kind IN ('certificate', 'certificate-state') AND c.serial = l.key "
    "LEFT JOIN crls r ON l.kind = 'crl' AND r.number = CAST(l.key AS INTEGER) WHERE s.seq > ? ORDER BY s.seq LIMIT ?");

} // namespace

Result<QList<PlantChange>> PlantLog::next(int limit, qint64 after)
{
    const QString what = QStringLiteral("read the changes the plant record has not got");
    auto read = [&] {
        return sql::rows<PlantChange>(
            m_connection, InFlight, { after, limit }, what, [](const QSqlQuery& q, sql::States&) {
                return PlantChange { q.value(0).toLongLong(), q.value(1).toString(), q.value(2).toString(),
                    q.value(3).toString().toUtf8(), q.value(4).toByteArray(), q.value(5).toByteArray(),
                    q.value(6).toByteArray() };
            });
    };
    // Batches cut before the plant answered go again exactly as they went, a batch at a time.
    auto pending = read();
    if (!pending || !pending->isEmpty())
        return pending;
    Transaction tx(m_connection);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    if (!sql::exec(q, Compose, { after, limit }))
        return sql::fail(what, q.lastError());
    Statement keep(tx.db(), QStringLiteral("INSERT INTO plant_sent(seq, payload) VALUES(?, ?)"));
    while (q.next()) {
        // A record gone from its table (never, unless edited by hand) goes as an empty object.
        const QString payload = q.value(1).isNull() ? QStringLiteral("{}") : q.value(1).toString();
        if (!keep.run({ q.value(0), payload }))
            return sql::fail(what, keep.error());
    }
    q.finish();
    if (!tx.commit())
        return sql::fail(what, tx.error());
    return read();
}

Result<void> PlantLog::pushed(qint64 seq, qint64 count)
{
    Transaction tx(m_connection);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const QString t = sql::now();
    if (!sql::exec(q, QStringLiteral("DELETE FROM plant_log WHERE seq <= ?"), { seq })
        || !sql::exec(q, QStringLiteral("DELETE FROM plant_sent WHERE seq <= ?"), { seq })
        || !sql::exec(q,
            QStringLiteral("INSERT INTO plant_contact(id, attempted, reached, last_error, pushed) VALUES(1, ?, ?, '', "
                           "?) ON CONFLICT(id) DO UPDATE SET attempted = excluded.attempted, reached = "
                           "excluded.reached, last_error = '', pushed = pushed + excluded.pushed"),
            { t, t, count }))
        return sql::fail(QStringLiteral("mark the changes the plant record committed"), q.lastError());
    if (!tx.commit())
        return sql::fail(QStringLiteral("mark the changes the plant record committed"), tx.error());
    return {};
}

Result<void> PlantLog::failed(const QString& error)
{
    Transaction tx(m_connection);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    if (!sql::exec(q,
            QStringLiteral("INSERT INTO plant_contact(id, attempted, last_error) VALUES(1, ?, ?) ON CONFLICT(id) DO "
                           "UPDATE SET attempted = excluded.attempted, last_error = excluded.last_error"),
            { sql::now(), error }))
        return sql::fail(QStringLiteral("record the plant record's contact"), q.lastError());
    if (!tx.commit())
        return sql::fail(QStringLiteral("record the plant record's contact"), tx.error());
    return {};
}

Result<qint64> PlantLog::backlog() const
{
    return sql::count(m_connection, QStringLiteral("SELECT COUNT(*) FROM plant_log"),
        QStringLiteral("count the changes the plant record has not got"));
}

Result<PlantContact> PlantLog::contact() const
{
    auto c = sql::first<PlantContact>(m_connection,
        QStringLiteral("SELECT attempted, reached, last_error FROM plant_contact WHERE id = 1"), {},
        QStringLiteral("read the plant record's contact"), [](const QSqlQuery& q, sql::States&) {
            return PlantContact { sql::parseTime(q.value(0)), sql::parseTime(q.value(1)), q.value(2).toString() };
        });
    if (!c)
        return std::unexpected(c.error());
    return c->value_or(PlantContact {});
}

} // namespace imprint::core
