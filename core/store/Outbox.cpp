#include "store/Outbox.h"

#include "store/AuditLog.h"

#include <QCryptographicHash>
#include <QSysInfo>
#include <QUuid>

#include <algorithm>

#include <unistd.h>

namespace imprint::core {

namespace {

const QString EntryColumns
    = QStringLiteral("o.id, o.kind, o.subject, o.detail, o.created, o.state, o.attempts, o.last_error, o.next_attempt, "
                     "o.upstream_status, o.export_batch, o.updated, o.reason");
constexpr int EntryColumnCount = 13;

OutboxEntry entryFrom(const QSqlQuery& q, sql::States& states)
{
    OutboxEntry e;
    e.id = q.value(0).toLongLong();
    e.kind = states.read<OutboxKind>(q.value(1));
    e.subject = q.value(2).toString();
    e.detail = q.value(3).toString();
    e.created = sql::parseTime(q.value(4));
    e.state = states.read<OutboxState>(q.value(5));
    e.attempts = q.value(6).toInt();
    e.lastError = q.value(7).toString();
    e.nextAttempt = sql::parseTime(q.value(8));
    e.upstreamStatus = q.value(9).toString();
    e.exportBatch = q.value(10).toString();
    e.updated = sql::parseTime(q.value(11));
    e.reason = q.value(12).isNull() ? -1 : q.value(12).toInt();
    return e;
}

/// The rows that are finished with: the partial index outbox_open leaves them out.
QString finished()
{
    return QStringLiteral("(%1, %2, %3)")
        .arg(sql::literal(OutboxState::Confirmed), sql::literal(OutboxState::Rejected),
            sql::literal(OutboxState::Skipped));
}

QString workQuery(const QString& where)
{
    return QStringLiteral("SELECT %1, c.device_serial, c.job_id, c.state, j.result, c.request, c.der, c.upstream_der, "
                          "(SELECT r.state FROM outbox r WHERE r.subject = o.subject AND r.kind = %2 ORDER BY r.id "
                          "LIMIT 1) FROM outbox o LEFT JOIN certificates c ON c.serial = o.subject LEFT JOIN jobs j ON "
                          "j.id = c.job_id WHERE %3")
        .arg(EntryColumns, sql::literal(OutboxKind::Certificate), where);
}

OutboxWork workFrom(const QSqlQuery& q, sql::States& states)
{
    OutboxWork w;
    w.entry = entryFrom(q, states);
    int c = EntryColumnCount;
    w.deviceSerial = q.value(c++).toString();
    w.jobId = q.value(c++).toLongLong();
    const QVariant certState = q.value(c++);
    if (!certState.isNull())
        w.certificateState = states.read<CertificateState>(certState);
    w.jobResult = states.readOptional<JobOutcome>(q.value(c++));
    w.request = q.value(c++).toByteArray();
    w.localDer = q.value(c++).toByteArray();
    w.upstreamDer = q.value(c++).toByteArray();
    if (w.entry.kind == OutboxKind::Revocation)
        w.certificateRow = states.readOptional<OutboxState>(q.value(c));
    return w;
}

/// One statement in a transaction of its own.
Result<void> change(const Connection& connection, Durability durability, const QString& statement,
    const QVariantList& values, const QString& what)
{
    Transaction tx(connection, durability);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    if (!sql::exec(q, statement, values))
        return sql::fail(what, q.lastError());
    if (!tx.commit())
        return sql::fail(what, tx.error());
    return {};
}

} // namespace

Outbox::Writer::Writer(const Connection& connection)
    : m_connection(connection)
{
}

Outbox::Writer::~Writer() = default;

Result<void> Outbox::Writer::run(const QString& statement, const QVariantList& values, const QString& what,
    Durability durability, std::optional<AuditKind> audit, const OutboxWork* row, const QString& detail)
{
    if (!m_tx) {
        m_tx = std::make_unique<Transaction>(m_connection, Durability::Written);
        if (!m_tx->active()) {
            const QSqlError e = m_tx->error();
            m_tx.reset();
            return sql::fail(QStringLiteral("start writing"), e);
        }
    }
    if (durability == Durability::Synced)
        m_tx->requireSync();
    auto& prepared = m_statements[statement];
    if (!prepared)
        prepared = std::make_unique<Statement>(m_tx->db(), statement);
    if (!prepared->run(values))
        return sql::fail(what, prepared->error());
    if (audit && row) {
        AuditLog::Appender appender(*m_tx);
        if (!appender.append(*audit, row->entry.subject, detail, row->jobId, sql::now()))
            return sql::fail(QStringLiteral("audit the upstream's answer"), appender.error());
    }
    ++m_changes;
    return {};
}

Result<void> Outbox::Writer::commit()
{
    if (!m_tx)
        return {};
    m_statements.clear(); // prepared on this transaction's connection state; made again as needed
    const bool ok = m_tx->commit();
    const QSqlError e = m_tx->error();
    m_tx.reset();
    m_changes = 0;
    if (!ok)
        return sql::fail(QStringLiteral("record the upstream's answers"), e);
    return {};
}

Result<void> Outbox::Writer::markSent(qint64 id)
{
    const QString t = sql::now();
    return run(
        QStringLiteral("UPDATE outbox SET state = ?, sent = ?, attempts = attempts + 1, updated = ? WHERE id = ?"),
        { text(OutboxState::Sent), t, t, id }, QStringLiteral("record a request as sent"), Durability::Written);
}

Result<void> Outbox::Writer::recordCertificate(const OutboxWork& row, const QByteArray& upstreamDer)
{
    // Synced: the upstream's certificate is on record before the station confirms it.
    if (auto r = run(QStringLiteral("UPDATE certificates SET upstream_der = ? WHERE serial = ?"),
            { upstreamDer, row.entry.subject }, QStringLiteral("record the upstream's certificate"),
            Durability::Synced);
        !r)
        return r;
    return run(QStringLiteral("UPDATE outbox SET state = ?, last_error = '', updated = ? WHERE id = ?"),
        { text(OutboxState::Answered), sql::now(), row.entry.id }, QStringLiteral("record the upstream's certificate"),
        Durability::Synced, AuditKind::UpstreamCertified, &row,
        QStringLiteral("device %1, upstream certificate sha256 %2")
            .arg(row.deviceSerial,
                QString::fromLatin1(QCryptographicHash::hash(upstreamDer, QCryptographicHash::Sha256).toHex())));
}

Result<void> Outbox::Writer::confirm(const OutboxWork& row, const QString& status)
{
    // A certificate's confirmation rides along with the next synced commit: lost to a power
    // cut, the row is back at answered, its certificate recorded, and is never sent again.
    // A revocation's answer is synced: lost, the rr would be sent again.
    const bool revocation = row.entry.kind == OutboxKind::Revocation;
    return run(
        QStringLiteral("UPDATE outbox SET state = ?, upstream_status = ?, last_error = '', updated = ? WHERE id = ?"),
        { text(OutboxState::Confirmed), status, sql::now(), row.entry.id }, QStringLiteral("record the confirmation"),
        revocation ? Durability::Synced : Durability::Written,
        revocation ? std::optional<AuditKind> { AuditKind::UpstreamRevoked } : std::nullopt, &row,
        QStringLiteral("device %1: %2").arg(row.deviceSerial, status));
}

Result<void> Outbox::Writer::recordWaiting(qint64 id, const QDateTime& checkAfter, const QString& status)
{
    return run(
        QStringLiteral("UPDATE outbox SET state = ?, next_attempt = ?, upstream_status = ?, updated = ? WHERE id = ?"),
        { text(OutboxState::Waiting), sql::time(checkAfter), status, sql::now(), id },
        QStringLiteral("record the upstream's request to wait"), Durability::Written);
}

Result<void> Outbox::Writer::reject(const OutboxWork& row, const QString& status)
{
    return run(
        QStringLiteral("UPDATE outbox SET state = ?, upstream_status = ?, last_error = ?, updated = ? WHERE id = ?"),
        { text(OutboxState::Rejected), status, status, sql::now(), row.entry.id },
        QStringLiteral("record the upstream's rejection"), Durability::Synced, AuditKind::UpstreamRejected, &row,
        QStringLiteral("device %1: %2").arg(row.deviceSerial, status));
}

Result<void> Outbox::Writer::recordFailure(
    const OutboxWork& row, const QString& error, const QDateTime& next, const QString& refused)
{
    return run(
        QStringLiteral("UPDATE outbox SET state = ?, last_error = ?, next_attempt = ?, updated = ? WHERE id = ?"),
        { text(OutboxState::Failed), error, sql::time(next), sql::now(), row.entry.id },
        QStringLiteral("record a failed attempt"), refused.isEmpty() ? Durability::Written : Durability::Synced,
        refused.isEmpty() ? std::nullopt : std::optional<AuditKind> { AuditKind::UpstreamRefused }, &row,
        QStringLiteral("device %1: %2").arg(row.deviceSerial, refused));
}

Result<void> Outbox::Writer::skip(qint64 id, const QString& why)
{
    return run(QStringLiteral("UPDATE outbox SET state = ?, last_error = ?, updated = ? WHERE id = ?"),
        { text(OutboxState::Skipped), why, sql::now(), id }, QStringLiteral("record a row as not to be sent"),
        Durability::Written);
}

Result<void> Outbox::Writer::recordContact(bool reached, const QString& error)
{
    const QString t = sql::now();
    return run(reached ? QStringLiteral("INSERT INTO upstream_contact(id, attempted, reached, last_error) VALUES(1, ?, "
                                        "?, '') ON CONFLICT(id) DO UPDATE SET attempted = excluded.attempted, reached "
                                        "= excluded.reached, last_error = ''")
                       : QStringLiteral("INSERT INTO upstream_contact(id, attempted, last_error) VALUES(1, ?, ?) ON "
                                        "CONFLICT(id) DO UPDATE SET attempted = excluded.attempted, last_error = "
                                        "excluded.last_error"),
        reached ? QVariantList { t, t } : QVariantList { t, error }, QStringLiteral("record the upstream's contact"),
        Durability::Written);
}

Result<void> Outbox::Writer::markExported(qint64 first, qint64 last, const QString& batch)
{
    return run(QStringLiteral("UPDATE outbox SET export_batch = ?, updated = ? WHERE id BETWEEN ? AND ? AND "
                              "export_batch = '' AND state NOT IN %1")
                   .arg(finished()),
        { batch, sql::now(), first, last }, QStringLiteral("mark the exported rows"), Durability::Synced);
}

Outbox::Appender::Appender(Transaction& tx)
    : m_insert(
        tx.db(), QStringLiteral("INSERT INTO outbox(kind, subject, detail, created, reason) VALUES(?, ?, ?, ?, ?)"))
{
}

bool Outbox::Appender::add(OutboxKind kind, const QString& subject, const QString& detail, const QString& at)
{
    return m_insert.run({ text(kind), subject, detail, at, QVariant() });
}

bool Outbox::Appender::addRevocation(const QString& subject, int reason, const QString& detail, const QString& at)
{
    return m_insert.run({ text(OutboxKind::Revocation), subject, detail, at, reason });
}

Result<QList<OutboxEntry>> Outbox::pending(int limit) const
{
    return sql::rows<OutboxEntry>(m_connection,
        QStringLiteral("SELECT %1 FROM outbox o WHERE o.state NOT IN %2 ORDER BY o.id LIMIT ?")
            .arg(EntryColumns, finished()),
        { std::clamp(limit, 1, 10000) }, QStringLiteral("read the outbox"), entryFrom);
}

Result<qint64> Outbox::pendingCount() const
{
    return sql::count(m_connection, QStringLiteral("SELECT COUNT(*) FROM outbox WHERE state NOT IN %1").arg(finished()),
        QStringLiteral("read the outbox"));
}

Result<QList<OutboxEntry>> Outbox::list(const QList<OutboxState>& states, int limit, qint64 after) const
{
    QStringList names;
    for (OutboxState s : states)
        names << sql::literal(s);
    const QString where = names.isEmpty() ? QString() : QStringLiteral(" AND o.state IN (%1)").arg(names.join(u','));
    return sql::rows<OutboxEntry>(m_connection,
        QStringLiteral("SELECT %1 FROM outbox o WHERE o.id > ?%2 ORDER BY o.id LIMIT ?").arg(EntryColumns, where),
        { after, std::clamp(limit, 1, 100000) }, QStringLiteral("read the outbox"), entryFrom);
}

Result<std::optional<OutboxEntry>> Outbox::row(qint64 id) const
{
    return sql::first<OutboxEntry>(m_connection,
        QStringLiteral("SELECT %1 FROM outbox o WHERE o.id = ?").arg(EntryColumns), { id },
        QStringLiteral("read the outbox"), entryFrom);
}

Result<QList<OutboxEntry>> Outbox::ofCertificate(const QString& serialHex) const
{
    return sql::rows<OutboxEntry>(m_connection,
        QStringLiteral("SELECT %1 FROM outbox o WHERE o.subject = ? ORDER BY o.id").arg(EntryColumns), { serialHex },
        QStringLiteral("read the outbox"), entryFrom);
}

Result<QList<OutboxWork>> Outbox::due(const QDateTime& now, int limit, qint64 after) const
{
    return sql::rows<OutboxWork>(m_connection,
        workQuery(QStringLiteral("o.state NOT IN %1 AND o.id > ? AND o.export_batch = '' AND (o.state IN (%2, %3) OR "
                                 "(o.state IN (%4, %5) AND (o.next_attempt IS NULL OR o.next_attempt <= ?))) ORDER BY "
                                 "o.id LIMIT ?")
                      .arg(finished(), sql::literal(OutboxState::Pending), sql::literal(OutboxState::Sent),
                          sql::literal(OutboxState::Failed), sql::literal(OutboxState::Waiting))),
        { after, sql::time(now), std::clamp(limit, 1, 10000) }, QStringLiteral("read the outbox"), workFrom);
}

Result<QList<OutboxWork>> Outbox::work(const QList<qint64>& ids) const
{
    QList<OutboxWork> all;
    for (qint64 id : ids) {
        auto one = sql::rows<OutboxWork>(
            m_connection, workQuery(QStringLiteral("o.id = ?")), { id }, QStringLiteral("read the outbox"), workFrom);
        if (!one)
            return std::unexpected(one.error());
        all += *one;
    }
    return all;
}

Result<QMap<OutboxState, qint64>> Outbox::counts() const
{
    auto rows = sql::rows<std::pair<OutboxState, qint64>>(m_connection,
        QStringLiteral("SELECT state, COUNT(*) FROM outbox GROUP BY state"), {}, QStringLiteral("read the outbox"),
        [](const QSqlQuery& q, sql::States& states) {
            return std::pair { states.read<OutboxState>(q.value(0)), q.value(1).toLongLong() };
        });
    if (!rows)
        return std::unexpected(rows.error());
    QMap<OutboxState, qint64> counts;
    for (const auto& [state, n] : *rows)
        counts[state] = n;
    return counts;
}

Result<std::optional<QDateTime>> Outbox::oldestUnsynced() const
{
    auto v = sql::scalar(m_connection,
        QStringLiteral("SELECT MIN(created) FROM outbox WHERE state NOT IN (%1, %2, %3)")
            .arg(sql::literal(OutboxState::Confirmed), sql::literal(OutboxState::Answered),
                sql::literal(OutboxState::Skipped)),
        {}, QStringLiteral("read the outbox"));
    if (!v)
        return std::unexpected(v.error());
    if (v->isNull())
        return std::optional<QDateTime> {};
    return std::optional<QDateTime> { sql::parseTime(*v) };
}

Result<void> Outbox::markSent(qint64 id)
{
    Writer w(m_connection);
    if (auto r = w.markSent(id); !r)
        return r;
    return w.commit();
}

Result<void> Outbox::recordCertificate(const OutboxWork& row, const QByteArray& upstreamDer)
{
    Writer w(m_connection);
    if (auto r = w.recordCertificate(row, upstreamDer); !r)
        return r;
    return w.commit();
}

Result<void> Outbox::confirm(const OutboxWork& row, const QString& status)
{
    Writer w(m_connection);
    if (auto r = w.confirm(row, status); !r)
        return r;
    return w.commit();
}

Result<void> Outbox::recordWaiting(qint64 id, const QDateTime& checkAfter, const QString& status)
{
    Writer w(m_connection);
    if (auto r = w.recordWaiting(id, checkAfter, status); !r)
        return r;
    return w.commit();
}

Result<void> Outbox::reject(const OutboxWork& row, const QString& status)
{
    Writer w(m_connection);
    if (auto r = w.reject(row, status); !r)
        return r;
    return w.commit();
}

Result<void> Outbox::recordFailure(
    const OutboxWork& row, const QString& error, const QDateTime& next, const QString& refused)
{
    Writer w(m_connection);
    if (auto r = w.recordFailure(row, error, next, refused); !r)
        return r;
    return w.commit();
}

Result<void> Outbox::skip(qint64 id, const QString& why)
{
    Writer w(m_connection);
    if (auto r = w.skip(id, why); !r)
        return r;
    return w.commit();
}

Result<qint64> Outbox::retry(qint64 id)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    const bool one = id > 0;
    if (!sql::exec(q,
            QStringLiteral("UPDATE outbox SET state = ?, next_attempt = NULL, updated = ? WHERE state IN (%1)%2")
                .arg(one ? sql::literal(OutboxState::Rejected) + u',' + sql::literal(OutboxState::Failed)
                         : sql::literal(OutboxState::Rejected),
                    one ? QStringLiteral(" AND id = ?") : QString()),
            one ? QVariantList { text(OutboxState::Pending), sql::now(), id }
                : QVariantList { text(OutboxState::Pending), sql::now() }))
        return sql::fail(QStringLiteral("mark rows to be sent again"), q.lastError());
    const qint64 changed = q.numRowsAffected();
    if (!tx.commit())
        return sql::fail(QStringLiteral("mark rows to be sent again"), tx.error());
    return changed;
}

