#include "UpstreamWorker.h"

#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

#include <QFile>

#include <atomic>

namespace imprint::app {

core::Result<QList<QByteArray>> readCertificateFile(const QString& path, const QString& what)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return core::fail(core::ErrorCode::NotInitialized,
            QStringLiteral("The %1 file %2 cannot be read.").arg(what, path), f.errorString());
    auto certs = core::ossl::certsDerFromPem(f.readAll());
    if (!certs || certs->isEmpty())
        return core::fail(
            core::ErrorCode::BadInput, QStringLiteral("The %1 file %2 holds no PEM certificate.").arg(what, path));
    return certs;
}

core::Result<QList<QByteArray>> readUpstreamAnchors(const core::StationConfig& config)
{
    if (config.upstream.trustedFile.isEmpty())
        return core::fail(core::ErrorCode::NotInitialized,
            QStringLiteral("The upstream's trust anchors are not set; run \"imprintctl upstream configure\"."));
    return readCertificateFile(config.upstream.trustedFile, QStringLiteral("upstream trust anchor"));
}

core::Result<UpstreamClient> openUpstreamClient(const core::StationConfig& config, const hsm::CaKey& ca, bool offline)
{
    const core::UpstreamConfig& u = config.upstream;
    if (!offline && !u.configured())
        return core::fail(core::ErrorCode::NotInitialized,
            QStringLiteral("No upstream CA is configured; run \"imprintctl upstream configure --url URL --trusted "
                           "FILE\"."));
    auto ra = hsm::openRaKey(ca, config);
    if (!ra)
        return std::unexpected(ra.error());
    if (u.raCertFile.isEmpty())
        return core::fail(core::ErrorCode::NotInitialized,
            QStringLiteral("The RA key has no certificate; run \"imprintctl ra csr\" and \"imprintctl ra import\"."));
    auto raChain = readCertificateFile(u.raCertFile, QStringLiteral("RA certificate"));
    if (!raChain)
        return std::unexpected(raChain.error());
    auto anchors = readUpstreamAnchors(config);
    if (!anchors)
        return std::unexpected(anchors.error());
    auto client = core::CmpClient::create(core::CmpIdentity { *ra, *raChain, *anchors },
        core::CmpOptions { u.configured() ? u.url : QStringLiteral("http://offline.invalid/"), u.recipient,
            u.messageTimeoutS, u.totalTimeoutS, u.connectTimeoutS, u.implicitConfirm });
    if (!client)
        return std::unexpected(client.error());
    // The upstream's signer, when the settings pin one ([upstream] server-cert or
    // server-name): answers signed by anyone else the anchors vouch for are refused.
    core::CmpSignerPin pin { {}, u.serverName };
    if (!u.serverCertFile.isEmpty()) {
        auto signer = readCertificateFile(u.serverCertFile, QStringLiteral("pinned upstream signer"));
        if (!signer)
            return std::unexpected(signer.error());
        pin.certificate = signer->first();
    }
    if (auto r = (*client)->pinSigner(pin); !r)
        return std::unexpected(r.error());
    return UpstreamClient { std::move(*client), *ra, *raChain };
}

/// Lives on the worker's thread: its store connection, its client, its timer.
class UpstreamWorker::Loop : public QObject {
public:
    Loop(UpstreamWorker* owner, core::DataDir dir, core::StationConfig config, hsm::CaKey ca)
        : m_owner(owner)
        , m_dir(std::move(dir))
        , m_config(std::move(config))
        , m_ca(std::move(ca))
    {
    }

    void begin()
    {
        auto store = core::RecordStore::open(m_dir.database());
        auto upstream
            = store ? openUpstreamClient(m_config, m_ca) : core::Result<UpstreamClient>(std::unexpected(store.error()));
        if (!upstream) {
            emit m_owner->failed(upstream.error().text());
            return;
        }
        m_store = std::make_unique<core::RecordStore>(std::move(*store));
        m_upstream = std::move(*upstream);
        m_sync = std::make_unique<core::UpstreamSync>(*m_store, *m_upstream.client, m_config.upstream);
        m_syncSeen = m_sync.get();
        m_timer = new QTimer(this);
        connect(m_timer, &QTimer::timeout, this, [this] { round(); });
        m_timer->start(m_config.upstream.syncEveryS * 1000);
        round();
    }

    /// From the GUI thread: the round in progress ends after its current row.
    void requestStop()
    {
        if (core::UpstreamSync* sync = m_syncSeen.load())
            sync->requestStop(); // alive: end(), which frees it, runs after this on the worker's thread
    }

    void end()
    {
        if (m_timer)
            m_timer->stop();
        if (m_sync)
            m_sync->release();
        m_syncSeen = nullptr;
        m_sync.reset();
        m_upstream = {};
        m_store.reset();
    }

    void round()
    {
        if (!m_sync)
            return;
        auto r = m_sync->drain();
        if (!r) {
            emit m_owner->failed(r.error().text());
            return;
        }
        if (r->acted() > 0)
            emit m_owner->roundDone(
                QStringLiteral("upstream: %1 confirmed, %2 revoked, %3 waiting, %4 rejected, %5 failed")
                    .arg(r->certified)
                    .arg(r->revoked)
                    .arg(r->waiting)
                    .arg(r->rejected)
                    .arg(r->failed));
        if (!r->lastError.isEmpty())
            emit m_owner->failed(r->lastError);
    }

private:
    UpstreamWorker* m_owner;
    core::DataDir m_dir;
    core::StationConfig m_config;
    hsm::CaKey m_ca;
    std::unique_ptr<core::RecordStore> m_store;
    UpstreamClient m_upstream;
    std::atomic<core::UpstreamSync*> m_syncSeen { nullptr };
    std::unique_ptr<core::UpstreamSync> m_sync;
    QTimer* m_timer = nullptr;
};

UpstreamWorker::UpstreamWorker(core::DataDir dir, core::StationConfig config, hsm::CaKey ca)
    : m_dir(std::move(dir))
    , m_config(std::move(config))
    , m_ca(std::move(ca))
{
    m_thread.setObjectName(QStringLiteral("upstream-sync"));
}

UpstreamWorker::~UpstreamWorker()
{
    stop();
}

core::Result<void> UpstreamWorker::start()
{
    if (!m_config.upstream.configured())
        return core::fail(core::ErrorCode::NotInitialized, QStringLiteral("No upstream CA is configured."));
    m_loop = new Loop(this, m_dir, m_config, m_ca);
    m_loop->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_loop, &QObject::deleteLater);
    m_thread.start();
    QMetaObject::invokeMethod(
        m_loop, [loop = m_loop] { loop->begin(); }, Qt::QueuedConnection);
    return {};
}

void UpstreamWorker::syncNow()
{
    if (m_thread.isRunning())
        QMetaObject::invokeMethod(
            m_loop, [loop = m_loop] { loop->round(); }, Qt::QueuedConnection);
}

void UpstreamWorker::stop()
{
    if (!m_thread.isRunning())
        return;
    QMetaObject::invokeMethod(
        m_loop, [loop = m_loop] { loop->end(); }, Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
    m_loop = nullptr;
}

} // namespace imprint::app
