#pragma once

#include "engine/Connector.h"
#include "upstream/CmpClient.h"

#include <QDateTime>
#include <QHash>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace imprint::core {

/// The sync's connector: CMP to the upstream CA, with several transactions in flight. Each
/// lane is a thread with a client of its own (its own OSSL_CMP_CTX per transaction, its own
/// kept-alive connection); the driver's thread alone writes the store. A lane hands the
/// upstream's certificate to the driver and waits until it is committed (synced) before it
/// confirms it; answers that arrive together are recorded in one commit.
class CmpConnector : public Connector {
public:
    /// One lane per client (the clients outlive the connector). `backoff`: when a row that
    /// failed its `attempts`th time is tried again.
    CmpConnector(std::vector<CmpClient*> clients, std::function<QDateTime(int attempts)> backoff);
    ~CmpConnector() override;

    [[nodiscard]] QString name() const override { return QStringLiteral("upstream sync"); }
    [[nodiscard]] Result<void> submit(const OutboxWork& row, Outbox::Writer& answers, SyncRound& round) override;
    [[nodiscard]] Result<void> flush(Outbox::Writer& answers, SyncRound& round) override;
    [[nodiscard]] bool halted() const override { return m_halted; }
    /// A new round: the upstream is tried again, one row first.
    void resume()
    {
        m_halted = false;
        m_reached = false;
    }
    /// Rows the upstream makes wait, polled within this process.
    [[nodiscard]] int waiting() const { return static_cast<int>(m_waiting.size()); }
    [[nodiscard]] int lanes() const { return static_cast<int>(m_lanes.size()); }
    /// Any thread: no more rows are taken; the lanes end their current message.
    void requestStop();

private:
    struct Job {
        OutboxWork row;
        std::shared_ptr<CmpClient::Enrollment> enrollment; ///< a waiting one, polled again
    };
    /// A lane waits on it while the driver records the upstream's certificate.
    struct RecordWait {
        bool done = false;
        Result<void> result;
    };
    struct Event {
        OutboxWork row;
        QByteArray certificate; ///< record: the upstream's certificate
        RecordWait* wait = nullptr; ///< record: the lane waiting for the commit
        CmpAnswer answer; ///< outcome
        QString setupError; ///< outcome: the request could not be made
        std::shared_ptr<CmpClient::Enrollment> enrollment; ///< outcome of a certificate request
    };

    void lane(CmpClient* client);
    /// Records the events that came, at least one unless `block` is false, committing what
    /// lanes wait for. With `room`, returns once a lane is free.
    Result<void> pump(Outbox::Writer& answers, SyncRound& round, bool room);
    Result<void> apply(Event& e, Outbox::Writer& answers, SyncRound& round);

    std::function<QDateTime(int)> m_backoff;
    std::mutex m_mutex;
    std::condition_variable m_toLanes;
    std::condition_variable m_toDriver;
    std::condition_variable m_recorded;
    std::deque<Job> m_jobs;
    std::deque<Event> m_events;
    int m_inFlight = 0; ///< taken and not yet answered
    bool m_reached = false; ///< an answer came this round (driver's thread)
    bool m_closing = false;
    std::atomic<bool> m_halted { false };
    std::atomic<bool> m_stop { false };
    std::vector<std::thread> m_lanes;
    QHash<qint64, std::shared_ptr<CmpClient::Enrollment>> m_waiting; ///< driver's thread only
};

} // namespace imprint::core