Result<void> Outbox::markExported(const QList<qint64>& ids, const QString& batch)
{
    Transaction tx(m_connection, Durability::Synced);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    Statement mark(tx.db(), QStringLiteral("UPDATE outbox SET export_batch = ?, updated = ? WHERE id = ?"));
    const QString t = sql::now();
    for (qint64 id : ids) {
        if (!mark.run({ batch, t, id }))
            return sql::fail(QStringLiteral("mark the exported rows"), mark.error());
    }
    if (!tx.commit())
        return sql::fail(QStringLiteral("mark the exported rows"), tx.error());
    return {};
}

Result<QList<qint64>> Outbox::exportedIn(const QString& batch) const
{
    return sql::rows<qint64>(m_connection, QStringLiteral("SELECT id FROM outbox WHERE export_batch = ? ORDER BY id"),
        { batch }, QStringLiteral("read the outbox"),
        [](const QSqlQuery& q, sql::States&) { return q.value(0).toLongLong(); });
}

Result<QList<OutboxWork>> Outbox::exportable(const QString& batch, qint64 after, int limit) const
{
    return sql::rows<OutboxWork>(m_connection,
        workQuery(batch.isEmpty()
                ? QStringLiteral("o.state NOT IN %1 AND o.export_batch = '' AND o.id > ? ORDER BY o.id LIMIT ?")
                      .arg(finished())
                : QStringLiteral("o.export_batch = ? AND o.id > ? ORDER BY o.id LIMIT ?")),
        batch.isEmpty() ? QVariantList { after, std::clamp(limit, 1, 100000) }
                        : QVariantList { batch, after, std::clamp(limit, 1, 100000) },
        QStringLiteral("read the outbox"), workFrom);
}

