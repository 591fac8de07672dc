#include "plant/PlantDatabase.h"

#include <QJsonDocument>

namespace imprint::core::plant {

namespace {

// The migrations, in order; entry i brings the schema from version i to i+1. Group roles
// are the cluster's: made when missing, never dropped.
const char* const migrations[] = {
    R"SQL(
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'imprint_station') THEN CREATE ROLE imprint_station NOLOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'imprint_qa') THEN CREATE ROLE imprint_qa NOLOGIN; END IF;
END $$;
CREATE SCHEMA imprint;
GRANT USAGE ON SCHEMA imprint TO imprint_station, imprint_qa;
CREATE TABLE imprint.schema_version (version int NOT NULL);
INSERT INTO imprint.schema_version VALUES (0);
GRANT SELECT ON imprint.schema_version TO imprint_station, imprint_qa;

-- Each station: its id (station.ini [station] id), its line, its login role.
CREATE TABLE imprint.stations (
  station_id text PRIMARY KEY,
  line text NOT NULL DEFAULT '',
  name text NOT NULL DEFAULT '',
  role name NOT NULL UNIQUE,
  added timestamptz NOT NULL DEFAULT now());
GRANT SELECT ON imprint.stations TO imprint_station, imprint_qa;
-- The station the connected role is (none for any other role).
CREATE FUNCTION imprint.my_station() RETURNS text LANGUAGE sql STABLE
  AS $f$ SELECT station_id FROM imprint.stations WHERE role = current_user $f$;

-- Every change each station made to what the plant keeps, in the station's order (seq):
-- kind device, job (with its steps), certificate, certificate-state, crl, lot, attempt, audit-head;
-- key: the record's own (device serial, job id, certificate serial, ...); payload: the
-- record as it was then; at: its time. Inserted, never updated nor deleted.
-- What the plant vouches for is computed here, not taken from the station: the digest of
-- what was offered (length-prefixed, every blob in it), and when it arrived.
CREATE FUNCTION imprint.change_digest(payload jsonb, der bytea, request bytea) RETURNS bytea
  LANGUAGE sql IMMUTABLE AS $f$
  SELECT sha256(int8send(octet_length(jsonb_send(payload))) || jsonb_send(payload)
    || int8send(coalesce(octet_length(der), -1)) || coalesce(der, ''::bytea)
    || int8send(coalesce(octet_length(request), -1)) || coalesce(request, ''::bytea)) $f$;
CREATE TABLE imprint.changes (
  station_id text NOT NULL REFERENCES imprint.stations,
  seq bigint NOT NULL,
  kind text NOT NULL,
  key text NOT NULL,
  at timestamptz,
  payload jsonb NOT NULL,
  -- imprint.change_digest, written out: a function call here would start an executor per row.
  payload_sha256 bytea GENERATED ALWAYS AS (sha256(int8send(octet_length(jsonb_send(payload)))
    || jsonb_send(payload) || int8send(coalesce(octet_length(der), -1)) || coalesce(der, ''::bytea)
    || int8send(coalesce(octet_length(request), -1)) || coalesce(request, ''::bytea))) STORED,
  der bytea,
  request bytea,
  received timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (station_id, seq),
  CHECK (kind IN ('device', 'job', 'certificate', 'certificate-state', 'crl', 'lot', 'attempt', 'audit-head')),
  CHECK (kind NOT IN ('job', 'crl', 'attempt', 'audit-head') OR key ~ '^[0-9]{1,18}$'));
-- A time from a station's payload, or nothing when it is not one (a view never fails on it).
CREATE FUNCTION imprint.to_time(t text) RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
  RETURN t::timestamptz;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $f$;
CREATE INDEX changes_by_key ON imprint.changes (key, kind);
CREATE INDEX changes_by_device ON imprint.changes ((payload->>'device_serial'))
  WHERE kind IN ('job', 'certificate');
CREATE INDEX changes_by_public_key ON imprint.changes ((payload->>'spki_sha256')) WHERE kind = 'certificate';
CREATE INDEX changes_by_station_time ON imprint.changes (station_id, at);

-- A change offered under a number the plant already holds with another payload (a station
-- restored from an old backup, a store edited by hand): kept here, never dropped.
CREATE TABLE imprint.conflicts (
  station_id text NOT NULL REFERENCES imprint.stations,
  seq bigint NOT NULL,
  kind text NOT NULL,
  key text NOT NULL,
  held_sha256 bytea NOT NULL,
  offered_sha256 bytea NOT NULL,
  offered jsonb NOT NULL,
  offered_der bytea,
  seen timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (station_id, seq, offered_sha256));

-- Each push: how many rows, and what the station still had to send.
CREATE TABLE imprint.pushes (
  station_id text NOT NULL REFERENCES imprint.stations,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  rows bigint NOT NULL,
  last_seq bigint NOT NULL,
  backlog bigint NOT NULL);
CREATE INDEX pushes_by_station ON imprint.pushes (station_id, at);


-- The CA chain each station issues under (PEM), so a certificate is verified where it is read.
CREATE TABLE imprint.chains (
  station_id text NOT NULL REFERENCES imprint.stations,
  sha256 bytea NOT NULL,
  pem text NOT NULL,
  received timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (station_id, sha256));

DO $$ DECLARE t text; BEGIN
  FOREACH t IN ARRAY ARRAY['changes', 'conflicts', 'pushes', 'chains'] LOOP
    EXECUTE format('ALTER TABLE imprint.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE imprint.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY %I ON imprint.%I FOR SELECT TO imprint_station, imprint_qa USING (true)', t || '_read', t);
    EXECUTE format('CREATE POLICY %I ON imprint.%I FOR INSERT TO imprint_station WITH CHECK (station_id = imprint.my_station())', t || '_own', t);
    EXECUTE format('GRANT SELECT ON imprint.%I TO imprint_station', t);
    EXECUTE format('GRANT SELECT ON imprint.%I TO imprint_qa', t);
  END LOOP;
END $$;
-- A station writes the columns of what it offers; the digest is computed (above) and the
-- arrival and push times are the server's.
GRANT INSERT (station_id, seq, kind, key, at, payload, der, request) ON imprint.changes TO imprint_station;
GRANT INSERT ON imprint.conflicts, imprint.chains TO imprint_station;
GRANT INSERT (station_id, rows, last_seq, backlog) ON imprint.pushes TO imprint_station;

-- What the plant's own tools read: the newest state of each record, and the figures.
CREATE VIEW imprint.devices AS
  SELECT DISTINCT ON (c.station_id, c.key) c.station_id, s.line, c.key AS serial,
    c.payload->>'model' AS model, c.payload->>'firmware' AS firmware, c.payload->>'status' AS status,
    c.payload->>'status_reason' AS status_reason, c.payload->>'lot' AS lot, c.at AS updated
  FROM imprint.changes c JOIN imprint.stations s USING (station_id)
  WHERE c.kind = 'device' ORDER BY c.station_id, c.key, c.seq DESC;
CREATE VIEW imprint.jobs AS
  SELECT DISTINCT ON (c.station_id, c.key) c.station_id, s.line, (c.key)::bigint AS job_id,
    c.payload->>'device_serial' AS device_serial, c.payload->>'port' AS port, c.payload->>'operator' AS operator,
    c.payload->>'lot' AS lot, imprint.to_time(c.payload->>'started') AS started,
    imprint.to_time(c.payload->>'finished') AS finished, c.payload->>'result' AS result, c.payload->>'reason' AS reason
  FROM imprint.changes c JOIN imprint.stations s USING (station_id)
  WHERE c.kind = 'job' ORDER BY c.station_id, c.key, c.seq DESC;
-- The shift a time falls in: 06:00, 14:00 and 22:00 in the database's time zone.
CREATE FUNCTION imprint.shift_of(t timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE
  AS $f$ SELECT date_trunc('day', t - interval '6 hours') + interval '6 hours'
            + floor(extract(epoch FROM (t - interval '6 hours') - date_trunc('day', t - interval '6 hours')) / 28800) * interval '8 hours' $f$;
CREATE VIEW imprint.yield AS
  SELECT station_id, line, lot, imprint.shift_of(finished) AS shift,
    count(*) FILTER (WHERE result = 'passed') AS passed,
    count(*) FILTER (WHERE result = 'failed') AS failed,
    round(100.0 * count(*) FILTER (WHERE result = 'passed')
          / nullif(count(*) FILTER (WHERE result IN ('passed', 'failed')), 0), 1) AS yield_percent,
    min(finished) AS first, max(finished) AS last
  FROM imprint.jobs WHERE finished IS NOT NULL
  GROUP BY station_id, line, lot, imprint.shift_of(finished);
CREATE VIEW imprint.failures AS
  SELECT station_id, line, lot, imprint.shift_of(finished) AS shift, reason, count(*) AS jobs
  FROM imprint.jobs WHERE result = 'failed'
  GROUP BY station_id, line, lot, imprint.shift_of(finished), reason;
GRANT SELECT ON imprint.devices, imprint.jobs, imprint.yield, imprint.failures TO imprint_station, imprint_qa;
)SQL",
    // 2: a catch-up at the speed of the table's indexes. The station a role is, found once
    // per statement, not once per row; the reference from each change to its station, which
    // ran a query per row, gone: the policy already holds a station to its own id. And the
    // witness, as the plant's tools read it: every signed audit head each station pushed.
    R"SQL(
ALTER POLICY changes_own ON imprint.changes WITH CHECK (station_id = (SELECT imprint.my_station()));
ALTER TABLE imprint.changes DROP CONSTRAINT changes_station_id_fkey;
CREATE VIEW imprint.audit_heads AS
  SELECT c.station_id, s.line, (c.key)::bigint AS entry, c.payload->>'hash' AS hash,
    c.payload->>'detail' AS signed_head, imprint.to_time(c.payload->>'at') AS at, c.received
  FROM imprint.changes c JOIN imprint.stations s USING (station_id) WHERE c.kind = 'audit-head';
GRANT SELECT ON imprint.audit_heads TO imprint_station, imprint_qa;
-- A station's time that is not a finite one ("infinity") is none: a view never fails on it.
CREATE OR REPLACE FUNCTION imprint.to_time(t text) RETURNS timestamptz LANGUAGE plpgsql IMMUTABLE AS $f$
DECLARE v timestamptz;
BEGIN
  v := t::timestamptz;
  RETURN CASE WHEN isfinite(v) THEN v END;
EXCEPTION WHEN others THEN
  RETURN NULL;
END $f$;
)SQL",
};

