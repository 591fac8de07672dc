#include "device/DeviceLink.h"

#include <QLocale>
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
    timer->setTimerType(Qt::PreciseTimer); // a coarse timer may fire 5% early: a timeout says the time it waited
    connect(timer, &QTimer::timeout, this, [this, seq] { onTimeout(seq); });
    const QByteArray frame = frame::encode(protocol::encode(protocol::Request { op, seq, args }));
    Pending pending { op, std::move(reply), timer, frame, std::max(1, attempts) - 1, timeoutMs, m_noise, {}, 1 };
    pending.since.start();
    m_pending.insert(seq, std::move(pending));
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
        ++it->sends;
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
    // The time really waited: every send counted.
    const QString waited = QLocale::c().toString(double(it->since.elapsed()) / 1000.0, 'f', 1);
    QString message = it->sends > 1
        ? QStringLiteral("The device did not answer \"%1\" in %2 s (asked %3 times, %4 s each).")
              .arg(it->op, waited)
              .arg(it->sends)
              .arg(QLocale::c().toString(it->timeoutMs / 1000.0))
        : QStringLiteral("The device did not answer \"%1\" in %2 s.").arg(it->op, waited);
    message += it->op == protocol::op::Identify
        ? QStringLiteral(" Check that a device is on this port, powered, and that the port settings match it.")
        : QStringLiteral(" Check that it is powered and its cable is in, then press Retry.");
    finish(seq, fail(ErrorCode::Timeout, message, {}, QStringLiteral("timeout")));
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
            // The device's own words, as a sentence, then what to do about it.
            QString said = response->errorMessage.trimmed();
            if (!said.isEmpty() && !said.endsWith(u'.') && !said.endsWith(u'!') && !said.endsWith(u'?'))
                said += u'.';
            finish(response->seq,
                fail(ErrorCode::DeviceRefused,
                    QStringLiteral("The device refused \"%1\"%2 %3")
                        .arg(m_pending.value(response->seq).op,
                            said.isEmpty() ? QStringLiteral(".") : QStringLiteral(": ") + said,
                            protocol::refusalAdvice(response->errorCode)),
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
