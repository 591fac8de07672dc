#include "store/Lots.h"

#include "store/AuditLog.h"

#include <algorithm>

namespace imprint::core {

namespace {

const QString LotColumns = QStringLiteral("SELECT id, profile, expected, note, created, station, operator FROM lots");

Lot lotFrom(const QSqlQuery& q)
{
    return Lot { q.value(0).toString(), q.value(1).toString(), q.value(2).toInt(), q.value(3).toString(),
        sql::parseTime(q.value(4)), q.value(5).toString(), q.value(6).toString() };
}

} // namespace

Result<void> Lots::create(const Lot& lot)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    // Checked under the write lock: two stations creating one lot get a plain answer.
    QSqlQuery q(tx.db());
    if (!sql::exec(q, QStringLiteral("SELECT 1 FROM lots WHERE id = ?"), { lot.id }))
        return sql::fail(QStringLiteral("look up a lot"), q.lastError());
    if (q.next())
        return fail(ErrorCode::BadInput, QStringLiteral("Lot %1 already exists.").arg(lot.id));
    const QString t = sql::now();
    if (!sql::exec(q,
            QStringLiteral("INSERT INTO lots(id, profile, expected, note, created, station, operator) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?)"),
            { lot.id, lot.profile, lot.expected, lot.note, t, lot.station, lot.operatorName }))
        return sql::fail(QStringLiteral("create the lot"), q.lastError());
    AuditLog::Appender audit(tx);
    if (!audit.append(AuditEntry { 0, t, lot.station, lot.operatorName, text(AuditKind::LotCreated), lot.id,
            QStringLiteral("profile %1, %2 devices%3")
                .arg(lot.profile)
                .arg(lot.expected)
                .arg(lot.note.isEmpty() ? QString() : QStringLiteral(": ") + lot.note) })
        || !tx.commit())
        return sql::fail(QStringLiteral("create the lot"), audit.error());
    return {};
}

Result<std::optional<Lot>> Lots::find(const QString& id) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q, LotColumns + QStringLiteral(" WHERE id = ?"), { id }))
        return sql::fail(QStringLiteral("look up a lot"), q.lastError());
    if (!q.next())
        return std::optional<Lot> {};
    return std::optional<Lot> { lotFrom(q) };
}

Result<QList<Lot>> Lots::list(int limit) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q, LotColumns + QStringLiteral(" ORDER BY created DESC LIMIT ?"), { std::clamp(limit, 1, 10000) }))
        return sql::fail(QStringLiteral("list lots"), q.lastError());
    QList<Lot> out;
    while (q.next())
        out << lotFrom(q);
    return out;
}

Result<QList<QPair<DeviceStatus, int>>> Lots::counts(const QString& id) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q,
            QStringLiteral("SELECT status, COUNT(*) FROM devices WHERE lot = ? GROUP BY status ORDER BY status"),
            { id }))
        return sql::fail(QStringLiteral("count a lot's devices"), q.lastError());
    QList<QPair<DeviceStatus, int>> out;
    sql::States states;
    while (q.next())
        out.append({ states.read<DeviceStatus>(q.value(0)), q.value(1).toInt() });
    if (!states.ok())
        return states.error();
    return out;
}

} // namespace imprint::core
