#include "device/DeviceLink.h"

#include <QRandomGenerator>
#include <QTimer>

namespace imprint::core {

DeviceLink::DeviceLink(DeviceTransport* transport, QObject* parent)
    : QObject(parent)
    , m_transport(transport)
    , m_nextSeq(QRandomGenerator::global()->bounded(1u << 30) + 1ull)
{
    m_decoder.setDropLimit(DropLimit);
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

void DeviceLink::call(const QString& op, const QCborMap& args, int timeoutMs, Reply reply, int attempts)
{
    const quint64 seq = m_nextSeq++;
    auto* timer = new QTimer(this);
    timer->setSingleShot(true);
    connect(timer, &QTimer::timeout, this, [this, seq] { onTimeout(seq); });
    const QByteArray frame = frame::encode(protocol::encode(protocol::Request { op, seq, args }));
    m_pending.insert(
        seq, Pending { op, std::move(reply), timer, frame, std::max(1, attempts) - 1, timeoutMs, m_noise });
    timer->start(timeoutMs);
    m_transport->write(frame);
}

void DeviceLink::onTimeout(quint64 seq)
{
    auto it = m_pending.find(seq);
    if (it == m_pending.end())
        return;
    if (it->attemptsLeft > 0) {
        --it->attemptsLeft;
        it->timer->start(it->timeoutMs);
        m_transport->write(it->frame);
        return;
    }
    const int dropped = m_noise - it->noiseAtStart;
    // Part of a frame waiting in the decoder is damage too: an answer cut short.
    if (dropped > 0 || m_decoder.buffered() > 0) {
        finish(seq,
            fail(ErrorCode::Protocol,
                QStringLiteral("The device's answers to \"%1\" arrived damaged (%2 broken or incomplete frame(s)). "
                               "Check the cable and the port settings.")
                    .arg(it->op)
                    .arg(dropped + (m_decoder.buffered() > 0 ? 1 : 0)),
                m_lastNoise, QStringLiteral("bad-frames")));
        return;
    }
    finish(seq,
        fail(ErrorCode::Timeout,
            QStringLiteral("The device did not answer \"%1\" within %2 s.").arg(it->op).arg(it->timeoutMs / 1000.0), {},
            QStringLiteral("timeout")));
}

void DeviceLink::onBytes(const QByteArray& bytes)
{
    for (auto& event : m_decoder.feed(bytes)) {
        if (!event.error.isEmpty()) {
            ++m_noise;
            m_lastNoise = event.error;
            emit protocolNoise(event.error);
            if (event.giveUp)
                return giveUp();
            continue;
        }
        auto response = protocol::decodeResponse(event.payload);
        if (!response) {
            ++m_noise;
            m_lastNoise = response.error().text();
            emit protocolNoise(response.error().text());
            m_decoder.countDropped();
            if (m_decoder.gaveUp())
                return giveUp();
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

void DeviceLink::giveUp()
{
    const auto& stats = m_decoder.stats();
    const Error error { ErrorCode::Protocol,
        QStringLiteral("The device sent %1 broken frames (and %2 bytes of noise); the station stopped listening to it. "
                       "Check the cable and the port settings, then press Retry; if it happens again, set the device "
                       "aside.")
            .arg(stats.droppedFrames)
            .arg(stats.noiseBytes),
        m_lastNoise, QStringLiteral("bad-frames") };
    QPointer<DeviceLink> guard(this);
    failAll(error);
    if (guard)
        emit broken(error);
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
