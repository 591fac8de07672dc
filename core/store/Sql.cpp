#include "store/Sql.h"

#include <QSqlDriver>

#include <sqlite3.h>

namespace imprint::core {

Transaction::Transaction(const Connection& connection, Durability durability)
    : m_db(connection.db())
    , m_synced(durability == Durability::Synced)
{
    QSqlQuery q(m_db);
    // IMMEDIATE: the write lock is taken (waiting up to the busy timeout) before anything
    // is read, so another writer (imprintctl beside the station) cannot invalidate what
    // this transaction read. Not active: the caller writes nothing.
    m_active = (!m_synced || q.exec(QStringLiteral("PRAGMA synchronous = FULL")))
        && q.exec(QStringLiteral("BEGIN IMMEDIATE"));
    if (!m_active)
        m_error = q.lastError();
}

Transaction::~Transaction()
{
    if (m_active)
        QSqlQuery(m_db).exec(QStringLiteral("ROLLBACK"));
    if (m_synced)
        QSqlQuery(m_db).exec(QStringLiteral("PRAGMA synchronous = NORMAL"));
}

ReadTransaction::ReadTransaction(const Connection& connection)
    : m_db(connection.db())
{
    m_active = QSqlQuery(m_db).exec(QStringLiteral("BEGIN DEFERRED"));
}

ReadTransaction::~ReadTransaction()
{
    // Never left open: a read held would show the next lookups an old state of the store.
    if (m_active && !QSqlQuery(m_db).exec(QStringLiteral("COMMIT")))
        QSqlQuery(m_db).exec(QStringLiteral("ROLLBACK"));
}

void Transaction::requireSync()
{
    // The connection's synchronous level applies when the transaction commits.
    if (!m_synced && m_active)
        m_synced = QSqlQuery(m_db).exec(QStringLiteral("PRAGMA synchronous = FULL"));
}

bool Transaction::commit()
{
    QSqlQuery q(m_db);
    if (!m_active || !q.exec(QStringLiteral("COMMIT"))) {
        if (m_active)
            m_error = q.lastError();
        return false; // still active: the destructor rolls back
    }
    m_active = false;
    return true;
}

Statement::Statement(QSqlDatabase db, QString sql)
    : m_sql(std::move(sql))
{
    const QVariant handle = db.driver() ? db.driver()->handle() : QVariant();
    if (handle.isValid() && qstrcmp(handle.typeName(), "sqlite3*") == 0)
        m_db = *static_cast<sqlite3* const*>(handle.constData());
}

Statement::~Statement()
{
    sqlite3_finalize(m_statement);
}

Statement::Statement(Statement&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr))
    , m_statement(std::exchange(other.m_statement, nullptr))
    , m_sql(std::move(other.m_sql))
    , m_error(std::move(other.m_error))
    , m_step(other.m_step)
    , m_firstRowPending(other.m_firstRowPending)
{
}

