#include "PlantWorker.h"

#include "pki/OpenSsl.h"

#include <QRandomGenerator>
#include <QTimer>

#include <atomic>
#include <cmath>

namespace imprint::app {

/// Lives on the worker's thread: its store connection, its push, its timer.
class PlantWorker::Loop : public QObject {
public:
    Loop(PlantWorker* owner, core::DataDir dir, core::StationConfig config)
        : m_owner(owner)
        , m_dir(std::move(dir))
        , m_config(std::move(config))
    {
    }

    void begin()
    {
        auto store = core::RecordStore::open(m_dir.database());
        if (!store) {
            emit m_owner->failed(store.error().text());
            return;
        }
        auto password = core::readPlantPassword(m_config.plant);
        if (!password) {
            emit m_owner->failed(password.error().text());
            return;
        }
        QByteArray chain;
        if (auto c = m_dir.loadChain()) {
            for (const QByteArray& der : *c)
                chain += core::ossl::derToPem(der);
        }
        m_store = std::make_unique<core::RecordStore>(std::move(*store));
        m_push = std::make_unique<core::PlantPush>(
            *m_store, m_config.plant, m_config.stationId, std::move(*password), chain);
        m_pushSeen = m_push.get();
        m_timer = new QTimer(this);
        m_timer->setSingleShot(true);
        connect(m_timer, &QTimer::timeout, this, [this] { round(); });
        round();
    }

    void requestStop()
    {
        if (core::PlantPush* push = m_pushSeen.load())
            push->stop();
    }

    void end()
    {
        if (m_timer)
            m_timer->stop();
        if (m_push)
            m_push->release();
        m_pushSeen = nullptr;
        m_push.reset();
        m_store.reset();
    }

    /// Asked for after devices pass: only when not backing off from a failure.
    void nudge()
    {
        if (m_push && m_failures == 0)
            round();
    }

    void round()
    {
        if (!m_push)
            return;
        auto r = m_push->drain();
        int waitS = m_config.plant.pushEveryS;
        if (!r) {
            ++m_failures;
            const double ceiling = std::min<double>(m_config.plant.retryMaxS,
                std::min(5, m_config.plant.pushEveryS) * std::pow(2.0, std::clamp(m_failures - 1, 0, 20)));
            waitS = std::max(1, static_cast<int>(ceiling * (0.5 + 0.5 * QRandomGenerator::global()->generateDouble())));
            emit m_owner->failed(r.error().message);
        } else {
            m_failures = 0;
            if (r->pushed + r->flagged > 0)
                emit m_owner->pushed(QStringLiteral("plant record: %1 change(s) pushed, %2 flagged, %3 waiting")
                                         .arg(r->pushed)
                                         .arg(r->flagged)
                                         .arg(r->backlog));
        }
        m_timer->start(waitS * 1000);
    }

private:
    PlantWorker* m_owner;
    core::DataDir m_dir;
    core::StationConfig m_config;
    std::unique_ptr<core::RecordStore> m_store;
    std::atomic<core::PlantPush*> m_pushSeen { nullptr };
    std::unique_ptr<core::PlantPush> m_push;
    QTimer* m_timer = nullptr;
    int m_failures = 0;
};

PlantWorker::PlantWorker(core::DataDir dir, core::StationConfig config)
    : m_dir(std::move(dir))
    , m_config(std::move(config))
{
    m_thread.setObjectName(QStringLiteral("plant-push"));
}

PlantWorker::~PlantWorker()
{
    stop();
}

core::Result<void> PlantWorker::start()
{
    if (!m_config.plant.configured())
        return core::fail(core::ErrorCode::NotInitialized, QStringLiteral("No plant record is configured."));
    m_loop = new Loop(this, m_dir, m_config);
    m_loop->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_loop, &QObject::deleteLater);
    m_thread.start();
    QMetaObject::invokeMethod(
        m_loop, [loop = m_loop] { loop->begin(); }, Qt::QueuedConnection);
    return {};
}

void PlantWorker::pushNow()
{
    if (m_thread.isRunning())
        QMetaObject::invokeMethod(
            m_loop, [loop = m_loop] { loop->nudge(); }, Qt::QueuedConnection);
}

void PlantWorker::stop()
{
    if (!m_thread.isRunning())
        return;
    m_loop->requestStop();
    QMetaObject::invokeMethod(
        m_loop, [loop = m_loop] { loop->end(); }, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    m_loop = nullptr;
}

} // namespace imprint::app
