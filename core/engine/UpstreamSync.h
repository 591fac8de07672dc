#pragma once

#include "DataDir.h"
#include "Error.h"
#include "store/RecordStore.h"
#include "upstream/CmpClient.h"

#include <QHash>

#include <atomic>

#include <memory>

namespace imprint::core {

/// Whether an outbox row can go upstream now: a certificate once it has left the station
/// (verified on a device, or issued from a request file) and its request is on record; a
/// revocation once the upstream certified that key. Shared by the sync and the offline export.
struct Readiness {
    enum class Verdict { Send, Wait, Skip };
    Verdict verdict = Verdict::Wait;
    QString why; ///< Skip: the reason the row keeps
};
[[nodiscard]] Readiness readiness(const OutboxWork& row);
/// The CRLReason of a revocation row: superseded, or cessationOfOperation (scrapped).
[[nodiscard]] int revocationReason(const OutboxWork& row);

/// What one round of the sync did.
struct SyncRound {
    int certified = 0; ///< certificate rows confirmed
    int answered = 0; ///< certified and recorded, confirmation not acknowledged
    int revoked = 0;
    int waiting = 0; ///< the upstream asked to poll
    int rejected = 0;
    int failed = 0; ///< did not get through (or the answer was refused); tried again later
    int skipped = 0;
    bool unreachable = false; ///< the round stopped: the upstream could not be reached
    QString lastError;
    QString leaseHolder; ///< not empty: another process syncs; this round did nothing
    [[nodiscard]] int acted() const { return certified + answered + revoked + waiting + rejected + failed + skipped; }
};

/// The sync worker's logic: through the outbox in order, in batches, with one CMP client
/// (one kept-alive connection). A certificate goes up once it has left the station
/// (verified on a device, or issued from a request file); a revocation only after its
/// certificate, and only when the upstream certified that key. Each answer is recorded in
/// the row's state with what it brings. A row the upstream makes wait is polled within
/// this process; after a restart its request is made afresh (OpenSSL keeps the transaction
/// only in memory). Runs on one thread, on a store connection of its own.
class UpstreamSync {
public:
    UpstreamSync(RecordStore& store, CmpClient& client, const UpstreamConfig& config);
    ~UpstreamSync();

    /// One round: the rows due now, up to the batch size, under the sync lease.
    [[nodiscard]] Result<SyncRound> round();
    /// Rounds until nothing is due (waiting rows polled as they come due, within the total
    /// timeout) or the upstream cannot be reached.
    [[nodiscard]] Result<SyncRound> drain();
    /// Gives the sync lease back (the process is stopping).
    void release();
    /// Asks a round or drain in progress (on another thread) to end after its current row.
    void requestStop() { m_stop = true; }

    /// The lease's name and this process's holder name.
    static const QString LeaseName;
    [[nodiscard]] const QString& holder() const { return m_holder; }

private:
    struct Outcome;
    Result<void> handle(const OutboxWork& row, SyncRound& round);
    /// Takes or renews the sync lease; false (with the holder in `r`) while another has it.
    Result<bool> holdLease(SyncRound& r);
    QDateTime backoff(int attempts) const;

    RecordStore& m_store;
    CmpClient& m_client;
    UpstreamConfig m_config;
    QString m_holder;
    QHash<qint64, std::shared_ptr<CmpClient::Enrollment>> m_waiting;
    std::atomic<bool> m_stop { false };
};

} // namespace imprint::core
