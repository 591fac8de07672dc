#pragma once

// The outbox: owns the tables `outbox` (every record that must reach the upstream CA:
// certificates that left the station, revocations; oldest first, each with its durable
// state), `leases` (which process syncs) and `upstream_contact` (the last contact). Rows are
// added inside the transaction that records what they carry (Appender), so nothing reaches
// the records without its way upstream; every answer is recorded in one transaction with
// what it brings (the upstream certificate, the audit entry).

#include "Error.h"
#include "domain/Records.h"
#include "store/AuditLog.h"
#include "store/Sql.h"

#include <QList>
#include <QMap>

#include <map>
#include <memory>
#include <optional>

namespace imprint::core {

class Outbox : public StorePart {
public:
    using StorePart::StorePart;

    /// Adds rows inside a transaction of the caller's.
    class Appender {
    public:
        explicit Appender(Transaction& tx);
        [[nodiscard]] bool add(OutboxKind kind, const QString& subject, const QString& detail, const QString& at);
        /// A revocation of certificate `subject` for `reason` (RFC 5280 CRLReason).
        [[nodiscard]] bool addRevocation(const QString& subject, int reason, const QString& detail, const QString& at);
        [[nodiscard]] QSqlError error() const { return m_insert.error(); }

    private:
        Statement m_insert;
    };

    /// The sync's answers, many rows in one transaction (a group commit): begun at the first
    /// change, synced when one of them must survive a power cut, committed by commit() (or
    /// rolled back when it goes uncommitted). Each change is as its one-row method below
    /// describes it.
    class Writer {
    public:
        explicit Writer(const Connection& connection);
        ~Writer();
        Writer(const Writer&) = delete;
        Writer& operator=(const Writer&) = delete;

        [[nodiscard]] Result<void> markSent(qint64 id);
        [[nodiscard]] Result<void> recordCertificate(const OutboxWork& row, const QByteArray& upstreamDer);
        [[nodiscard]] Result<void> confirm(const OutboxWork& row, const QString& status);
        [[nodiscard]] Result<void> recordWaiting(qint64 id, const QDateTime& checkAfter, const QString& status);
        [[nodiscard]] Result<void> reject(const OutboxWork& row, const QString& status);
        [[nodiscard]] Result<void> recordFailure(
            const OutboxWork& row, const QString& error, const QDateTime& next, const QString& refused = {});
        [[nodiscard]] Result<void> skip(qint64 id, const QString& why);
        [[nodiscard]] Result<void> recordContact(bool reached, const QString& error);
        /// Marks the rows first..last not finished with and not yet exported as carried by
        /// the offline batch `batch` (an export marks the runs of rows it carried).
        [[nodiscard]] Result<void> markExported(qint64 first, qint64 last, const QString& batch);
        /// Changes written since the last commit.
        [[nodiscard]] int pending() const { return m_changes; }
        [[nodiscard]] Result<void> commit();

    private:
        Result<void> run(const QString& statement, const QVariantList& values, const QString& what,
            Durability durability, std::optional<AuditKind> audit = {}, const OutboxWork* row = nullptr,
            const QString& detail = {});

        const Connection& m_connection;
        std::unique_ptr<Transaction> m_tx;
        std::map<QString, std::unique_ptr<Statement>> m_statements;
        int m_changes = 0;
    };

    [[nodiscard]] Writer writer() const { return Writer(m_connection); }

    /// Rows not finished with (neither confirmed, rejected nor skipped), oldest first.
    [[nodiscard]] Result<QList<OutboxEntry>> pending(int limit = 100) const;
    [[nodiscard]] Result<qint64> pendingCount() const;
    /// Rows in `states` (all when empty), oldest first, from id `after` on.
    [[nodiscard]] Result<QList<OutboxEntry>> list(const QList<OutboxState>& states, int limit, qint64 after = 0) const;
    [[nodiscard]] Result<std::optional<OutboxEntry>> row(qint64 id) const;
    /// The rows of one certificate (its certificate row, its revocation), oldest first.
    [[nodiscard]] Result<QList<OutboxEntry>> ofCertificate(const QString& serialHex) const;

