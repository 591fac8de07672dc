#include "store/Sql.h"

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
    : m_query(db)
    , m_sql(std::move(sql))
{
}

bool Statement::run(const QVariantList& values)
{
    if (!m_prepared && !(m_prepared = m_query.prepare(m_sql)))
        return false;
    for (qsizetype i = 0; i < values.size(); ++i) {
        const QVariant& v = values[i];
        m_query.bindValue(static_cast<int>(i),
            v.typeId() == QMetaType::QString && v.toString().isNull() ? QVariant(QStringLiteral("")) : v);
    }
    return m_query.exec();
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
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
}

QDateTime parseTime(const QVariant& v)
{
    return QDateTime::fromString(v.toString(), Qt::ISODateWithMs);
}

std::unexpected<Error> fail(const QString& what, const QSqlError& error)
{
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
