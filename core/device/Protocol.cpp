#include "device/Protocol.h"

#include <QCborArray>
#include <QCborStreamReader>
#include <QCborValue>

namespace imprint::core::protocol {

namespace {

const QString kOp = QStringLiteral("op");
const QString kSeq = QStringLiteral("seq");
const QString kArgs = QStringLiteral("args");
const QString kOk = QStringLiteral("ok");
const QString kBody = QStringLiteral("body");
const QString kError = QStringLiteral("error");
const QString kCode = QStringLiteral("code");
const QString kMessage = QStringLiteral("message");

constexpr qsizetype MaxText = 256;

std::unexpected<Error> bad(QString what)
{
    return fail(ErrorCode::Protocol, QStringLiteral("The device sent a malformed message."), std::move(what));
}

// One CBOR map and nothing after it.
Result<QCborMap> parseMap(const QByteArray& payload)
{
    QCborStreamReader reader(payload);
    const QCborValue value = QCborValue::fromCbor(reader);
    if (reader.lastError() != QCborError::NoError)
        return bad(QStringLiteral("CBOR: ") + reader.lastError().toString());
    if (reader.currentOffset() != payload.size())
        return bad(QStringLiteral("bytes after the CBOR message"));
    if (!value.isMap())
        return bad(QStringLiteral("the message is not a CBOR map"));
    return value.toMap();
}

Result<quint64> seqField(const QCborMap& map)
{
    const QCborValue v = map.value(kSeq);
    if (!v.isInteger() || v.toInteger() < 0)
        return bad(QStringLiteral("missing or invalid \"seq\""));
    return static_cast<quint64>(v.toInteger());
}

Result<QString> textField(const QCborMap& map, const QString& key)
{
    const QCborValue v = map.value(key);
    if (!v.isString())
        return bad(QStringLiteral("missing or invalid \"%1\"").arg(key));
    const QString s = v.toString();
    if (s.size() > MaxText)
        return bad(QStringLiteral("\"%1\" is longer than %2 characters").arg(key).arg(MaxText));
    return s;
}

} // namespace

QByteArray encode(const Request& request)
{
    QCborMap map;
    map.insert(kOp, request.op);
    map.insert(kSeq, static_cast<qint64>(request.seq));
    if (!request.args.isEmpty())
        map.insert(kArgs, request.args);
    return map.toCborValue().toCbor();
}

QByteArray encode(const Response& response)
{
    QCborMap map;
    map.insert(kSeq, static_cast<qint64>(response.seq));
    map.insert(kOk, response.ok);
    if (response.ok) {
        if (!response.body.isEmpty())
            map.insert(kBody, response.body);
    } else {
        QCborMap err;
        err.insert(kCode, response.errorCode);
        err.insert(kMessage, response.errorMessage);
        map.insert(kError, err);
    }
    return map.toCborValue().toCbor();
}

Result<Request> decodeRequest(const QByteArray& payload)
{
    auto map = parseMap(payload);
    if (!map)
        return std::unexpected(map.error());
    Request r;
    auto op = textField(*map, kOp);
    if (!op)
        return std::unexpected(op.error());
    auto seq = seqField(*map);
    if (!seq)
        return std::unexpected(seq.error());
    r.op = *op;
    r.seq = *seq;
    const QCborValue args = map->value(kArgs);
    if (!args.isUndefined() && !args.isMap())
        return bad(QStringLiteral("\"args\" is not a map"));
    r.args = args.toMap();
    return r;
}

Result<Response> decodeResponse(const QByteArray& payload)
{
    auto map = parseMap(payload);
    if (!map)
        return std::unexpected(map.error());
    Response r;
    auto seq = seqField(*map);
    if (!seq)
        return std::unexpected(seq.error());
    r.seq = *seq;
    const QCborValue ok = map->value(kOk);
    if (!ok.isBool())
        return bad(QStringLiteral("missing or invalid \"ok\""));
    r.ok = ok.toBool();
    if (r.ok) {
        const QCborValue body = map->value(kBody);
        if (!body.isUndefined() && !body.isMap())
            return bad(QStringLiteral("\"body\" is not a map"));
        r.body = body.toMap();
    } else {
        const QCborValue err = map->value(kError);
        if (!err.isMap())
            return bad(QStringLiteral("an error response without an \"error\" map"));
        auto code = textField(err.toMap(), kCode);
        if (!code)
            return std::unexpected(code.error());
        r.errorCode = *code;
        r.errorMessage = err.toMap().value(kMessage).toString().left(MaxText);
    }
    return r;
}

Result<void> checkSerial(const QString& serial)
{
    if (serial.isEmpty() || serial.size() > 64)
        return fail(ErrorCode::BadInput, QStringLiteral("a device serial has 1 to 64 characters"));
    for (const QChar c : serial) {
        if (!(c.isLetterOrNumber() && c.unicode() < 128) && c != u'-' && c != u'_' && c != u'.')
            return fail(ErrorCode::BadInput,
                QStringLiteral("a device serial has only A-Z, a-z, 0-9, '-', '_' and '.' (\"%1\")")
                    .arg(serial.left(64)));
    }
    return {};
}

QCborMap identityToCbor(const DeviceIdentity& identity)
{
    QCborMap m;
    m.insert(QStringLiteral("serial"), identity.serial);
    m.insert(QStringLiteral("model"), identity.model);
    m.insert(QStringLiteral("firmware"), identity.firmware);
    m.insert(QStringLiteral("state"), identity.state);
    m.insert(QStringLiteral("protocol"), identity.protocol);
    QCborArray keys;
    for (const auto& k : identity.keyTypes)
        keys.append(k);
    QCborMap caps;
    caps.insert(QStringLiteral("key-types"), keys);
    caps.insert(QStringLiteral("keygen"), identity.canGenerateKey);
    caps.insert(QStringLiteral("injection"), identity.canReceiveKey);
    caps.insert(QStringLiteral("max-frame"), identity.maxFrame);
    m.insert(QStringLiteral("capabilities"), caps);
    return m;
}

Result<DeviceIdentity> identityFromCbor(const QCborMap& body)
{
    DeviceIdentity id;
    for (auto [key, target] : { std::pair { QStringLiteral("serial"), &id.serial },
             std::pair { QStringLiteral("model"), &id.model }, std::pair { QStringLiteral("firmware"), &id.firmware },
             std::pair { QStringLiteral("state"), &id.state } }) {
        auto v = textField(body, key);
        if (!v)
            return std::unexpected(v.error());
        *target = *v;
    }
    static const QStringList states { state::Blank, state::Keyed, state::Certified, state::Locked };
    if (!states.contains(id.state))
        return bad(QStringLiteral("unknown device state \"%1\"").arg(id.state.left(32)));
    // No serial yet: allowed on a blank device only, which then waits for set-serial.
    if (!(id.serial.isEmpty() && id.state == state::Blank)) {
        if (auto ok = checkSerial(id.serial); !ok)
            return bad(QStringLiteral("the device serial is invalid: ") + ok.error().message);
    }
    const QCborValue version = body.value(QStringLiteral("protocol"));
    if (!version.isInteger() || !SupportedVersions.contains(static_cast<int>(version.toInteger())))
        return bad(QStringLiteral("the device chose protocol version %1, which the station does not speak")
                       .arg(version.isInteger() ? QString::number(version.toInteger()) : QStringLiteral("(none)")));
    id.protocol = static_cast<int>(version.toInteger());
    const QCborValue caps = body.value(QStringLiteral("capabilities"));
    if (!caps.isMap())
        return bad(QStringLiteral("missing or invalid \"capabilities\""));
    const QCborMap c = caps.toMap();
    const QCborValue keys = c.value(QStringLiteral("key-types"));
    const QCborValue keygen = c.value(QStringLiteral("keygen"));
    const QCborValue injection = c.value(QStringLiteral("injection"));
    const QCborValue maxFrame = c.value(QStringLiteral("max-frame"));
    if (!keys.isArray() || keys.toArray().size() > 16 || !keygen.isBool() || !injection.isBool()
        || !maxFrame.isInteger())
        return bad(QStringLiteral("\"capabilities\" lacks key-types, keygen, injection or max-frame"));
    for (const QCborValue& k : keys.toArray())
        id.keyTypes << k.toString().left(32);
    id.canGenerateKey = keygen.toBool();
    id.canReceiveKey = injection.toBool();
    if (maxFrame.toInteger() < 1024 || maxFrame.toInteger() > 65536)
        return bad(QStringLiteral("\"max-frame\" must be between 1024 and 65536"));
    id.maxFrame = static_cast<int>(maxFrame.toInteger());
    if (!id.canGenerateKey && !id.canReceiveKey)
        return bad(QStringLiteral("the device can neither make a key nor receive one"));
    return id;
}

Result<QByteArray> bytesField(const QCborMap& map, const QString& key, qsizetype maxSize)
{
    const QCborValue v = map.value(key);
    if (!v.isByteArray())
        return bad(QStringLiteral("missing or invalid \"%1\"").arg(key));
    QByteArray b = v.toByteArray();
    if (b.size() > maxSize)
        return bad(QStringLiteral("\"%1\" is larger than %2 bytes").arg(key).arg(maxSize));
    return b;
}

} // namespace imprint::core::protocol
