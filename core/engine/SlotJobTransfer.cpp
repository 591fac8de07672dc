// A slot's certificate transfers: install-cert in one frame, or in parts for a device of
// protocol version 3 (stage-begin, stage-chunk, install-cert of what was staged), and read-cert
// in one answer or in parts (PROTOCOL.md 5.5). The rest of the slot's pipeline is SlotJob.cpp.

#include "engine/SlotJob.h"

#include "device/DeviceLink.h"
#include "device/Protocol.h"
#include "engine/Station.h"

#include <QCborArray>
#include <QCryptographicHash>

namespace imprint::core {

void SlotJob::inject()
{
    setStep(Step::Injecting);
    if (m_csrInNs >= 0 && m_stationNs < 0)
        m_stationNs = m_elapsed.nsecsElapsed() - m_csrInNs;
    const QCborMap args = protocol::installArgs(m_issued.certificate.der, m_issued.chain);
    // The device said how large a frame it takes: what fits goes in one install-cert, what
    // does not goes in parts to a device of version 3. Whether it can be delivered at all
    // was decided before signing (Registrar::deliverable); this is for a certificate of an
    // earlier job.
    const qsizetype size = protocol::installRequestSize(m_issued.certificate.der.size(), m_issued.chain);
    if (size <= m_device.maxFrame)
        return install(args);
    if (m_device.protocol >= protocol::ChunkedVersion && size <= protocol::limit::Staged) {
        const QByteArray staged = args.toCborValue().toCbor();
        const int part = protocol::partCapacity(m_device.maxFrame);
        m_stepCalls = 2 + static_cast<int>((staged.size() + part - 1) / part); // begin, parts, install
        return stage(staged);
    }
    failWith(Error { ErrorCode::DeviceRefused,
        QStringLiteral("The certificate and its chain (%1 bytes) do not fit the device's largest frame (%2 bytes), "
                       "and it speaks protocol version %3, which cannot take them in parts.")
            .arg(size)
            .arg(m_device.maxFrame)
            .arg(m_device.protocol),
        {}, QStringLiteral("frame-too-large") });
}

void SlotJob::stage(const QByteArray& staged)
{
    QCborMap args;
    args.insert(QStringLiteral("size"), staged.size());
    args.insert(QStringLiteral("sha256"), QCryptographicHash::hash(staged, QCryptographicHash::Sha256));
    m_link->call(
        protocol::op::StageBegin, args, m_timeouts.exchangeMs,
        [this, staged](Result<QCborMap> reply) {
            if (!reply && m_mayBeStale && reply.error().reason == protocol::error::NoKey)
                return supersede(QStringLiteral("the device came back without a key"));
            if (!reply)
                return failWith(reply.error());
            stagePart(staged, 0);
        },
        m_timeouts.attempts);
}

void SlotJob::stagePart(const QByteArray& staged, qsizetype offset)
{
    if (offset >= staged.size()) {
        QCborMap args;
        args.insert(QStringLiteral("staged"), true);
        return install(args);
    }
    const QByteArray data = staged.mid(offset, protocol::partCapacity(m_device.maxFrame));
    QCborMap args;
    args.insert(QStringLiteral("offset"), offset);
    args.insert(QStringLiteral("data"), data);
    const qsizetype next = offset + data.size();
    m_link->call(
        protocol::op::StageChunk, args, m_timeouts.exchangeMs,
        [this, staged, next](Result<QCborMap> reply) {
            if (!reply)
                return failWith(reply.error());
            // Each part is acknowledged with what the device holds so far.
            const QCborValue received = reply->value(QStringLiteral("received"));
            if (!received.isInteger() || received.toInteger() != next)
                return failWith(fail(ErrorCode::Protocol,
                    QStringLiteral("The device acknowledged a part of the certificate transfer with %1 bytes "
                                   "received; %2 were sent.")
                        .arg(received.isInteger() ? QString::number(received.toInteger()) : QStringLiteral("no count"))
                        .arg(next))
                                    .error());
            stagePart(staged, next);
        },
        m_timeouts.attempts);
}

void SlotJob::install(const QCborMap& args)
{
    m_link->call(
        protocol::op::InstallCertificate, args, m_timeouts.exchangeMs,
        [this](Result<QCborMap> reply) {
            if (!reply && m_mayBeStale && reply.error().reason == protocol::error::BadArgs)
                return supersede(QStringLiteral("the device came back with another key"));
            if (!reply)
                return failWith(reply.error());
            recordThen([job = m_jobId, serial = m_issued.certificate.serialHex](
                           Registrar& r) { return r.certificateInstalled(job, serial); },
                [this] { readBack(); });
        },
        m_timeouts.attempts);
}

void SlotJob::readCertificate(std::function<void(QByteArray)> then)
{
    if (m_device.protocol >= protocol::ChunkedVersion) {
        const int part = protocol::partCapacity(m_device.maxFrame);
        m_stepCalls = std::max<int>(1, static_cast<int>((m_issued.certificate.der.size() + part - 1) / part));
        return readPart({}, std::move(then));
    }
    m_link->call(
        protocol::op::ReadCertificate, {}, m_timeouts.exchangeMs,
        [this, then = std::move(then)](Result<QCborMap> reply) {
            if (!reply)
                return failWith(reply.error());
            auto cert = protocol::bytesField(*reply, QStringLiteral("cert"), protocol::limit::Certificate);
            if (!cert)
                return failWith(cert.error());
            then(*cert);
        },
        m_timeouts.attempts);
}

void SlotJob::readPart(QByteArray sofar, std::function<void(QByteArray)> then)
{
    // Version 3: read-cert with offset and length, each part small enough for the device's
    // frames; the whole is checked against the size and SHA-256 the device states.
    const qsizetype length = protocol::partCapacity(m_device.maxFrame);
    QCborMap args;
    args.insert(QStringLiteral("offset"), sofar.size());
    args.insert(QStringLiteral("length"), length);
    m_link->call(
        protocol::op::ReadCertificate, args, m_timeouts.exchangeMs,
        [this, sofar, length, then = std::move(then)](Result<QCborMap> reply) mutable {
            if (!reply)
                return failWith(reply.error());
            auto part = protocol::bytesField(*reply, QStringLiteral("cert"), length);
            auto sha = protocol::bytesField(*reply, QStringLiteral("sha256"), 32);
            const QCborValue size = reply->value(QStringLiteral("size"));
            if (!part)
                return failWith(part.error());
            if (!sha || sha->size() != 32 || !size.isInteger() || size.toInteger() > protocol::limit::Certificate
                || sofar.size() + part->size() > size.toInteger()
                || (part->isEmpty() && sofar.size() < size.toInteger()))
                return failWith(fail(ErrorCode::Protocol, QStringLiteral("The device sent a malformed message."),
                    QStringLiteral("read-cert in parts: a part without its size and SHA-256, or beyond the size"))
                                    .error());
            sofar += *part;
            if (sofar.size() < size.toInteger())
                return readPart(std::move(sofar), std::move(then));
            if (QCryptographicHash::hash(sofar, QCryptographicHash::Sha256) != *sha)
                return failWith(fail(ErrorCode::Protocol,
                    QStringLiteral("The certificate read back in parts does not match the SHA-256 the device gave "
                                   "for it; the transfer was damaged."))
                                    .error());
            then(std::move(sofar));
        },
        m_timeouts.attempts);
}

} // namespace imprint::core
