#include "store/SignInAttempts.h"

#include "store/AuditLog.h"

#include <algorithm>

namespace imprint::core {

qint64 SignInAttempts::pauseSeconds(int failures)
{
    if (failures < 3)
        return 0;
    return std::min<qint64>(3600, 60LL << std::min(failures - 3, 6));
}

Result<SignInAttempts::State> SignInAttempts::state(const QString& role) const
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q, QStringLiteral("SELECT failures, last FROM sign_in_attempts WHERE role = ?"), { role }))
        return sql::fail(QStringLiteral("read the sign-in attempts"), q.lastError());
    State s;
    if (q.next()) {
        s.failures = q.value(0).toInt();
        const qint64 pause = pauseSeconds(s.failures);
        if (pause > 0)
            s.pausedUntil = sql::parseTime(q.value(1)).addSecs(pause);
    }
    return s;
}

Result<SignInAttempts::State> SignInAttempts::refused(
    const QString& role, const QString& person, const QString& station)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const QString t = sql::now();
    if (!sql::exec(q,
            QStringLiteral("INSERT INTO sign_in_attempts(role, failures, last) VALUES(?, 1, ?) ON CONFLICT(role) DO "
                           "UPDATE SET failures = failures + 1, last = excluded.last"),
            { role, t }))
        return sql::fail(QStringLiteral("count a wrong credential"), q.lastError());
    if (!sql::exec(q, QStringLiteral("SELECT failures FROM sign_in_attempts WHERE role = ?"), { role }) || !q.next())
        return sql::fail(QStringLiteral("count a wrong credential"), q.lastError());
    State s;
    s.failures = q.value(0).toInt();
    q.finish();
    const qint64 pause = pauseSeconds(s.failures);
    if (pause > 0)
        s.pausedUntil = sql::parseTime(t).addSecs(pause);
    AuditLog::Appender audit(tx);
    if (!audit.append(AuditEntry { 0, t, station, person, text(AuditKind::Login), person,
            QStringLiteral("refused: wrong credential for %1 (%2 in a row%3)")
                .arg(role)
                .arg(s.failures)
                .arg(pause > 0 ? QStringLiteral("; %1 sign-in paused for %2 s").arg(role).arg(pause) : QString()) })
        || !tx.commit())
        return sql::fail(QStringLiteral("count a wrong credential"), audit.error());
    return s;
}

Result<void> SignInAttempts::refusedPaused(
    const QString& role, const QString& person, const QString& station, const State& state)
{
    return AuditLog(m_connection)
        .append(AuditKind::Login, person,
            QStringLiteral("refused: %1 sign-in is paused until %2 after %3 wrong credentials in a row; the "
                           "credential was not checked")
                .arg(role, sql::time(state.pausedUntil))
                .arg(state.failures),
            station, person);
}

Result<void> SignInAttempts::accepted(const QString& role)
{
    QSqlQuery q(m_connection.db());
    if (!sql::exec(q, QStringLiteral("DELETE FROM sign_in_attempts WHERE role = ?"), { role }))
        return sql::fail(QStringLiteral("reset the sign-in attempts"), q.lastError());
    return {};
}

} // namespace imprint::core
