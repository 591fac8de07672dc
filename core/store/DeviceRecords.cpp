#include "store/DeviceRecords.h"

#include <algorithm>

namespace imprint::core {

namespace {

const QString DeviceColumns
    = QStringLiteral("SELECT serial, model, firmware, status, status_reason, first_seen, updated, lot FROM devices");

DeviceRecord deviceFrom(const QSqlQuery& q, sql::States& states)
{
    return DeviceRecord { q.value(0).toString(), q.value(1).toString(), q.value(2).toString(),
        states.read<DeviceStatus>(q.value(3)), q.value(4).toString(), sql::parseTime(q.value(5)),
        sql::parseTime(q.value(6)), q.value(7).toString() };
}

QString storedTime(const QDateTime& t)
{
    return t.toUTC().toString(Qt::ISODateWithMs);
}

} // namespace

Result<std::optional<DeviceRecord>> DeviceRecords::device(const QString& serial) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q, DeviceColumns + QStringLiteral(" WHERE serial = ?"), { serial }))
        return sql::fail(QStringLiteral("look up the device"), q.lastError());
    if (!q.next())
        return std::optional<DeviceRecord> {};
    sql::States states;
    const DeviceRecord r = deviceFrom(q, states);
    if (!states.ok())
        return states.error();
    return std::optional<DeviceRecord> { r };
}

Result<QList<DeviceRecord>> DeviceRecords::devices(const DeviceQuery& query) const
{
    QString statement = DeviceColumns + QStringLiteral(" WHERE 1 = 1");
    QVariantList values;
    if (query.status) {
        statement += QStringLiteral(" AND status = ?");
        values << text(*query.status);
    }
    if (!query.lot.isEmpty()) {
        statement += QStringLiteral(" AND lot = ?");
        values << query.lot;
    }
    if (query.since.isValid()) {
        statement += QStringLiteral(" AND updated >= ?");
        values << storedTime(query.since);
    }
    if (query.until.isValid()) {
        statement += QStringLiteral(" AND updated < ?");
        values << storedTime(query.until);
    }
    if (!query.before.isEmpty()) {
        // Keyset paging: the next page starts after the last row of this one (an index
        // range on (status|lot, updated, serial), never a sort of the table).
        QSqlQuery anchor(m_connection.db());
        if (!sql::exec(anchor, QStringLiteral("SELECT updated FROM devices WHERE serial = ?"), { query.before }))
            return sql::fail(QStringLiteral("list devices"), anchor.lastError());
        if (!anchor.next())
            return fail(ErrorCode::NotFound, QStringLiteral("No device with serial %1 is recorded.").arg(query.before));
        statement += QStringLiteral(" AND (updated, serial) < (?, ?)");
        values << anchor.value(0).toString() << query.before;
    }
    statement += QStringLiteral(" ORDER BY updated DESC, serial DESC LIMIT ?");
    values << std::clamp(query.limit, 1, 10000);
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q, statement, values))
        return sql::fail(QStringLiteral("list devices"), q.lastError());
    QList<DeviceRecord> out;
    sql::States states;
    while (q.next())
        out.append(deviceFrom(q, states));
    if (!states.ok())
        return states.error();
    return out;
}

Result<QList<QPair<DeviceStatus, int>>> DeviceRecords::statusCounts(
    const QDateTime& since, const QDateTime& until) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q,
            QStringLiteral("SELECT status, COUNT(*) FROM devices WHERE updated >= ? AND updated < ? GROUP BY status "
                           "ORDER BY status"),
            { storedTime(since), storedTime(until) }))
        return sql::fail(QStringLiteral("count devices"), q.lastError());
    QList<QPair<DeviceStatus, int>> out;
    sql::States states;
    while (q.next())
        out.append({ states.read<DeviceStatus>(q.value(0)), q.value(1).toInt() });
    if (!states.ok())
        return states.error();
    return out;
}

Result<QList<StepRecord>> DeviceRecords::timeline(const QString& deviceSerial, int limit) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q,
            QStringLiteral("SELECT s.job_id, s.step, s.status, s.detail, s.at, j.station, j.operator FROM job_steps s "
                           "JOIN jobs j ON j.id = s.job_id WHERE j.device_serial = ? ORDER BY s.id LIMIT ?"),
            { deviceSerial, limit }))
        return sql::fail(QStringLiteral("look up the device's steps"), q.lastError());
    QList<StepRecord> out;
    sql::States states;
    while (q.next())
        out << StepRecord { q.value(0).toLongLong(), states.read<StepName>(q.value(1)),
            states.read<StepStatus>(q.value(2)), q.value(3).toString(), sql::parseTime(q.value(4)),
            q.value(5).toString(), q.value(6).toString() };
    if (!states.ok())
        return states.error();
    return out;
}

} // namespace imprint::core
