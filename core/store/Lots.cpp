#include "store/Lots.h"

#include "store/CertificateLedger.h"

#include "store/AuditLog.h"

#include <algorithm>

namespace imprint::core {

namespace {

const QString LotColumns
    = QStringLiteral("SELECT id, profile, expected, note, created, station, operator, closed FROM lots");

Lot lotFrom(const QSqlQuery& q, sql::States&)
{
    return Lot { q.value(0).toString(), q.value(1).toString(), q.value(2).toInt(), q.value(3).toString(),
        sql::parseTime(q.value(4)), q.value(5).toString(), q.value(6).toString(),
        q.value(7).isNull() ? QDateTime() : sql::parseTime(q.value(7)) };
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

Result<void> Lots::close(const QString& id, const QString& station, const QString& operatorName)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const QString t = sql::now();
    if (!sql::exec(q, QStringLiteral("UPDATE lots SET closed = ? WHERE id = ? AND closed IS NULL"), { t, id }))
        return sql::fail(QStringLiteral("close the lot"), q.lastError());
    if (q.numRowsAffected() != 1) {
        if (!sql::exec(q, QStringLiteral("SELECT closed FROM lots WHERE id = ?"), { id }))
            return sql::fail(QStringLiteral("look up a lot"), q.lastError());
        if (!q.next())
            return fail(ErrorCode::NotFound, QStringLiteral("There is no lot %1.").arg(id));
        return fail(
            ErrorCode::BadInput, QStringLiteral("Lot %1 was closed already, on %2.").arg(id, q.value(0).toString()));
    }
    AuditLog::Appender audit(tx);
    if (!audit.append(AuditEntry { 0, t, station, operatorName, text(AuditKind::LotClosed), id,
            QStringLiteral("lot closed: it takes no more devices") })
        || !tx.commit())
        return sql::fail(QStringLiteral("close the lot"), audit.error());
    // A closed lot ships nothing more: what it issued to devices that failed is revoked now
    // (the next CRL lists them).
    auto revoked = CertificateLedger(m_connection).revokeUnshipped(QDateTime::currentDateTimeUtc().addSecs(1), id);
    if (!revoked)
        return std::unexpected(revoked.error());
    return {};
}

Result<std::optional<Lot>> Lots::find(const QString& id) const
{
    return sql::first<Lot>(
        m_connection, LotColumns + QStringLiteral(" WHERE id = ?"), { id }, QStringLiteral("look up a lot"), lotFrom);
}

Result<QList<Lot>> Lots::list(int limit) const
{
    return sql::rows<Lot>(m_connection, LotColumns + QStringLiteral(" ORDER BY created DESC LIMIT ?"),
        { std::clamp(limit, 1, 10000) }, QStringLiteral("list lots"), lotFrom);
}

} // namespace imprint::core