/// The time a change is about, from its payload.
QDateTime changeTime(const QString& kind, const QJsonObject& o)
{
    static const QHash<QString, QString> field { { QStringLiteral("device"), QStringLiteral("updated") },
        { QStringLiteral("job"), QStringLiteral("started") },
        { QStringLiteral("certificate"), QStringLiteral("issued_at") },
        { QStringLiteral("crl"), QStringLiteral("issued") }, { QStringLiteral("lot"), QStringLiteral("created") },
        { QStringLiteral("attempt"), QStringLiteral("finished") },
        { QStringLiteral("audit-head"), QStringLiteral("at") } };
    QString name = field.value(kind);
    if (kind == QStringLiteral("job") && o.value(QStringLiteral("finished")).isString())
        name = QStringLiteral("finished");
    if (name.isEmpty())
        return {};
    return QDateTime::fromString(o.value(name).toString(), Qt::ISODateWithMs);
}

} // namespace

int latestSchema()
{
    return static_cast<int>(std::size(migrations));
}

Result<int> schemaVersion(pg::Connection& db)
{
    auto exists = db.exec(QStringLiteral("SELECT to_regclass('imprint.schema_version') IS NOT NULL"),
        QStringLiteral("read the plant record's schema version"));
    if (!exists)
        return std::unexpected(exists.error());
    if (!exists->boolean(0, 0))
        return 0;
    auto v = db.exec(QStringLiteral("SELECT max(version) FROM imprint.schema_version"),
        QStringLiteral("read the plant record's schema version"));
    if (!v)
        return std::unexpected(v.error());
    return static_cast<int>(v->int8(0, 0));
}

