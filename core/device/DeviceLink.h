#pragma once

#include "device/DeviceTransport.h"
#include "device/Frame.h"
#include "device/Protocol.h"

#include <QElapsedTimer>
#include <QHash>
#include <QObject>
#include <QPointer>

#include <functional>

class QTimer;

namespace imprint::core {

/// Request/response exchange with one device over a transport: sequence numbers,
/// framing, and a timeout on every call. Callbacks run on this object's thread and
/// never after it is destroyed.
class DeviceLink : public QObject {
    Q_OBJECT
public:
    using Reply = std::function<void(Result<QCborMap>)>;

    /// Takes ownership of the transport.
    explicit DeviceLink(DeviceTransport* transport, QObject* parent = nullptr);
    ~DeviceLink() override;

    DeviceTransport* transport() const { return m_transport; }

    /// Sends `op` and calls `reply` once: with the response body, the device's error,
    /// a timeout, or the link's failure. A request with no answer within `timeoutMs` is
    /// sent again, unchanged and with the same seq, up to `attempts` times in all: devices
    /// answer a repeated seq from their last reply (PROTOCOL.md, "Repeats").
    void call(const QString& op, const QCborMap& args, int timeoutMs, Reply reply, int attempts = 3);

    /// The largest payload taken from the device from now on (see protocol::receiveLimit):
    /// a frame announcing more is dropped on its header.
    void setReceiveLimit(qsizetype maxPayload) { m_decoder.setMaxPayload(maxPayload); }
    /// What the device's bytes cost so far: checksums computed, frames dropped.
    const frame::Decoder::Stats& receiveStats() const { return m_decoder.stats(); }

    /// Broken frames after which the link stops listening and fails (bad-frames).
    static constexpr int DropLimit = 32;

signals:
    /// A frame or message that was not a reply to anything, or broken framing.
    void protocolNoise(const QString& description);
    /// The device sent DropLimit broken frames: the link listens no more. Every call in
    /// flight failed with the same error.
    void broken(const Error& error);

private:
    struct Pending {
        QString op;
        Reply reply;
        QTimer* timer = nullptr;
        QByteArray frame;
        int attemptsLeft = 0;
        int timeoutMs = 0;
        int noiseAtStart = 0;
        QElapsedTimer since; ///< since it was first sent
        int sends = 1;
    };
    void onTimeout(quint64 seq);
    void onBytes(const QByteArray& bytes);
    void finish(quint64 seq, Result<QCborMap> result);
    void failAll(const Error& error);
    void giveUp();

    DeviceTransport* m_transport;
    frame::Decoder m_decoder;
    QHash<quint64, Pending> m_pending;
    /// Starts at random for every connection, so that a device still holding its last answer
    /// from an earlier connection (the station restarted, the cable was replugged) never
    /// takes a new request for a repeat of that one.
    quint64 m_nextSeq;
    int m_noise = 0; ///< broken frames and noise seen so far
    QString m_lastNoise;
};

} // namespace imprint::core
