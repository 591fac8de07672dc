#pragma once

#include "DataDir.h"
#include "Error.h"
#include "StationSetup.h"
#include "engine/UpstreamSync.h"
#include "upstream/CmpClient.h"

#include <QObject>
#include <QThread>
#include <QTimer>

#include <memory>

namespace imprint::app {

/// The way upstream, opened: the CMP client over the RA key in the token, and what it signs with.
struct UpstreamClient {
    std::unique_ptr<core::CmpClient> client;
    std::shared_ptr<core::Signer> raKey;
    QList<QByteArray> raChain; ///< the RA certificate first
};

/// A PEM file of certificates, as DER; `what` names it in the error when it holds none.
[[nodiscard]] core::Result<QList<QByteArray>> readCertificateFile(const QString& path, const QString& what);

/// The upstream's trust anchors named in the settings.
[[nodiscard]] core::Result<QList<QByteArray>> readUpstreamAnchors(const core::StationConfig& config);

/// Opens the CMP client from the settings ([upstream]) over the RA key in `ca`'s token.
/// `offline`: no URL is needed (an export writes the messages, it does not send them).
[[nodiscard]] core::Result<UpstreamClient> openUpstreamClient(
    const core::StationConfig& config, const hsm::CaKey& ca, bool offline = false);

/// The window's sync: UpstreamSync on a thread of its own (never the GUI's nor the
/// Registrar's), on a store connection of its own, a round every [upstream] sync-every-s.
/// The line never waits for it. Reports each round that did something, and errors.
class UpstreamWorker : public QObject {
    Q_OBJECT
public:
    /// Does nothing (and says why in `notStarted`) when no upstream is configured.
    UpstreamWorker(core::DataDir dir, core::StationConfig config, hsm::CaKey ca);
    ~UpstreamWorker() override;

    [[nodiscard]] core::Result<void> start();
    /// Asks for a round now (devices have passed), without waiting for it.
    void syncNow();
    /// Lets a round in progress end, gives the lease back and stops the thread.
    void stop();

signals:
    void roundDone(const QString& summary);
    void failed(const QString& message);

private:
    class Loop;
    core::DataDir m_dir;
    core::StationConfig m_config;
    hsm::CaKey m_ca;
    QThread m_thread;
    Loop* m_loop = nullptr;
};

} // namespace imprint::app
