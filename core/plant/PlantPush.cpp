#include "plant/PlantPush.h"

#include <deque>

namespace imprint::core {

const QString PlantPush::LeaseName = QStringLiteral("plant-push");

Result<Secret> readPlantPassword(const PlantConfig& config)
{
    if (config.passwordFile.isEmpty())
        return Secret {};
    return DataDir::readSecretFile(config.passwordFile);
}

Result<pg::Connection> openPlant(const PlantConfig& config)
{
    if (!config.configured())
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("No plant record is configured (imprintctl plant configure --conninfo ...)."));
    auto password = readPlantPassword(config);
    if (!password)
        return std::unexpected(password.error());
    return pg::Connection::open(
        pg::Target { config.conninfo, std::move(*password), config.connectTimeoutS, config.answerTimeoutS });
}

PlantPush::PlantPush(RecordStore& store, PlantConfig config, QString stationId, Secret password, QByteArray chainPem)
    : m_store(store)
    , m_config(std::move(config))
    , m_stationId(std::move(stationId))
    , m_password(std::move(password))
    , m_chainPem(std::move(chainPem))
    , m_holder(Outbox::newHolderName())
{
}

PlantPush::~PlantPush() = default;

void PlantPush::release()
{
    (void)m_store.outbox().releaseLease(LeaseName, m_holder);
}

Result<void> PlantPush::connect()
{
    if (m_db && m_db->isOpen())
        return {};
    // Named for the station: its own earlier push sessions are found by that name.
    const QString application = QStringLiteral("imprint-push %1").arg(m_stationId);
    auto db = pg::Connection::open(pg::Target {
        m_config.conninfo, m_password.copy(), m_config.connectTimeoutS, m_config.answerTimeoutS, application });
    if (!db)
        return std::unexpected(db.error());
    // An earlier push of this station whose network was cut without a word may still hold its
    // session on the server, inside its transaction, with the rows it sent locked: the new
    // push would wait for them. This process holds the station's push lease, so any other
    // push session of the station is such a leftover: ended here (a role may end its own).
    if (auto ended = db->exec(QStringLiteral("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE "
                                             "usename = current_user AND application_name = $1 AND pid <> "
                                             "pg_backend_pid()"),
            pg::Params().text(application), QStringLiteral("end the station's earlier push sessions"));
        !ended)
        return std::unexpected(ended.error());
    if (auto p = db->beginPipeline(); !p)
        return std::unexpected(p.error());
    m_db = std::move(*db);
    m_chainSent = false;
    return {};
}

Result<PlantRound> PlantPush::drain(const std::function<void(qint64, qint64)>& progress)
{
    PlantRound round;
    auto taken = m_store.outbox().takeLease(LeaseName, m_holder, 300);
    if (!taken)
        return std::unexpected(taken.error());
    if (!*taken) {
        auto lease = m_store.outbox().lease(LeaseName);
        round.leaseHolder = lease && *lease ? (*lease)->first : QStringLiteral("another process");
        return round;
    }
    auto total = m_store.plant().backlog();
    if (!total)
        return std::unexpected(total.error());
    round.backlog = *total;
    auto fail = [&](const Error& e) -> Result<PlantRound> {
        (void)m_store.plant().failed(e.detail.isEmpty() ? e.message : e.message + u'\n' + e.detail);
        m_db.reset(); // a connection that failed once is made afresh
        return std::unexpected(e);
    };
    // At most what was waiting when it began (and a batch): changes made meanwhile go next
    // time, and the round always ends.
    const qint64 limit = round.backlog + m_config.batchRows;
    qint64 sentRows = 0;
    qint64 done = 0;
    // Two batches in flight: the server takes one while the other waits behind it, and the
    // station composes the third meanwhile. A batch leaves the queue only once its own
    // COMMIT has answered; on any error none after it does (they all go again).
    struct InFlight {
        QList<PlantChange> changes;
        plant::SentPush sent;
    };
    std::deque<InFlight> flight;
    // Left with answers unread (an error here, at the station), the connection is not used again.
    struct Drop {
        PlantPush& push;
        const std::deque<InFlight>& flight;
        ~Drop()
        {
            if (!flight.empty())
                push.m_db.reset();
        }
    } drop { *this, flight };
    auto batch = m_store.plant().next(m_config.batchRows);
    for (;;) {
        if (!batch)
            return fail(batch.error());
        const bool more = !m_stop && !batch->isEmpty() && sentRows < limit;
        if (more) {
            if (auto c = connect(); !c)
                return fail(c.error());
            const qint64 left = std::max<qint64>(0, round.backlog - sentRows - batch->size());
            auto sent = plant::sendPush(*m_db, m_stationId, *batch, left, m_chainSent ? QByteArray() : m_chainPem);
            if (!sent)
                return fail(sent.error());
            m_chainSent = true;
            sentRows += batch->size();
            const qint64 last = batch->last().seq;
            flight.push_back(InFlight { std::move(*batch), std::move(*sent) });
            batch = sentRows < limit ? m_store.plant().next(m_config.batchRows, last) : QList<PlantChange> {};
            if (flight.size() < 2)
                continue;
        }
        if (flight.empty())
            break;
        auto pushed = plant::receivePush(*m_db, flight.front().sent);
        if (!pushed)
            return fail(pushed.error());
        const QList<PlantChange>& changes = flight.front().changes;
        // Off the queue only now that the plant has committed them.
        if (auto r = m_store.plant().pushed(changes.last().seq, changes.size()); !r)
            return std::unexpected(r.error());
        (void)m_store.outbox().takeLease(LeaseName, m_holder, 300);
        round.pushed += pushed->rows;
        round.again += pushed->again;
        round.flagged += pushed->flagged;
        done += changes.size();
        flight.pop_front();
        if (progress)
            progress(done, std::max(done, round.backlog));
    }
    // A connection is not kept between rounds: one the server dropped meanwhile (a restart,
    // an idle timeout) never fails the next round.
    m_db.reset();
    auto left = m_store.plant().backlog();
    round.backlog = left ? *left : 0;
    return round;
}

} // namespace imprint::core
