#pragma once

// The client side of the station service's API (StationService): requests and their answers,
// and the events the service pushes, over the service's socket.

#include "Error.h"

#include <QJsonObject>
#include <QList>
#include <QLocalSocket>

#include <memory>
#include <optional>

namespace imprint::app {

/// Where the station service listens: $IMPRINT_SOCKET, else /run/imprint/station.sock.
[[nodiscard]] QString serviceSocketPath();

/// A connection to the station service. Calls block until their answer (events that arrive
/// meanwhile are kept for nextEvent).
class ServiceClient {
public:
    /// Connects; nothing (no error) when no service listens there, so that a command can
    /// work on the data directory itself.
    [[nodiscard]] static std::optional<core::Result<std::unique_ptr<ServiceClient>>> connectIfRunning(
        const QString& socketPath);

    /// A request's answer: its result, or the service's error as an Error whose reason is
    /// the service's code (and detail, for "credential-required", the role it needs).
    [[nodiscard]] core::Result<QJsonObject> call(const QString& method, const QJsonObject& params = {});
    /// The next event the service pushed, waiting up to `timeoutMs` (-1: for ever);
    /// nothing when none came or the service went away (connected() says which).
    [[nodiscard]] std::optional<QJsonObject> nextEvent(int timeoutMs);
    [[nodiscard]] bool connected() const { return m_socket.state() == QLocalSocket::ConnectedState; }

    /// The service's error code of a failed call ("forbidden", "credential-required", ...).
    [[nodiscard]] static QString codeOf(const core::Error& e) { return e.reason; }

private:
    ServiceClient() = default;
    std::optional<QJsonObject> readMessage(int timeoutMs);

    QLocalSocket m_socket;
    QByteArray m_input;
    QList<QJsonObject> m_events;
    qint64 m_nextId = 1;
};

} // namespace imprint::app
