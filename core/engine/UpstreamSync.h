#pragma once

#include "DataDir.h"
#include "Error.h"
#include "engine/CmpConnector.h"
#include "engine/Connector.h"
#include "store/RecordStore.h"
#include "upstream/CmpClient.h"

#include <functional>
#include <vector>

#include <atomic>

#include <memory>

namespace imprint::core {

/// The sync worker's logic: through the outbox in order, in rounds of up to batch-size rows,
/// with [upstream] in-flight CMP transactions at once (CmpConnector: a client and connection
/// per lane, the first the one given). A certificate goes up once it has left the station
/// (verified on a device, or issued from a request file); a revocation only after its
/// certificate's answer is recorded, and only when the upstream certified that key. Each
/// answer is recorded in the row's state with what it brings, answers that come together in
/// one commit. A row the upstream makes wait is polled within this process; after a restart
/// its request is made afresh (OpenSSL keeps the transaction only in memory). Driven from one
/// thread, on a store connection of its own; the lanes never touch the store.
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
    /// Asks a round or drain in progress (on another thread) to end: no more rows are sent,
    /// the ones in flight end with their current message.
    void requestStop();
    /// Told the rows acted on so far in a drain (optional; the driver's thread).
    std::function<void(const SyncRound& sofar)> progress;

    /// The lease's name and this process's holder name.
    static const QString LeaseName;
    [[nodiscard]] const QString& holder() const { return m_holder; }

private:
    /// Takes or renews the sync lease; false (with the holder in `r`) while another has it.
    Result<bool> holdLease(SyncRound& r);
    QDateTime backoff(int attempts) const;
    /// The lanes, opened at the first round.
    Result<CmpConnector*> connector();

    RecordStore& m_store;
    CmpClient& m_client;
    UpstreamConfig m_config;
    QString m_holder;
    std::vector<std::unique_ptr<CmpClient>> m_clones;
    std::unique_ptr<CmpConnector> m_connector;
    std::atomic<bool> m_stop { false };
    SyncRound m_sofar; ///< a drain's rows so far, for progress
};

} // namespace imprint::core
