#include "engine/UpstreamSync.h"

#include <QRandomGenerator>
#include <QRegularExpression>
#include <QSysInfo>
#include <QThread>
#include <QUuid>

#include <cmath>

#include <cerrno>
#include <csignal>

#include <unistd.h>

namespace imprint::core {

const QString UpstreamSync::LeaseName = QStringLiteral("upstream-sync");

namespace {

/// A holder name says where it runs: "HOST pid N (...)".
QString holderName()
{
    return QStringLiteral("%1 pid %2 (%3)")
        .arg(QSysInfo::machineHostName())
        .arg(::getpid())
        .arg(QUuid::createUuid().toString(QUuid::Id128).left(8));
}

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
    , m_holder(holderName())
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

Result<SyncRound> UpstreamSync::round()
{
    SyncRound r;
    auto held = holdLease(r);
    if (!held)
        return std::unexpected(held.error());
    if (!*held)
        return r;
    // Up to batch-size rows acted on; rows that must wait (a certificate its device has not
    // proven yet, a revocation behind its certificate) are paged past, never in the way.
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (qint64 after = 0; r.acted() < m_config.batchSize && !m_stop;) {
        auto due = m_store.outbox().due(now, m_config.batchSize, after);
        if (!due)
            return std::unexpected(due.error());
        for (const OutboxWork& row : *due) {
            if (m_stop || r.acted() >= m_config.batchSize)
                return r;
            auto still = holdLease(r);
            if (!still)
                return std::unexpected(still.error());
            if (!*still)
                return r;
            if (auto h = handle(row, r); !h)
                return std::unexpected(h.error());
            if (r.unreachable)
                return r; // the rest waits for the upstream to come back
        }
        if (due->size() < m_config.batchSize)
            break;
        after = due->last().entry.id;
    }
    return r;
}

Result<SyncRound> UpstreamSync::drain()
{
    SyncRound total;
    const QDateTime until = QDateTime::currentDateTimeUtc().addSecs(m_config.totalTimeoutS);
    while (!m_stop) {
        auto r = round();
        if (!r)
            return r;
        total.certified += r->certified;
        total.answered += r->answered;
        total.revoked += r->revoked;
        total.waiting = r->waiting;
        total.rejected += r->rejected;
        total.failed += r->failed;
        total.skipped += r->skipped;
        total.unreachable = r->unreachable;
        total.leaseHolder = r->leaseHolder;
        if (!r->lastError.isEmpty())
            total.lastError = r->lastError;
        if (r->unreachable || !r->leaseHolder.isEmpty())
            return total;
        if (r->acted() > r->waiting)
            continue; // more may be due now
        if (m_stop || m_waiting.isEmpty() || QDateTime::currentDateTimeUtc() > until)
            return total;
        QThread::msleep(200); // a row waits for its checkAfter
    }
    return total;
}

Result<void> UpstreamSync::handle(const OutboxWork& row, SyncRound& round)
{
    Outbox& outbox = m_store.outbox();
    const qint64 id = row.entry.id;
    CmpAnswer answer;
    const Readiness ready = readiness(row);
    if (ready.verdict == Readiness::Verdict::Wait)
        return {};
    if (ready.verdict == Readiness::Verdict::Skip) {
        ++round.skipped;
        return outbox.skip(id, ready.why);
    }
    if (row.entry.kind == OutboxKind::Certificate) {
        std::shared_ptr<CmpClient::Enrollment> enrollment = m_waiting.value(id);
        if (!enrollment) {
            auto made = m_client.enrollment(row.request);
            if (!made) {
                ++round.failed;
                return outbox.recordFailure(row, made.error().text(), backoff(row.entry.attempts + 1));
            }
            enrollment = std::move(*made);
            if (auto r = outbox.markSent(id); !r)
                return r;
        }
        const CmpClient::Record record
            = [&](const QByteArray& upstreamDer) { return outbox.recordCertificate(row, upstreamDer); };
        answer = m_client.step(*enrollment, record);
        if (answer.kind == CmpAnswer::Kind::Waiting)
            m_waiting.insert(id, enrollment);
        else
            m_waiting.remove(id);
    } else {
        if (auto r = outbox.markSent(id); !r)
            return r;
        answer = m_client.revoke(row.upstreamDer, revocationReason(row));
    }

    // Reached: an answer that passed OpenSSL's checks came (not one that failed them).
    if (answer.kind != CmpAnswer::Kind::Unreachable && answer.kind != CmpAnswer::Kind::Refused) {
        if (auto r = outbox.recordContact(true, {}); !r)
            return r;
    }
    switch (answer.kind) {
    case CmpAnswer::Kind::Done:
        if (row.entry.kind == OutboxKind::Certificate)
            ++round.certified;
        else
            ++round.revoked;
        return outbox.confirm(row, answer.status);
    case CmpAnswer::Kind::Answered: ++round.answered; return {};
    case CmpAnswer::Kind::Waiting:
        ++round.waiting;
        return outbox.recordWaiting(id, QDateTime::currentDateTimeUtc().addSecs(answer.checkAfterS), answer.status);
    case CmpAnswer::Kind::Rejected: ++round.rejected; return outbox.reject(row, answer.status);
    case CmpAnswer::Kind::Refused:
        ++round.failed;
        round.lastError = answer.error;
        return outbox.recordFailure(row, answer.error, backoff(row.entry.attempts + 1), answer.error);
    case CmpAnswer::Kind::Unreachable:
        ++round.failed;
        round.unreachable = true;
        round.lastError = answer.error;
        if (auto r = outbox.recordContact(false, answer.error); !r)
            return r;
        return outbox.recordFailure(row, answer.error, backoff(row.entry.attempts + 1));
    }
    return {};
}

} // namespace imprint::core
