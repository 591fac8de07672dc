#include "engine/UpstreamSync.h"

#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSysInfo>
#include <QThread>

#include <cmath>

#include <cerrno>
#include <csignal>

#include <unistd.h>

namespace imprint::core {

const QString UpstreamSync::LeaseName = QStringLiteral("upstream-sync");

namespace {

/// True when `holder` ran on this host in a process that no longer exists.
bool holderGone(const QString& holder)
{
    static const QRegularExpression form(QStringLiteral("^(.*) pid (\\d+) \\("));
    const auto m = form.match(holder);
    if (!m.hasMatch() || m.captured(1) != QSysInfo::machineHostName())
        return false;
    const pid_t pid = static_cast<pid_t>(m.captured(2).toLongLong());
    return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

void SyncRound::add(const SyncRound& r)
{
    certified += r.certified;
    answered += r.answered;
    revoked += r.revoked;
    waiting = r.waiting;
    rejected += r.rejected;
    failed += r.failed;
    skipped += r.skipped;
    unreachable = r.unreachable;
    leaseHolder = r.leaseHolder;
    if (!r.lastError.isEmpty()) {
        lastError = r.lastError;
        lastDetail = r.lastDetail;
    }
}

Readiness readiness(const OutboxWork& row)
{
    using V = Readiness::Verdict;
    if (row.entry.kind == OutboxKind::Certificate) {
        if (row.localDer.isEmpty())
            return { V::Skip, QStringLiteral("the certificate is not on record") };
        if (row.certificateState == CertificateState::Superseded)
            return { V::Skip, QStringLiteral("superseded before it left the station: never sent") };
        const bool left = row.certificateState == CertificateState::Verified
            || row.certificateState == CertificateState::Revoked || row.jobResult == JobOutcome::Issued;
        if (!left)
            return { V::Wait, {} }; // its device has not taken it yet
        if (row.request.isEmpty())
            return { V::Skip,
                QStringLiteral("issued before the station kept device requests: carry its certificate upstream by "
                               "hand (imprintctl export writes it)") };
        return { V::Send, {} };
    }
    const auto certRow = row.certificateRow;
    if (!certRow || *certRow == OutboxState::Skipped)
        return { V::Skip, QStringLiteral("the upstream never certified this key: nothing to revoke there") };
    // A rejected certificate may yet be certified after an administrator's retry: its
    // revocation waits for it.
    if (*certRow != OutboxState::Confirmed && *certRow != OutboxState::Answered)
        return { V::Wait, {} }; // its certificate goes first
    if (row.upstreamDer.isEmpty())
        return { V::Skip, QStringLiteral("no upstream certificate is on record to revoke") };
    return { V::Send, {} };
}

int revocationReason(const OutboxWork& row)
{
    // Recorded with the revocation (schema 8 set it for the rows before it).
    return row.entry.reason >= 0 ? row.entry.reason : crl_reason::CessationOfOperation;
}

UpstreamSync::UpstreamSync(RecordStore& store, CmpClient& client, const UpstreamConfig& config)
    : m_store(store)
    , m_client(client)
    , m_config(config)
    , m_holder(Outbox::newHolderName())
{
}

UpstreamSync::~UpstreamSync() = default;

void UpstreamSync::release()
{
    (void)m_store.outbox().releaseLease(LeaseName, m_holder);
}

QDateTime UpstreamSync::backoff(int attempts) const
{
    // Doubling from retry-min-s up to retry-max-s, each wait drawn from its upper half
    // (jitter: stations that lost the upstream together do not come back together).
    const double ceiling
        = std::min<double>(m_config.retryMaxS, m_config.retryMinS * std::pow(2.0, std::clamp(attempts - 1, 0, 30)));
    const double wait = ceiling * (0.5 + 0.5 * QRandomGenerator::global()->generateDouble());
    return QDateTime::currentDateTimeUtc().addMSecs(static_cast<qint64>(wait * 1000));
}

Result<bool> UpstreamSync::holdLease(SyncRound& r)
{
    // Renewed at every row: it outlasts one row's worst case (its messages' timeouts, with
    // room), and a holder that stops renewing is gone once it runs out, or at once when it
    // ran here and its process has ended.
    const int seconds = std::max(120, 6 * m_config.messageTimeoutS);
    auto taken = m_store.outbox().takeLease(LeaseName, m_holder, seconds);
    if (!taken || *taken)
        return taken;
    auto lease = m_store.outbox().lease(LeaseName);
    if (!lease)
        return std::unexpected(lease.error());
    if (*lease && holderGone((*lease)->first)) {
        auto over = m_store.outbox().takeLeaseFrom(LeaseName, (*lease)->first, m_holder, seconds);
        if (!over || *over)
            return over;
    }
    r.leaseHolder = *lease ? (*lease)->first : QStringLiteral("another process");
    return false;
}

void UpstreamSync::requestStop()
{
    m_stop = true;
    if (m_connector)
        m_connector->requestStop();
}

Result<CmpConnector*> UpstreamSync::connector()
{
    if (!m_connector) {
        // One lane per transaction in flight: the client given, and copies of it on
        // connections of their own.
        std::vector<CmpClient*> clients { &m_client };
        for (int i = 1; i < m_config.inFlight; ++i) {
            auto c = m_client.clone();
            if (!c)
                return std::unexpected(c.error());
            clients.push_back(c->get());
            m_clones.push_back(std::move(*c));
        }
        m_connector = std::make_unique<CmpConnector>(clients, [this](int attempts) { return backoff(attempts); });
        if (m_stop)
            m_connector->requestStop();
    }
    return m_connector.get();
}

Result<SyncRound> UpstreamSync::round()
{
    SyncRound r;
    auto held = holdLease(r);
    if (!held)
        return std::unexpected(held.error());
    if (!*held)
        return r;
    auto lanes = connector();
    if (!lanes)
        return std::unexpected(lanes.error());
    CmpConnector& out = **lanes;
    out.resume();
    Outbox::Writer answers = m_store.outbox().writer();
    // Up to batch-size rows taken; rows that must wait (a certificate its device has not
    // proven yet, a revocation behind its certificate's answer) are paged past, never in the
    // way. The lease is renewed as the round goes (its own transaction: the answers so far
    // are committed first).
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QElapsedTimer sinceLease;
    sinceLease.start();
    const qint64 renewMs = 1000LL * std::max(120, 6 * m_config.messageTimeoutS) / 4;
    int taken = 0;
    auto stopped = [&] { return m_stop || out.halted() || taken >= m_config.batchSize; };
    for (qint64 after = 0; !stopped();) {
        auto due = m_store.outbox().due(now, m_config.batchSize, after);
        if (!due)
            return std::unexpected(due.error());
        for (const OutboxWork& row : *due) {
            if (stopped())
                break;
            if (sinceLease.elapsed() > renewMs) {
                if (auto c = answers.commit(); !c)
                    return std::unexpected(c.error());
                auto still = holdLease(r);
                if (!still)
                    return std::unexpected(still.error());
                if (!*still)
                    break;
                sinceLease.restart();
            }
            const Readiness ready = out.carries(row);
            if (ready.verdict == Readiness::Verdict::Wait)
                continue;
            ++taken;
            if (ready.verdict == Readiness::Verdict::Skip) {
                ++r.skipped;
                if (auto s = answers.skip(row.entry.id, ready.why); !s)
                    return std::unexpected(s.error());
                continue;
            }
            if (auto s = out.submit(row, answers, r); !s)
                return std::unexpected(s.error());
            if (progress) {
                SyncRound sofar = m_sofar;
                sofar.add(r);
                progress(sofar);
            }
        }
        if (due->size() < m_config.batchSize)
            break;
        after = due->last().entry.id;
    }
    if (auto f = out.flush(answers, r); !f)
        return std::unexpected(f.error());
    return r;
}

Result<SyncRound> UpstreamSync::drain()
{
    SyncRound total;
    m_sofar = {};
    const QDateTime until = QDateTime::currentDateTimeUtc().addSecs(m_config.totalTimeoutS);
    while (!m_stop) {
        auto r = round();
        if (!r)
            return r;
        total.add(*r);
        m_sofar = total;
        if (progress)
            progress(total);
        if (r->unreachable || !r->leaseHolder.isEmpty())
            return total;
        if (r->acted() > r->waiting)
            continue; // more may be due now
        if (m_stop || !m_connector || m_connector->waiting() == 0 || QDateTime::currentDateTimeUtc() > until)
            return total;
        QThread::msleep(200); // a row waits for its checkAfter
    }
    return total;
}

} // namespace imprint::core
