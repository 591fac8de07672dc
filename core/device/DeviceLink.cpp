#include "device/DeviceLink.h"

#include <QTimer>

namespace imprint::core {

DeviceLink::DeviceLink(DeviceTransport* transport, QObject* parent)
    : QObject(parent)
    , m_transport(transport)
{
    m_transport->setParent(this);
    connect(m_transport, &DeviceTransport::bytesReceived, this, &DeviceLink::onBytes);
    connect(m_transport, &DeviceTransport::failed, this, &DeviceLink::failAll);
}

DeviceLink::~DeviceLink()
{
    // Callbacks must not run into a half-destroyed owner.
    for (auto& p : m_pending)
        delete p.timer;
    m_pending.clear();
}

void DeviceLink::call(const QString& op, const QCborMap& args, int timeoutMs, Reply reply)
{
    const quint64 seq = m_nextSeq++;
    auto* timer = new QTimer(this);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, this, [this, seq, op, timeoutMs] {
        finish(seq,
            fail(ErrorCode::Timeout,
                QStringLiteral("The device did not answer \"%1\" within %2 s.").arg(op).arg(timeoutMs / 1000.0)));
    });
    m_pending.insert(seq, Pending { op, std::move(reply), timer });
    timer->start(timeoutMs);
    const QByteArray payload = protocol::encode(protocol::Request { op, seq, args });
    m_transport->write(frame::encode(payload));
}

void DeviceLink::onBytes(const QByteArray& bytes)
{
    for (auto& event : m_decoder.feed(bytes)) {
        if (!event.error.isEmpty()) {
            emit protocolNoise(event.error);
            continue;
        }
        auto response = protocol::decodeResponse(event.payload);
        if (!response) {
            emit protocolNoise(response.error().text());
            continue;
        }
        if (!m_pending.contains(response->seq)) {
            emit protocolNoise(QStringLiteral("a reply to unknown request %1 was ignored").arg(response->seq));
            continue;
        }
        if (response->ok) {
            finish(response->seq, std::move(response->body));
        } else {
            finish(response->seq,
                fail(ErrorCode::DeviceRefused,
                    QStringLiteral("The device refused \"%1\": %2")
                        .arg(m_pending.value(response->seq).op, response->errorMessage),
                    {}, response->errorCode));
        }
    }
}

void DeviceLink::finish(quint64 seq, Result<QCborMap> result)
{
    auto it = m_pending.find(seq);
    if (it == m_pending.end())
        return;
    Pending p = std::move(*it);
    m_pending.erase(it);
    p.timer->deleteLater();
    p.reply(std::move(result)); // may destroy this link; touch nothing after
}

void DeviceLink::failAll(const Error& error)
{
    const auto seqs = m_pending.keys();
    QPointer<DeviceLink> guard(this);
    for (quint64 seq : seqs) {
        if (!guard)
            return;
        finish(seq, std::unexpected(error));
    }
}

} // namespace imprint::core
