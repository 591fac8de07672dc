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
    return sql::rows<OutboxEntry>(m_connection,
        QStringLiteral("SELECT id, kind, subject, detail, created FROM outbox WHERE sent IS NULL ORDER BY id LIMIT ?"),
        { std::clamp(limit, 1, 10000) }, QStringLiteral("read the outbox"),
        [](const QSqlQuery& q, sql::States& states) {
            return OutboxEntry { q.value(0).toLongLong(), states.read<OutboxKind>(q.value(1)), q.value(2).toString(),
                q.value(3).toString(), sql::parseTime(q.value(4)) };
        });
}

Result<qint64> Outbox::pendingCount() const
{
    return sql::count(m_connection, QStringLiteral("SELECT COUNT(*) FROM outbox WHERE sent IS NULL"),
        QStringLiteral("read the outbox"));
}

} // namespace imprint::core
