#include "plant/PlantPush.h"

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
    return pg::Connection::open(pg::Target { config.conninfo, std::move(*password), config.connectTimeoutS });
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
    auto db = pg::Connection::open(pg::Target { m_config.conninfo, m_password.copy(), m_config.connectTimeoutS });
    if (!db)
        return std::unexpected(db.error());
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
    qint64 done = 0;
    // At most what was waiting when it began (and a batch): changes made meanwhile go next
    // time, and the round always ends.
    const qint64 limit = round.backlog + m_config.batchRows;
    while (!m_stop && done < limit) {
        auto changes = m_store.plant().next(m_config.batchRows);
        if (!changes)
            return std::unexpected(changes.error());
        if (changes->isEmpty())
            break;
        if (auto c = connect(); !c)
            return fail(c.error());
        const qint64 left = std::max<qint64>(0, round.backlog - done - changes->size());
        auto pushed = plant::push(*m_db, m_stationId, *changes, left, m_chainSent ? QByteArray() : m_chainPem);
        if (!pushed)
            return fail(pushed.error());
        m_chainSent = true;
        // Off the queue only now that the plant has committed them.
        if (auto r = m_store.plant().pushed(changes->last().seq, changes->size()); !r)
            return std::unexpected(r.error());
        (void)m_store.outbox().takeLease(LeaseName, m_holder, 300);
        round.pushed += pushed->rows;
        round.again += pushed->again;
        round.flagged += pushed->flagged;
        done += changes->size();
        if (progress)
            progress(done, std::max(done, round.backlog));
    }
    auto left = m_store.plant().backlog();
    round.backlog = left ? *left : 0;
    return round;
}

} // namespace imprint::core
