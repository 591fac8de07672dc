#include "store/RecordStore.h"

#include "store/Schema.h"

#include <QAtomicInteger>
#include <QFileInfo>
#include <QStorageInfo>

namespace imprint::core {

RecordStore::RecordStore(Connection connection)
    : m_connection(connection)
    , m_jobs(connection)
    , m_ledger(connection)
    , m_audit(connection)
    , m_outbox(connection)
    , m_lots(connection)
    , m_signIns(connection)
    , m_plant(connection)
    , m_records(connection)
{
}

RecordStore::RecordStore(RecordStore&& other) noexcept
    : RecordStore(std::exchange(other.m_connection, {}))
{
}

RecordStore::~RecordStore()
{
    if (m_connection.name().isEmpty())
        return;
    // A process's last word in the log is sealed: what this connection appended since the
    // last checkpoint gets one now, with the audit key (when this process has it).
    AuditLog::sealOnClose(m_connection);
    {
        QSqlDatabase db = m_connection.db();
        db.close();
    }
    QSqlDatabase::removeDatabase(m_connection.name());
}

Result<RecordStore> RecordStore::open(const QString& path, bool readOnly)
{
    static QAtomicInteger<quint64> counter;
    const QString name = QStringLiteral("imprint-store-%1").arg(counter.fetchAndAddRelaxed(1));
    // The store first: on an error return its destructor removes the connection after
    // `db` (declared after it) has let go of it.
    if (readOnly && !QFileInfo::exists(path))
        return fail(ErrorCode::NotFound,
            QStringLiteral("There are no records yet: %1 is made when the station first records something "
                           "(provision, issue or sign-batch).")
                .arg(path));
    RecordStore store { Connection(name) };
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
    db.setDatabaseName(path);
    db.setConnectOptions(readOnly ? QStringLiteral("QSQLITE_OPEN_READONLY;QSQLITE_BUSY_TIMEOUT=5000")
                                  : QStringLiteral("QSQLITE_BUSY_TIMEOUT=5000"));
    if (!db.open())
        return sql::fail(QStringLiteral("open %1").arg(path), db.lastError());

    // A file that is not an SQLite database, or one SQLite finds corrupt, is said as such.
    auto refuse = [&path](const QString& what, const QSqlError& e) -> std::unexpected<Error> {
        const QString code = e.nativeErrorCode();
        if (code == QLatin1String("26") || code == QLatin1String("11"))
            return fail(ErrorCode::Store,
                QStringLiteral("The record store %1 is damaged (%2); nothing was changed. Restore it from a backup "
                               "(imprintctl restore --in FILE --data-dir DIR).")
                    .arg(path,
                        code == QLatin1String("26") ? QStringLiteral("it is not a database")
                                                    : QStringLiteral("SQLite finds it corrupt")),
                e.text());
        // SQLite needs a little room beside the store (its WAL index) even to read it.
        const QStorageInfo disk(QFileInfo(path).absolutePath());
        if (disk.isValid() && disk.bytesAvailable() < 1024 * 1024)
            return fail(ErrorCode::Io,
                QStringLiteral(
                    "The record store %1 cannot be opened: the disk holding it is full. Nothing was changed. "
                    "Free some space on that disk (or move the data directory to a larger one) and try "
                    "again.")
                    .arg(path),
                e.text(), QStringLiteral("disk-full"));
        return sql::fail(what, e);
    };
    QSqlQuery q(db);
    // WAL lets QA read while the line writes; synced transactions (see Durability) survive
    // a power cut, the others are written at once and synced with the next synced one.
    // A 64 MiB page cache (the default is 2 MiB): a store of a million devices keeps its
    // indexes' upper levels in memory. Temporary data in memory: a statement that fires the
    // plant record's triggers keeps its statement journal there, not in a file written for
    // every row (a batch of 50,000 certificates wrote 4 GB of them).
    for (const char* pragma : { "PRAGMA foreign_keys = ON", "PRAGMA synchronous = NORMAL", "PRAGMA cache_size = -65536",
             "PRAGMA temp_store = MEMORY" }) {
        if (!q.exec(QString::fromLatin1(pragma)))
            return refuse(QStringLiteral("be configured"), q.lastError());
    }
    if (!readOnly && !q.exec(QStringLiteral("PRAGMA journal_mode = WAL")))
        return refuse(QStringLiteral("switch to WAL"), q.lastError());
    // Reading the schema reads the file's first pages: a damaged header shows here.
    if (!q.exec(QStringLiteral("SELECT COUNT(*) FROM sqlite_schema")))
        return refuse(QStringLiteral("be read"), q.lastError());
    q.finish(); // the pragma's answer row would hold a statement open across the migrations

    const int version = store.schemaVersion();
    if (version > schema::latest())
        return fail(ErrorCode::Store,
            QStringLiteral("The record store was written by a newer Imprint (schema %1; this one knows %2).")
                .arg(version)
                .arg(schema::latest()));
    if (readOnly) {
        if (version < schema::latest())
            return fail(ErrorCode::Store,
                QStringLiteral("The record store %1 is at schema %2 and needs the upgrade to schema %3, which a "
                               "command that only reads does not write. Run any command that records (or start "
                               "the station) once with write access to the data directory.")
                    .arg(path)
                    .arg(version)
                    .arg(schema::latest()),
                {}, QStringLiteral("needs-upgrade"));
        return store;
    }
    if (auto r = schema::migrate(store.m_connection, version); !r)
        return std::unexpected(r.error());
    // Entries an earlier process left under no checkpoint (it was killed, or wrote without
    // the audit key) are sealed by the first process that has the key.
    if (AuditLog::sealing()) {
        if (auto r = store.audit().seal(); !r)
            return std::unexpected(r.error());
    }
    return store;
}

void RecordStore::setCacheSize(int mebibytes)
{
    QSqlQuery(m_connection.db()).exec(QStringLiteral("PRAGMA cache_size = -%1").arg(std::max(1, mebibytes) * 1024));
}

void RecordStore::setCheckpointEvery(int mebibytes)
{
    QSqlQuery q(m_connection.db());
    const int pageSize = q.exec(QStringLiteral("PRAGMA page_size")) && q.next() ? q.value(0).toInt() : 4096;
    q.finish();
    q.exec(QStringLiteral("PRAGMA wal_autocheckpoint = %1")
               .arg(qint64(std::max(1, mebibytes)) * 1024 * 1024 / std::max(512, pageSize)));
}

void RecordStore::checkpoint()
{
    QSqlQuery(m_connection.db()).exec(QStringLiteral("PRAGMA wal_checkpoint(PASSIVE)"));
}

Result<void> RecordStore::snapshotTo(const QString& path) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q, QStringLiteral("VACUUM INTO ?"), { path }))
        return sql::fail(QStringLiteral("be copied for the backup"), q.lastError());
    return {};
}

Result<QString> RecordStore::stationId() const
{
    auto id = sql::scalar(m_connection, QStringLiteral("SELECT id FROM station LIMIT 1"), {},
        QStringLiteral("read which station it belongs to"));
    if (!id)
        return std::unexpected(id.error());
    return id->toString();
}

Result<QString> RecordStore::claimStationId(const QString& id)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    if (!sql::exec(
            q, QStringLiteral("INSERT INTO station(id) SELECT ? WHERE NOT EXISTS (SELECT 1 FROM station)"), { id })
        || !sql::exec(q, QStringLiteral("SELECT id FROM station LIMIT 1"), {}) || !q.next())
        return sql::fail(QStringLiteral("record which station it belongs to"), q.lastError());
    const QString kept = q.value(0).toString();
    q.finish();
    if (!tx.commit())
        return sql::fail(QStringLiteral("record which station it belongs to"), tx.error());
    return kept;
}

int RecordStore::schemaVersion() const
{
    auto version = sql::scalar(m_connection, QStringLiteral("PRAGMA user_version"), {}, QStringLiteral("be read"));
    return version ? version->toInt() : -1;
}

} // namespace imprint::core
