#pragma once

// The ways out of the station for the outbox's rows. Every record that must reach the
// upstream is an outbox row; a connector carries rows somewhere and brings the answers back
// into the outbox. The sync (CMP to the upstream CA, online) and the offline export (signed
// batch parts on a stick) are connectors; the plant record is meant to be one more.
//
// One driver pages through the rows a connector may act on, asks it whether it carries each
// now (the rules every way out shares: readiness()), hands it the rows it carries, and
// records what comes back through an Outbox::Writer: many answers in one transaction.

#include "Error.h"
#include "domain/Records.h"
#include "store/Outbox.h"

#include <QString>

namespace imprint::core {

/// Whether an outbox row can go upstream now: a certificate once it has left the station
/// (verified on a device, or issued from a request file) and its request is on record; a
/// revocation once the upstream certified that key. Shared by every connector.
struct Readiness {
    enum class Verdict { Send, Wait, Skip };
    Verdict verdict = Verdict::Wait;
    QString why; ///< Skip: the reason the row keeps
};
[[nodiscard]] Readiness readiness(const OutboxWork& row);
/// The CRLReason of a revocation row: superseded, or cessationOfOperation (scrapped).
[[nodiscard]] int revocationReason(const OutboxWork& row);

/// What a connector did with the rows it was given (one round of the sync, one export).
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
    QString lastDetail; ///< OpenSSL's words for lastError, if any
    QString leaseHolder; ///< not empty: another process syncs; this round did nothing
    [[nodiscard]] int acted() const { return certified + answered + revoked + waiting + rejected + failed + skipped; }
    void add(const SyncRound& r);
};

class Connector {
public:
    virtual ~Connector() = default;
    /// Its name in messages and progress lines ("upstream sync", "export").
    [[nodiscard]] virtual QString name() const = 0;
    /// Whether it carries `row` now; by default the rules every way out shares.
    [[nodiscard]] virtual Readiness carries(const OutboxWork& row) const { return readiness(row); }
    /// Takes one row it carries. It may wait for room (rows in flight), recording the answers
    /// that came meanwhile with `answers`, and counting them in `round`.
    [[nodiscard]] virtual Result<void> submit(const OutboxWork& row, Outbox::Writer& answers, SyncRound& round) = 0;
    /// Waits until every row it took is answered or written, recording as submit() does.
    [[nodiscard]] virtual Result<void> flush(Outbox::Writer& answers, SyncRound& round) = 0;
    /// True once it can take no more rows for now (the upstream cannot be reached).
    [[nodiscard]] virtual bool halted() const { return false; }
};

} // namespace imprint::core