Result<int> migrate(pg::Connection& db)
{
    auto version = schemaVersion(db);
    if (!version)
        return std::unexpected(version.error());
    if (*version > latestSchema())
        return std::unexpected(Error { ErrorCode::BadInput,
            QStringLiteral("The plant record has schema %1, newer than this Imprint knows (%2): upgrade Imprint.")
                .arg(*version)
                .arg(latestSchema()),
            {}, {} });
    for (int v = *version; v < latestSchema(); ++v) {
        const QString what = QStringLiteral("take schema %1").arg(v + 1);
        if (auto r = db.script(QStringLiteral("BEGIN; %1; UPDATE imprint.schema_version SET version = %2; COMMIT;")
                                   .arg(QString::fromUtf8(migrations[v]))
                                   .arg(v + 1),
                what);
            !r) {
            (void)db.script(QStringLiteral("ROLLBACK"), QStringLiteral("roll back"));
            return std::unexpected(r.error());
        }
    }
    return latestSchema();
}

Result<QString> addStation(
    pg::Connection& db, const QString& stationId, const QString& line, const QString& name, const Secret& password)
{
    const QString role = QStringLiteral("imprint_station_%1").arg(QString(stationId).toLower().remove(u'-'));
    const QString what = QStringLiteral("add station %1").arg(stationId);
    // CREATE ROLE takes no parameters: the name and the password's SCRAM verifier (made here:
    // the clear password never reaches the server, nor its log) are quoted by libpq.
    auto pw = db.passwordVerifier(password, role);
    if (!pw)
        return std::unexpected(pw.error());
    const QString create = QStringLiteral(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = %1) THEN CREATE ROLE %2 LOGIN; END IF; END "
        "$$; ALTER ROLE %2 LOGIN CONNECTION LIMIT 8 PASSWORD %3; GRANT imprint_station TO %2;")
                               .arg(db.quoteLiteral(role.toUtf8()), db.quoteIdentifier(role), db.quoteLiteral(*pw));
    if (auto r = db.script(QStringLiteral("BEGIN; ") + create, what); !r) {
        (void)db.script(QStringLiteral("ROLLBACK"), QStringLiteral("roll back"));
        return std::unexpected(r.error());
    }
    auto r
        = db.exec(QStringLiteral("INSERT INTO imprint.stations(station_id, line, name, role) VALUES($1, $2, $3, $4) "
                                 "ON CONFLICT (station_id) DO UPDATE SET line = excluded.line, name = excluded.name"),
            pg::Params().text(stationId).text(line).text(name).text(role), what);
    if (!r) {
        (void)db.script(QStringLiteral("ROLLBACK"), QStringLiteral("roll back"));
        return std::unexpected(r.error());
    }
    if (auto c = db.script(QStringLiteral("COMMIT"), what); !c)
        return std::unexpected(c.error());
    return role;
}

