#pragma once

// The plant record: every station's records in one PostgreSQL database the plant runs.
// One table of changes, as each station's queue made them (store/PlantLog.h), keyed by
// station and the station's own number for the change; views over it give the devices,
// jobs, certificates and figures as they stand now. Rights are the database's: each
// station's role may insert its own station's rows only (row-level security), never update
// or delete; QA's role reads.

#include "Error.h"
#include "plant/Pg.h"
#include "store/PlantLog.h"

#include <QJsonObject>

namespace imprint::core::plant {

/// The schema this Imprint knows; `migrate` brings a database to it.
[[nodiscard]] int latestSchema();
/// The database's schema version (0: none).
[[nodiscard]] Result<int> schemaVersion(pg::Connection& db);
/// Applies the migrations the database has not had, each in a transaction of its own;
/// needs a role that may create schemas and roles (the plant's administrator).
[[nodiscard]] Result<int> migrate(pg::Connection& db);

/// Adds a station: a login role of its own (named from the station id), with `password`,
/// member of imprint_station; its rows will say `line`. Returns the role's name.
[[nodiscard]] Result<QString> addStation(
    pg::Connection& db, const QString& stationId, const QString& line, const QString& name, const Secret& password);
/// Gives a person's or tool's login role QA's read-only rights.
[[nodiscard]] Result<void> grantQa(pg::Connection& db, const QString& role);

/// What one push did.
struct Pushed {
    qint64 rows = 0; ///< new in the plant record
    qint64 again = 0; ///< already there with the same payload (a push repeated)
    qint64 flagged = 0; ///< already there with another payload: kept aside as conflicts
};

/// A push sent down the connection's pipeline (pg::Connection::beginPipeline), its answer
/// still to come.
struct SentPush {
    QList<qsizetype> statements; ///< the rows each statement of changes carries
    bool chain = false; ///< the chain went with it
    bool record = false; ///< a row of imprint.pushes went with it
};

/// Sends `changes` of station `stationId` as one transaction, without waiting for it: each
/// new one inserted, one already there with the same payload passed over, one with another
/// payload flagged (kept in imprint.conflicts, with what was offered). `chain` (the station's
/// CA chain, PEM) is recorded once. `backlog`: what is left at the station after these.
[[nodiscard]] Result<SentPush> sendPush(pg::Connection& db, const QString& stationId, const QList<PlantChange>& changes,
    qint64 backlog, const QByteArray& chainPem);
/// Reads the answer to a push sent before (in the order they were sent): what it did, once
/// the plant has committed it.
[[nodiscard]] Result<Pushed> receivePush(pg::Connection& db, const SentPush& sent);

/// One station as the plant record sees it.
struct StationState {
    QString stationId;
    QString line;
    QString name;
    QString role;
    QDateTime lastPush;
    qint64 backlog = 0; ///< as its last push said
    qint64 rows = 0;
    qint64 auditHead = 0; ///< the newest signed audit head's entry number
    QString auditHash;
    qint64 conflicts = 0;
};
[[nodiscard]] Result<QList<StationState>> stations(pg::Connection& db);

/// A device's whole story as the plant record holds it (the newest station that made or
/// worked on it first), as JSON: station, line, device, jobs with steps, certificates with
/// their state, upstream answer and the issuing station's chain; empty when none has it.
[[nodiscard]] Result<QJsonObject> device(pg::Connection& db, const QString& serial);
/// The figures of the jobs finished in the last 7 days, each job as it stands: "yield"
/// (station_id, line, lot, shift, passed, failed), "lines" (line, passed, failed), "rate"
/// (line, hour, passed; the last 24 hours) and "failures" (reason, jobs; most first).
[[nodiscard]] Result<QJsonObject> figures(pg::Connection& db);

/// A signed audit head the plant holds: the checkpoint entry itself (its number and hash in
/// the chain) and what it signed (the entry before it, with the key and the signature).
struct PlantHead {
    qint64 seq = 0;
    QString hash;
    AuditCheckpoint signedHead;
};
/// The signed audit heads the plant holds for a station, oldest first.
[[nodiscard]] Result<QList<PlantHead>> auditHeads(pg::Connection& db, const QString& stationId);

} // namespace imprint::core::plant