Result<QList<OutboxWork>> Outbox::openRevocations() const
{
    return sql::rows<OutboxWork>(m_connection,
        workQuery(QStringLiteral("o.kind = %1 AND o.state NOT IN %2 ORDER BY o.id")
                      .arg(sql::literal(OutboxKind::Revocation), finished())),
        {}, QStringLiteral("read the outbox"), workFrom);
}

Result<void> Outbox::recordContact(bool reached, const QString& error)
{
    Writer w(m_connection);
    if (auto r = w.recordContact(reached, error); !r)
        return r;
    return w.commit();
}

Result<UpstreamContact> Outbox::contact() const
{
    auto c = sql::first<UpstreamContact>(m_connection,
        QStringLiteral("SELECT attempted, reached, last_error FROM upstream_contact WHERE id = 1"), {},
        QStringLiteral("read the upstream's contact"), [](const QSqlQuery& q, sql::States&) {
            return UpstreamContact { sql::parseTime(q.value(0)), sql::parseTime(q.value(1)), q.value(2).toString() };
        });
    if (!c)
        return std::unexpected(c.error());
    return c->value_or(UpstreamContact {});
}

QString Outbox::newHolderName()
{
    return QStringLiteral("%1 pid %2 (%3)")
        .arg(QSysInfo::machineHostName())
        .arg(::getpid())
        .arg(QUuid::createUuid().toString(QUuid::Id128).left(8));
}

