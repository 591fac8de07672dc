#include "ServiceClient.h"

#include <QDeadlineTimer>
#include <QFileInfo>
#include <QJsonDocument>

namespace imprint::app {

QString serviceSocketPath()
{
    const QString env = qEnvironmentVariable("IMPRINT_SOCKET");
    return env.isEmpty() ? QStringLiteral("/run/imprint/station.sock") : env;
}

std::optional<core::Result<std::unique_ptr<ServiceClient>>> ServiceClient::connectIfRunning(const QString& socketPath)
{
    if (!QFileInfo::exists(socketPath))
        return std::nullopt;
    std::unique_ptr<ServiceClient> c(new ServiceClient);
    c->m_socket.connectToServer(socketPath);
    if (!c->m_socket.waitForConnected(5000)) {
        // A socket left by a service that stopped: nobody listens.
        if (c->m_socket.error() == QLocalSocket::ConnectionRefusedError
            || c->m_socket.error() == QLocalSocket::ServerNotFoundError)
            return std::nullopt;
        return core::Result<std::unique_ptr<ServiceClient>>(core::fail(core::ErrorCode::Io,
            QStringLiteral("Could not reach the station service at %1.").arg(socketPath), c->m_socket.errorString()));
    }
    return core::Result<std::unique_ptr<ServiceClient>>(std::move(c));
}

std::optional<QJsonObject> ServiceClient::readMessage(int timeoutMs)
{
    QDeadlineTimer deadline(timeoutMs < 0 ? QDeadlineTimer::Forever : QDeadlineTimer(timeoutMs));
    for (;;) {
        const qsizetype newline = m_input.indexOf('\n');
        if (newline >= 0) {
            const QByteArray line = m_input.left(newline);
            m_input.remove(0, newline + 1);
            const QJsonDocument doc = QJsonDocument::fromJson(line);
            if (doc.isObject())
                return doc.object();
            continue;
        }
        if (m_socket.state() != QLocalSocket::ConnectedState && m_socket.bytesAvailable() == 0)
            return std::nullopt;
        if (m_socket.bytesAvailable() == 0 && !m_socket.waitForReadyRead(static_cast<int>(deadline.remainingTime()))) {
            if (m_socket.bytesAvailable() == 0
                && (deadline.hasExpired() || m_socket.state() != QLocalSocket::ConnectedState))
                return std::nullopt;
        }
        m_input += m_socket.readAll();
    }
}

core::Result<QJsonObject> ServiceClient::call(const QString& method, const QJsonObject& params)
{
    const qint64 id = m_nextId++;
    m_socket.write(QJsonDocument(QJsonObject { { QStringLiteral("id"), id }, { QStringLiteral("method"), method },
                                     { QStringLiteral("params"), params } })
                       .toJson(QJsonDocument::Compact)
        + '\n');
    m_socket.flush();
    for (;;) {
        auto message = readMessage(-1);
        if (!message)
            return core::fail(core::ErrorCode::Io, QStringLiteral("The station service closed the connection."));
        if (message->contains(QStringLiteral("event"))) {
            m_events << *message;
            continue;
        }
        const QJsonValue answered = message->value(QStringLiteral("id"));
        if (!answered.isNull() && answered.toInteger() != id)
            continue;
        if (message->contains(QStringLiteral("error"))) {
            const QJsonObject e = message->value(QStringLiteral("error")).toObject();
            const QString code = e.value(QStringLiteral("code")).toString();
            const core::ErrorCode kind = code == QLatin1String("forbidden")
                    || code == QLatin1String("credential-required") || code == QLatin1String("wrong-credential")
                    || code == QLatin1String("paused")
                ? core::ErrorCode::PinRejected
                : code == QLatin1String("not-found") ? core::ErrorCode::NotFound
                                                     : core::ErrorCode::BadInput;
            core::Error error { kind, e.value(QStringLiteral("message")).toString(),
                e.value(QStringLiteral("needs")).toString(), code };
            return std::unexpected(error);
        }
        return message->value(QStringLiteral("result")).toObject();
    }
}

std::optional<QJsonObject> ServiceClient::nextEvent(int timeoutMs)
{
    if (!m_events.isEmpty())
        return m_events.takeFirst();
    QDeadlineTimer deadline(timeoutMs < 0 ? QDeadlineTimer::Forever : QDeadlineTimer(timeoutMs));
    for (;;) {
        auto message = readMessage(static_cast<int>(deadline.remainingTime()));
        if (!message)
            return std::nullopt;
        if (message->contains(QStringLiteral("event")))
            return message;
    }
}

} // namespace imprint::app
