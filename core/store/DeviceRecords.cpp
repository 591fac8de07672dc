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
    return sql::first<DeviceRecord>(m_connection, DeviceColumns + QStringLiteral(" WHERE serial = ?"), { serial },
        QStringLiteral("look up the device"), deviceFrom);
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
    return sql::rows<DeviceRecord>(m_connection, statement, values, QStringLiteral("list devices"), deviceFrom);
}

Result<QList<QPair<DeviceStatus, int>>> DeviceRecords::statusCounts(
    const QDateTime& since, const QDateTime& until) const
{
    return countsWhere(QStringLiteral("updated >= ? AND updated < ?"), { storedTime(since), storedTime(until) },
        QStringLiteral("count devices"));
}

Result<QList<QPair<DeviceStatus, int>>> DeviceRecords::lotCounts(const QString& lot) const
{
    return countsWhere(QStringLiteral("lot = ?"), { lot }, QStringLiteral("count a lot's devices"));
}

Result<QList<QPair<DeviceStatus, int>>> DeviceRecords::countsWhere(
    const QString& condition, const QVariantList& values, const QString& what) const
{
    return sql::rows<QPair<DeviceStatus, int>>(m_connection,
        QStringLiteral("SELECT status, COUNT(*) FROM devices WHERE %1 GROUP BY status ORDER BY status").arg(condition),
        values, what, [](const QSqlQuery& q, sql::States& states) {
            return QPair<DeviceStatus, int> { states.read<DeviceStatus>(q.value(0)), q.value(1).toInt() };
        });
}

Result<QList<StepRecord>> DeviceRecords::timeline(const QString& deviceSerial, int limit) const
{
    return sql::rows<StepRecord>(m_connection,
        QStringLiteral("SELECT s.job_id, s.step, s.status, s.detail, s.at, j.station, j.operator FROM job_steps s "
                       "JOIN jobs j ON j.id = s.job_id WHERE j.device_serial = ? ORDER BY s.id LIMIT ?"),
        { deviceSerial, limit }, QStringLiteral("look up the device's steps"),
        [](const QSqlQuery& q, sql::States& states) {
            return StepRecord { q.value(0).toLongLong(), states.read<StepName>(q.value(1)),
                states.read<StepStatus>(q.value(2)), q.value(3).toString(), sql::parseTime(q.value(4)),
                q.value(5).toString(), q.value(6).toString() };
        });
}

} // namespace imprint::core
