#include "store/Outbox.h"

#include <algorithm>

namespace imprint::core {

Outbox::Appender::Appender(Transaction& tx)
    : m_insert(tx.db(), QStringLiteral("INSERT INTO outbox(kind, subject, detail, created) VALUES(?, ?, ?, ?)"))
{
}

bool Outbox::Appender::add(OutboxKind kind, const QString& subject, const QString& detail, const QString& at)
{
    return m_insert.run({ text(kind), subject, detail, at });
}

Result<QList<OutboxEntry>> Outbox::pending(int limit) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q,
            QStringLiteral("SELECT id, kind, subject, detail, created FROM outbox WHERE sent IS NULL ORDER BY id "
                           "LIMIT ?"),
            { std::clamp(limit, 1, 10000) }))
        return sql::fail(QStringLiteral("read the outbox"), q.lastError());
    QList<OutboxEntry> out;
    sql::States states;
    while (q.next())
        out << OutboxEntry { q.value(0).toLongLong(), states.read<OutboxKind>(q.value(1)), q.value(2).toString(),
            q.value(3).toString(), sql::parseTime(q.value(4)) };
    if (!states.ok())
        return states.error();
    return out;
}

Result<qint64> Outbox::pendingCount() const
{
    QSqlQuery q(m_connection.db());
    if (!q.exec(QStringLiteral("SELECT COUNT(*) FROM outbox WHERE sent IS NULL")) || !q.next())
        return sql::fail(QStringLiteral("read the outbox"), q.lastError());
    return q.value(0).toLongLong();
}

} // namespace imprint::core
