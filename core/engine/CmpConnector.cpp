#include "engine/CmpConnector.h"

#include <openssl/crypto.h>

namespace imprint::core {

CmpConnector::CmpConnector(std::vector<CmpClient*> clients, std::function<QDateTime(int)> backoff)
    : m_backoff(std::move(backoff))
{
    for (CmpClient* client : clients)
        m_lanes.emplace_back([this, client] { lane(client); });
}

CmpConnector::~CmpConnector()
{
    {
        std::lock_guard lock(m_mutex);
        m_closing = true;
        m_stop = true;
    }
    m_toLanes.notify_all();
    m_recorded.notify_all();
    for (std::thread& t : m_lanes)
        t.join();
}

void CmpConnector::requestStop()
{
    m_stop = true;
    m_toDriver.notify_all();
}

void CmpConnector::lane(CmpClient* client)
{
    for (;;) {
        Job job;
        {
            std::unique_lock lock(m_mutex);
            m_toLanes.wait(lock, [this] { return m_closing || !m_jobs.empty(); });
            if (m_closing && m_jobs.empty())
                break;
            job = std::move(m_jobs.front());
            m_jobs.pop_front();
        }
        Event out;
        out.row = job.row;
        if (job.row.entry.kind == OutboxKind::Certificate) {
            std::shared_ptr<CmpClient::Enrollment> enrollment = std::move(job.enrollment);
            if (!enrollment) {
                auto made = client->enrollment(job.row.request);
                if (made)
                    enrollment = std::move(*made);
                else
                    out.setupError = made.error().text();
            }
            if (enrollment) {
                // The upstream's certificate is recorded by the driver, synced, before this
                // lane confirms it.
                const CmpClient::Record record = [this, &job](const QByteArray& der) -> Result<void> {
                    RecordWait wait;
                    {
                        std::lock_guard lock(m_mutex);
                        Event e;
                        e.row = job.row;
                        e.certificate = der;
                        e.wait = &wait;
                        m_events.push_back(std::move(e));
                    }
                    m_toDriver.notify_one();
                    std::unique_lock lock(m_mutex);
                    m_recorded.wait(lock, [&] { return wait.done || m_closing; });
                    if (!wait.done)
                        return fail(ErrorCode::Cancelled, QStringLiteral("the sync stopped before it was recorded"));
                    return wait.result;
                };
                out.answer = client->step(*enrollment, record);
                out.enrollment = std::move(enrollment);
            }
        } else {
            out.answer = client->revoke(job.row.upstreamDer, revocationReason(job.row));
        }
        {
            std::lock_guard lock(m_mutex);
            m_events.push_back(std::move(out));
        }
        m_toDriver.notify_one();
    }
    OPENSSL_thread_stop(); // this thread's OpenSSL state goes with it, not at the process's exit
}

Result<void> CmpConnector::submit(const OutboxWork& row, Outbox::Writer& answers, SyncRound& round)
{
    if (m_stop || m_halted)
        return {};
    // Room first: at most one row per lane in flight.
    if (auto r = pump(answers, round, true); !r)
        return r;
    if (m_stop || m_halted)
        return {};
    Job job { row, m_waiting.take(row.entry.id) };
    if (!job.enrollment) {
        if (auto r = answers.markSent(row.entry.id); !r)
            return r;
    }
    {
        std::lock_guard lock(m_mutex);
        m_jobs.push_back(std::move(job));
        ++m_inFlight;
    }
    m_toLanes.notify_one();
    return {};
}

Result<void> CmpConnector::flush(Outbox::Writer& answers, SyncRound& round)
{
    for (;;) {
        {
            std::lock_guard lock(m_mutex);
            if (m_inFlight == 0 && m_events.empty())
                break;
        }
        if (auto r = pump(answers, round, false); !r)
            return r;
    }
    return answers.commit();
}

Result<void> CmpConnector::pump(Outbox::Writer& answers, SyncRound& round, bool room)
{
    for (;;) {
        std::deque<Event> events;
        {
            std::unique_lock lock(m_mutex);
            // One row goes alone until the upstream has answered in this round: one that
            // cannot be reached costs one row's attempt, not one per lane.
            const int lanes = m_reached ? static_cast<int>(m_lanes.size()) : 1;
            const auto free = [&] { return m_inFlight < lanes; };
            if (room && free() && m_events.empty())
                return {};
            m_toDriver.wait(lock, [&] { return !m_events.empty() || (room && (free() || m_stop)); });
            events.swap(m_events);
        }
        std::vector<RecordWait*> waiting;
        Result<void> applied;
        for (Event& e : events) {
            if (e.wait) {
                waiting.push_back(e.wait);
            } else {
                std::lock_guard lock(m_mutex);
                --m_inFlight;
            }
            if (!applied)
                continue; // the lanes still hear of it
            applied = e.wait ? answers.recordCertificate(e.row, e.certificate) : apply(e, answers, round);
        }
        // One commit for every answer that came together: the lanes that wait for their
        // certificate's record go on once it is synced.
        Result<void> committed = applied ? answers.commit() : applied;
        if (!waiting.empty()) {
            {
                std::lock_guard lock(m_mutex);
                for (RecordWait* w : waiting) {
                    w->result = committed;
                    w->done = true;
                }
            }
            m_recorded.notify_all();
        }
        if (!committed)
            return committed;
        if (!room || m_stop)
            return {};
    }
}

Result<void> CmpConnector::apply(Event& e, Outbox::Writer& answers, SyncRound& round)
{
    const OutboxWork& row = e.row;
    const qint64 id = row.entry.id;
    if (!e.setupError.isEmpty()) {
        ++round.failed;
        return answers.recordFailure(row, e.setupError, m_backoff(row.entry.attempts + 1));
    }
    const CmpAnswer& answer = e.answer;
    if (row.entry.kind == OutboxKind::Certificate && answer.kind == CmpAnswer::Kind::Waiting)
        m_waiting.insert(id, e.enrollment);
    if (answer.kind != CmpAnswer::Kind::Unreachable)
        m_reached = true;
    // Reached: an answer that passed OpenSSL's checks came (not one that failed them).
    if (answer.kind != CmpAnswer::Kind::Unreachable && answer.kind != CmpAnswer::Kind::Refused) {
        if (auto r = answers.recordContact(true, {}); !r)
            return r;
    }
    switch (answer.kind) {
    case CmpAnswer::Kind::Done:
        if (row.entry.kind == OutboxKind::Certificate)
            ++round.certified;
        else
            ++round.revoked;
        return answers.confirm(row, answer.status);
    case CmpAnswer::Kind::Answered: ++round.answered; return {};
    case CmpAnswer::Kind::Waiting:
        ++round.waiting;
        return answers.recordWaiting(id, QDateTime::currentDateTimeUtc().addSecs(answer.checkAfterS), answer.status);
    case CmpAnswer::Kind::Rejected: ++round.rejected; return answers.reject(row, answer.status);
    case CmpAnswer::Kind::Refused:
        ++round.failed;
        round.lastError = answer.error;
        round.lastDetail = answer.detail;
        return answers.recordFailure(row, answer.error, m_backoff(row.entry.attempts + 1), answer.error);
    case CmpAnswer::Kind::Unreachable: {
        ++round.failed;
        round.unreachable = true;
        round.lastError = answer.error;
        round.lastDetail = answer.detail;
        m_halted = true; // the rest waits for the upstream to come back
        const QString said = answer.detail.isEmpty() ? answer.error : answer.error + u'\n' + answer.detail;
        if (auto r = answers.recordContact(false, said); !r)
            return r;
        return answers.recordFailure(row, said, m_backoff(row.entry.attempts + 1));
    }
    }
    return {};
}

} // namespace imprint::core