Result<bool> Outbox::takeLease(const QString& name, const QString& holder, int seconds)
{
    Transaction tx(m_connection, Durability::Written);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QSqlQuery q(tx.db());
    if (!sql::exec(q,
            QStringLiteral("INSERT INTO leases(name, holder, expires) VALUES(?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                           "holder = excluded.holder, expires = excluded.expires WHERE leases.holder = "
                           "excluded.holder OR leases.expires < ?"),
            { name, holder, sql::time(now.addSecs(seconds)), sql::time(now) }))
        return sql::fail(QStringLiteral("take the sync lease"), q.lastError());
    const bool taken = q.numRowsAffected() == 1;
    if (!tx.commit())
        return sql::fail(QStringLiteral("take the sync lease"), tx.error());
    return taken;
}

Result<bool> Outbox::takeLeaseFrom(const QString& name, const QString& gone, const QString& holder, int seconds)
{
    Transaction tx(m_connection, Durability::Written);
    if (!tx.active())
        return sql::fail(QStringLiteral("start writing"), tx.error());
    QSqlQuery q(tx.db());
    if (!sql::exec(q, QStringLiteral("UPDATE leases SET holder = ?, expires = ? WHERE name = ? AND holder = ?"),
            { holder, sql::time(QDateTime::currentDateTimeUtc().addSecs(seconds)), name, gone }))
        return sql::fail(QStringLiteral("take the sync lease over"), q.lastError());
    const bool taken = q.numRowsAffected() == 1;
    if (!tx.commit())
        return sql::fail(QStringLiteral("take the sync lease over"), tx.error());
    return taken;
}

Result<void> Outbox::releaseLease(const QString& name, const QString& holder)
{
    return change(m_connection, Durability::Written, QStringLiteral("DELETE FROM leases WHERE name = ? AND holder = ?"),
        { name, holder }, QStringLiteral("give the sync lease back"));
}

Result<std::optional<std::pair<QString, QDateTime>>> Outbox::lease(const QString& name) const
{
    return sql::first<std::pair<QString, QDateTime>>(m_connection,
        QStringLiteral("SELECT holder, expires FROM leases WHERE name = ? AND expires >= ?"), { name, sql::now() },
        QStringLiteral("read the sync lease"), [](const QSqlQuery& q, sql::States&) {
            return std::pair { q.value(0).toString(), sql::parseTime(q.value(1)) };
        });
}

} // namespace imprint::core