Result<void> grantQa(pg::Connection& db, const QString& role)
{
    return db.script(QStringLiteral("GRANT imprint_qa TO %1").arg(db.quoteIdentifier(role)),
        QStringLiteral("give %1 QA's reading rights").arg(role));
}

namespace {

const QString& pushWhat()
{
    static const QString what = QStringLiteral("take the station's changes");
    return what;
}

} // namespace

Result<SentPush> sendPush(pg::Connection& db, const QString& stationId, const QList<PlantChange>& changes,
    qint64 backlog, const QByteArray& chainPem)
{
    // An error anywhere skips the rest of this unit (the pipeline's), COMMIT included: the
    // transaction is rolled back, and its answer says why.
    const QString& what = pushWhat();
    SentPush sent;
    if (auto r = db.send(QStringLiteral("BEGIN"), {}, what); !r)
        return std::unexpected(r.error());
    if (!chainPem.isEmpty()) {
        sent.chain = true;
        auto r = db.send(QStringLiteral("INSERT INTO imprint.chains(station_id, sha256, pem) VALUES($1, "
                                        "sha256(convert_to($2, 'UTF8')), $2) ON CONFLICT DO NOTHING"),
            pg::Params().text(stationId).text(QString::fromLatin1(chainPem)),
            QStringLiteral("take the station's chain"));
        if (!r)
            return std::unexpected(r.error());
    }
    constexpr int Columns = 8;
    constexpr qsizetype RowsPerStatement = 1000;
    for (qsizetype from = 0; from < changes.size(); from += RowsPerStatement) {
        const qsizetype n = std::min(RowsPerStatement, changes.size() - from);
        pg::Params p;
        p.text(stationId);
        QString values;
        values.reserve(n * 60);
        for (qsizetype i = 0; i < n; ++i) {
            const PlantChange& c = changes[from + i];
            const QJsonObject o = QJsonDocument::fromJson(c.payload).object();
            // A NUL cannot be in PostgreSQL's text: written as U+FFFD, so that a hand-edited
            // store never stops the queue.
            QByteArray payload = c.payload;
            payload.replace("\\u0000", "\\ufffd");
            p.int8(c.seq)
                .text(c.kind)
                .text(QString(c.key).replace(QChar(0), QChar(0xfffd)))
                .time(changeTime(c.kind, o))
                .jsonb(payload);
            if (c.der.isEmpty() && c.upstreamDer.isEmpty())
                p.null(17);
            else
                p.bytes(c.der.isEmpty() ? c.upstreamDer : c.der);
            if (c.request.isEmpty())
                p.null(17);
            else
                p.bytes(c.request);
            const int b = static_cast<int>(2 + i * (Columns - 1));
            values += QStringLiteral("%1($1, $%2, $%3, $%4, $%5, $%6, $%7, $%8)")
                          .arg(i ? QStringLiteral(", ") : QString())
                          .arg(b)
                          .arg(b + 1)
                          .arg(b + 2)
                          .arg(b + 3)
                          .arg(b + 4)
                          .arg(b + 5)
                          .arg(b + 6);
        }
        // One statement: the new rows go in; those the plant holds already are compared,
        // and any that differ are kept aside (the CTE's join sees the rows from before it).
        // A full statement is prepared once per connection; a last, shorter one runs as it is.
        const QString statement = QStringLiteral(
            "WITH offered(station_id, seq, kind, key, at, payload, der, request) AS (VALUES %1), "
            "added AS (INSERT INTO imprint.changes(station_id, seq, kind, key, at, payload, der, request) "
            "SELECT * FROM offered ON CONFLICT (station_id, seq) DO NOTHING RETURNING seq), "
            // Each offered row not taken looked up by its key (a subquery per row, never a
            // join the planner could turn into a scan of the whole table); its digest
            // computed only when the plant holds the row already. A catch-up looks up none.
            "held AS (SELECT o.*, (SELECT c.payload_sha256 FROM imprint.changes c WHERE c.station_id = "
            "o.station_id AND c.seq = o.seq) AS held FROM offered o WHERE NOT EXISTS (SELECT FROM added a "
            "WHERE a.seq = o.seq)), "
            "differing AS (SELECT *, imprint.change_digest(payload, der, request) AS digest FROM held WHERE "
            "held IS NOT NULL AND held <> imprint.change_digest(payload, der, request)), "
            "flagged AS (INSERT INTO imprint.conflicts(station_id, seq, kind, key, held_sha256, offered_sha256, "
            "offered, offered_der) SELECT station_id, seq, kind, key, held, digest, payload, der FROM "
            "differing ON CONFLICT DO NOTHING RETURNING 1) "
            "SELECT (SELECT count(*) FROM added), (SELECT count(*) FROM flagged), "
            "(SELECT count(*) FROM differing)")
                                      .arg(values);
        auto r = n == RowsPerStatement ? db.sendPrepared(QStringLiteral("imprint_push_%1").arg(n), statement, p, what)
                                       : db.send(statement, p, what);
        if (!r)
            return std::unexpected(r.error());
        sent.statements << n;
    }
    if (!changes.isEmpty()) {
        sent.record = true;
        auto r = db.send(QStringLiteral("INSERT INTO imprint.pushes(station_id, rows, last_seq, backlog) VALUES($1, "
                                        "$2, $3, $4)"),
            pg::Params().text(stationId).int8(changes.size()).int8(changes.last().seq).int8(backlog),
            QStringLiteral("record the push"));
        if (!r)
            return std::unexpected(r.error());
    }
    if (auto r = db.send(QStringLiteral("COMMIT"), {}, what); !r)
        return std::unexpected(r.error());
    if (auto r = db.sync(what); !r)
        return std::unexpected(r.error());
    return sent;
}