bool Statement::run(const QVariantList& values)
{
    m_firstRowPending = false;
    if (!m_db) {
        m_error = QStringLiteral("the record store is not open");
        return false;
    }
    if (!m_statement) {
        const QByteArray sql = m_sql.toUtf8();
        if (sqlite3_prepare_v3(
                m_db, sql.constData(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &m_statement, nullptr)
            != SQLITE_OK) {
            m_error = QString::fromUtf8(sqlite3_errmsg(m_db));
            m_statement = nullptr;
            return false;
        }
    } else {
        sqlite3_reset(m_statement);
    }
    sqlite3_clear_bindings(m_statement);
    for (qsizetype i = 0; i < values.size(); ++i) {
        const QVariant& v = values[i];
        const int at = static_cast<int>(i) + 1;
        int rc = SQLITE_OK;
        switch (v.typeId()) {
        case QMetaType::QString: {
            const QByteArray utf8 = v.toString().toUtf8();
            rc = sqlite3_bind_text64(m_statement, at, utf8.constData(), static_cast<sqlite3_uint64>(utf8.size()),
                SQLITE_TRANSIENT, SQLITE_UTF8);
            break;
        }
        case QMetaType::QByteArray: {
            // A null QByteArray is NULL (a NOT NULL column refuses it), as QtSql bound it.
            const QByteArray bytes = v.toByteArray();
            rc = bytes.isNull() ? sqlite3_bind_null(m_statement, at)
                                : sqlite3_bind_blob64(m_statement, at, bytes.constData(),
                                    static_cast<sqlite3_uint64>(bytes.size()), SQLITE_TRANSIENT);
            break;
        }
        case QMetaType::Bool:
        case QMetaType::Char:
        case QMetaType::SChar:
        case QMetaType::UChar:
        case QMetaType::Short:
        case QMetaType::UShort:
        case QMetaType::Int:
        case QMetaType::UInt:
        case QMetaType::Long:
        case QMetaType::ULong:
        case QMetaType::LongLong:
        case QMetaType::ULongLong: rc = sqlite3_bind_int64(m_statement, at, v.toLongLong()); break;
        case QMetaType::Double: rc = sqlite3_bind_double(m_statement, at, v.toDouble()); break;
        default:
            rc = v.isNull() ? sqlite3_bind_null(m_statement, at) : [&] {
                const QByteArray utf8 = v.toString().toUtf8();
                return sqlite3_bind_text64(m_statement, at, utf8.constData(), static_cast<sqlite3_uint64>(utf8.size()),
                    SQLITE_TRANSIENT, SQLITE_UTF8);
            }();
        }
        if (rc != SQLITE_OK) {
            m_error = QString::fromUtf8(sqlite3_errmsg(m_db));
            return false;
        }
    }
    m_step = sqlite3_step(m_statement);
    if (m_step != SQLITE_ROW && m_step != SQLITE_DONE) {
        m_error = QString::fromUtf8(sqlite3_errmsg(m_db));
        sqlite3_reset(m_statement);
        return false;
    }
    m_error.clear();
    m_firstRowPending = m_step == SQLITE_ROW;
    return true;
}

bool Statement::next()
{
    if (!m_statement)
        return false;
    if (m_firstRowPending) {
        m_firstRowPending = false;
        return true;
    }
    if (m_step != SQLITE_ROW)
        return false;
    m_step = sqlite3_step(m_statement);
    if (m_step != SQLITE_ROW && m_step != SQLITE_DONE)
        m_error = QString::fromUtf8(sqlite3_errmsg(m_db));
    return m_step == SQLITE_ROW;
}

QVariant Statement::value(int column) const
{
    if (!m_statement || m_step != SQLITE_ROW)
        return {};
    switch (sqlite3_column_type(m_statement, column)) {
    case SQLITE_INTEGER: return QVariant(static_cast<qint64>(sqlite3_column_int64(m_statement, column)));
    case SQLITE_FLOAT: return QVariant(sqlite3_column_double(m_statement, column));
    case SQLITE_BLOB:
        return QVariant(QByteArray(static_cast<const char*>(sqlite3_column_blob(m_statement, column)),
            sqlite3_column_bytes(m_statement, column)));
    case SQLITE_TEXT:
        return QVariant(QString::fromUtf8(reinterpret_cast<const char*>(sqlite3_column_text(m_statement, column)),
            sqlite3_column_bytes(m_statement, column)));
    default: return {};
    }
}

qint64 Statement::changes() const
{
    return m_db ? sqlite3_changes64(m_db) : 0;
}

qint64 Statement::lastInsertId() const
{
    return m_db ? sqlite3_last_insert_rowid(m_db) : 0;
}

void Statement::reset()
{
    m_firstRowPending = false;
    m_step = SQLITE_DONE;
    if (m_statement)
        sqlite3_reset(m_statement);
}

QSqlError Statement::error() const
{
    return m_error.isEmpty() ? QSqlError() : QSqlError(QString(), m_error, QSqlError::StatementError);
}

namespace sql {

bool exec(QSqlQuery& q, const QString& statement, const QVariantList& values)
{
    if (!q.prepare(statement))
        return false;
    for (const auto& v : values) {
        if (v.typeId() == QMetaType::QString && v.toString().isNull())
            q.addBindValue(QStringLiteral(""));
        else
            q.addBindValue(v);
    }
    return q.exec();
}

Result<QVariant> scalar(
    const Connection& connection, const QString& statement, const QVariantList& values, const QString& what)
{
    QSqlQuery q(connection.db());
    if (!exec(q, statement, values))
        return fail(what, q.lastError());
    return q.next() ? q.value(0) : QVariant();
}

Result<qint64> count(const Connection& connection, const QString& statement, const QString& what)
{
    auto n = scalar(connection, statement, {}, what);
    if (!n)
        return std::unexpected(n.error());
    return n->toLongLong();
}

QString now()
{
    return time(QDateTime::currentDateTimeUtc());
}

QString time(const QDateTime& t)
{
    return t.toUTC().toString(Qt::ISODateWithMs);
}

QDateTime parseTime(const QVariant& v)
{
    return QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
}

std::unexpected<Error> fail(const QString& what, const QSqlError& error)
{
    // SQLITE_FULL: the disk ran out under a write; the transaction was rolled back whole.
    if (error.nativeErrorCode() == QLatin1String("13") || error.text().contains(QLatin1String("disk is full")))
        return core::fail(ErrorCode::Io,
            QStringLiteral("The record store could not %1: a disk it writes to is full (the data directory's, or "
                           "the one for temporary files). Nothing of this was recorded. Free some space there (or move "
                           "the data directory to a larger disk) and try again.")
                .arg(what),
            error.text(), QStringLiteral("disk-full"));
    return core::fail(ErrorCode::Store, QStringLiteral("The record store could not %1.").arg(what), error.text());
}

std::unexpected<Error> States::error() const
{
    return core::fail(ErrorCode::Store,
        QStringLiteral("The record store holds a state this Imprint does not know (\"%1\"): it was written by a "
                       "newer Imprint, or edited by hand.")
            .arg(m_unknown));
}

} // namespace sql

} // namespace imprint::core