    /// Open rows the sync may act on at `now`, oldest first from id `after` on, with what
    /// they carry: pending, sent (no answer recorded), failed after their next attempt,
    /// waiting after checkAfter; not those an offline batch carried.
    [[nodiscard]] Result<QList<OutboxWork>> due(const QDateTime& now, int limit, qint64 after = 0) const;
    /// The same for the rows given (export, import).
    [[nodiscard]] Result<QList<OutboxWork>> work(const QList<qint64>& ids) const;

    [[nodiscard]] Result<QMap<OutboxState, qint64>> counts() const;
    /// When the oldest row not yet through was made (neither confirmed, answered nor skipped).
    [[nodiscard]] Result<std::optional<QDateTime>> oldestUnsynced() const;

    /// A request is about to go out: its row is sent (no answer recorded).
    [[nodiscard]] Result<void> markSent(qint64 id);
    /// The upstream certified the row's key: its certificate is kept on the local
    /// certificate's record, the row is answered, and the audit log says so, in one synced
    /// transaction (before the station confirms it).
    [[nodiscard]] Result<void> recordCertificate(const OutboxWork& row, const QByteArray& upstreamDer);
    /// The upstream acknowledged the confirmation (certConf) or the revocation: confirmed.
    [[nodiscard]] Result<void> confirm(const OutboxWork& row, const QString& status);
    /// The upstream asked to poll after `checkAfter`.
    [[nodiscard]] Result<void> recordWaiting(qint64 id, const QDateTime& checkAfter, const QString& status);
    /// The upstream refused the request (final for the row until `retry`), audited.
    [[nodiscard]] Result<void> reject(const OutboxWork& row, const QString& status);
    /// The attempt did not get through; tried again at `next`. When `refused` says why an
    /// answer was not accepted (it failed a check), the audit log records it too.
    [[nodiscard]] Result<void> recordFailure(
        const OutboxWork& row, const QString& error, const QDateTime& next, const QString& refused = {});
    /// Not to be sent at all, with the reason.
    [[nodiscard]] Result<void> skip(qint64 id, const QString& why);
    /// An administrator's retry: a rejected or failed row (0: every rejected one) is pending
    /// again. Returns how many rows changed.
    [[nodiscard]] Result<qint64> retry(qint64 id);
    /// Marks rows as carried by the offline batch `batch`.
    [[nodiscard]] Result<void> markExported(const QList<qint64>& ids, const QString& batch);
    [[nodiscard]] Result<QList<qint64>> exportedIn(const QString& batch) const;
    /// A page of what an export carries, from id `after` on, with what the rows carry: rows
    /// not yet exported nor finished with (`batch` empty), or the rows of the batch `batch`.
    [[nodiscard]] Result<QList<OutboxWork>> exportable(const QString& batch, qint64 after, int limit) const;
    /// Revocation rows not finished with (an import matches them to the upstream's CRL).
    [[nodiscard]] Result<QList<OutboxWork>> openRevocations() const;

    /// Records an attempt to reach the upstream: reached, or not with the error.
    [[nodiscard]] Result<void> recordContact(bool reached, const QString& error);
    [[nodiscard]] Result<UpstreamContact> contact() const;

    /// Takes (or renews) the lease `name` for `holder` for `seconds`: refused while another
    /// holder's lease runs. A holder that is gone stops renewing; its lease then runs out.
    [[nodiscard]] Result<bool> takeLease(const QString& name, const QString& holder, int seconds);
    /// A new holder name for this process, saying where it runs: "HOST pid N (...)".
    [[nodiscard]] static QString newHolderName();
    /// Takes the lease over from `gone`, a holder known to have stopped, unless another took it meanwhile.
    [[nodiscard]] Result<bool> takeLeaseFrom(
        const QString& name, const QString& gone, const QString& holder, int seconds);
    [[nodiscard]] Result<void> releaseLease(const QString& name, const QString& holder);
    /// Who holds the lease, and until when, if anyone does.
    [[nodiscard]] Result<std::optional<std::pair<QString, QDateTime>>> lease(const QString& name) const;
};

} // namespace imprint::core