Result<Pushed> receivePush(pg::Connection& db, const SentPush& sent)
{
    const QString& what = pushWhat();
    // The first error of the unit is its answer (the rest of it was skipped): the caller
    // drops the connection then, and what it sent goes again on a new one.
    auto step = [&](const QString& doing) { return db.receive(doing); };
    if (auto r = step(what); !r)
        return std::unexpected(r.error());
    if (sent.chain) {
        if (auto r = step(QStringLiteral("take the station's chain")); !r)
            return std::unexpected(r.error());
    }
    Pushed pushed;
    for (const qsizetype n : sent.statements) {
        auto r = step(what);
        if (!r)
            return std::unexpected(r.error());
        pushed.rows += r->int8(0, 0);
        const qint64 differing = r->int8(0, 2);
        pushed.flagged += differing;
        pushed.again += n - r->int8(0, 0) - differing;
    }
    if (sent.record) {
        if (auto r = step(QStringLiteral("record the push")); !r)
            return std::unexpected(r.error());
    }
    // Committed only when COMMIT says so.
    auto committed = step(what);
    if (!committed)
        return std::unexpected(committed.error());
    if (committed->command() != QStringLiteral("COMMIT"))
        return std::unexpected(Error { ErrorCode::Io,
            QStringLiteral("The plant database rolled the station's changes back (%1).").arg(committed->command()), {},
            {} });
    if (auto r = db.receiveSync(what); !r)
        return std::unexpected(r.error());
    return pushed;
}

} // namespace imprint::core::plant
