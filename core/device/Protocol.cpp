#include "device/Protocol.h"

#include <QCborArray>
#include <QCborStreamReader>
#include <QCborValue>

#include <limits>

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

std::unexpected<Error> bad(QString what)
{
    return fail(ErrorCode::Protocol, QStringLiteral("The device sent a malformed message."), std::move(what));
}

/// A field of identify that breaks its rule: refused at identify, before any key is made.
std::unexpected<Error> badIdentity(const char* reason, QString message)
{
    return std::unexpected(Error { ErrorCode::Protocol, std::move(message), {}, QString::fromLatin1(reason) });
}

qsizetype characters(const QString& s)
{
    return s.toUcs4().size();
}

bool printable(char32_t c)
{
    if (c == U' ')
        return true;
    switch (QChar::category(c)) {
    case QChar::Other_Control: // C0, DEL, C1
    case QChar::Other_Format: // bidi controls (U+202A-202E, U+2066-2069, LRM, RLM, ALM), ZWSP/ZWJ, BOM
    case QChar::Other_Surrogate:
    case QChar::Other_PrivateUse:
    case QChar::Other_NotAssigned:
    case QChar::Separator_Space: // every space but U+0020
    case QChar::Separator_Line:
    case QChar::Separator_Paragraph: return false;
    default: return true;
    }
}

/// Calls `each(codePoint, index, length)` for every code point of `text`; a lone surrogate
/// comes as itself (category Other_Surrogate).
template <typename F> void forEachCodePoint(QStringView text, F each)
{
    for (qsizetype i = 0; i < text.size();) {
        const QChar c = text[i];
        if (c.isHighSurrogate() && i + 1 < text.size() && text[i + 1].isLowSurrogate()) {
            each(QChar::surrogateToUcs4(c, text[i + 1]), i, 2);
            i += 2;
        } else {
            each(static_cast<char32_t>(c.unicode()), i, 1);
            ++i;
        }
    }
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
    if (s.toUtf8().size() > limit::Text)
        return bad(QStringLiteral("\"%1\" is longer than %2 bytes").arg(key).arg(limit::Text));
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
        auto message = textField(err.toMap(), kMessage);
        if (!message)
            return std::unexpected(message.error());
        // A device's words go to the operator's window, the terminal and the log: escaped
        // here, once, so no escape sequence or bidi override of a device reaches any of them.
        r.errorCode = escapeUnprintable(*code);
        r.errorMessage = escapeUnprintable(*message);
    }
    return r;
}

Result<void> checkSerial(const QString& serial)
{
    if (serial.isEmpty() || serial.size() > limit::Serial)
        return fail(ErrorCode::BadInput,
            QStringLiteral("a device serial has 1 to 64 characters (\"%1\" has %2)")
                .arg(escapeUnprintable(serial.left(limit::Serial)))
                .arg(serial.size()));
    for (const QChar c : serial) {
        if (!(c.isLetterOrNumber() && c.unicode() < 128) && c != u'-' && c != u'.')
            return fail(ErrorCode::BadInput,
                QStringLiteral("a device serial has only A-Z, a-z, 0-9, '-' and '.' (\"%1\")")
                    .arg(escapeUnprintable(serial.left(limit::Serial))));
    }
    return {};
}

bool isPrintableText(QStringView text)
{
    bool ok = true;
    forEachCodePoint(text, [&ok](char32_t c, qsizetype, qsizetype) { ok = ok && printable(c); });
    return ok;
}

QString escapeUnprintable(QStringView text)
{
    QString out;
    out.reserve(text.size());
    forEachCodePoint(text, [&](char32_t c, qsizetype at, qsizetype length) {
        if (printable(c))
            out += text.sliced(at, length);
        else if (c < 0x100)
            out += QStringLiteral("\\x%1").arg(static_cast<uint>(c), 2, 16, QLatin1Char('0'));
        else
            out += QStringLiteral("\\u{%1}").arg(static_cast<uint>(c), 4, 16, QLatin1Char('0'));
    });
    return out;
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
    // Serial, model and firmware have limits of their own, checked below with their codes:
    // only their type is checked here.
    for (auto [key, target] :
        { std::pair { QStringLiteral("serial"), &id.serial }, std::pair { QStringLiteral("model"), &id.model },
            std::pair { QStringLiteral("firmware"), &id.firmware } }) {
        const QCborValue v = body.value(key);
        if (!v.isString())
            return bad(QStringLiteral("missing or invalid \"%1\"").arg(key));
        *target = v.toString();
    }
    auto state = textField(body, QStringLiteral("state"));
    if (!state)
        return std::unexpected(state.error());
    id.state = *state;
    static const QStringList states { state::Blank, state::Keyed, state::Certified, state::Locked };
    if (!states.contains(id.state))
        return bad(QStringLiteral("unknown device state \"%1\"").arg(escapeUnprintable(id.state.left(32))));
    // No serial yet: allowed on a blank device only, which then waits for set-serial.
    if (!(id.serial.isEmpty() && id.state == state::Blank)) {
        if (auto ok = checkSerial(id.serial); !ok)
            return badIdentity("bad-serial",
                QStringLiteral("The device's serial breaks the protocol's rule: ") + ok.error().message + u'.');
    }
    if (id.model.isEmpty() || characters(id.model) > limit::Model)
        return badIdentity("bad-model",
            QStringLiteral("The device's model name has %1 characters; the protocol allows 1 to %2 (\"%3\").")
                .arg(characters(id.model))
                .arg(limit::Model)
                .arg(escapeUnprintable(id.model.left(72))));
    // The model becomes the certificate's CN and, with the firmware, is shown in the window,
    // by imprintctl and in reports: printable characters only (see isPrintableText).
    if (!isPrintableText(id.model))
        return badIdentity("bad-model",
            QStringLiteral("The device's model name has characters that cannot be shown (control, format or "
                           "unassigned characters): \"%1\".")
                .arg(escapeUnprintable(id.model.left(72))));
    if (characters(id.firmware) > limit::Firmware)
        return badIdentity("bad-firmware",
            QStringLiteral("The device's firmware version has %1 characters; the protocol allows at most %2 (\"%3\").")
                .arg(characters(id.firmware))
                .arg(limit::Firmware)
                .arg(escapeUnprintable(id.firmware.left(72))));
    if (!isPrintableText(id.firmware))
        return badIdentity("bad-firmware",
            QStringLiteral("The device's firmware version has characters that cannot be shown (control, format or "
                           "unassigned characters): \"%1\".")
                .arg(escapeUnprintable(id.firmware.left(72))));
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
    if (!keys.isArray() || !keygen.isBool() || !injection.isBool() || !maxFrame.isInteger())
        return bad(QStringLiteral("\"capabilities\" lacks key-types, keygen, injection or max-frame"));
    if (keys.toArray().size() > limit::KeyTypes)
        return bad(QStringLiteral("\"key-types\" lists more than %1 entries").arg(limit::KeyTypes));
    for (const QCborValue& k : keys.toArray()) {
        if (!k.isString() || k.toString().toUtf8().size() > limit::KeyTypeName)
            return bad(
                QStringLiteral("an entry of \"key-types\" is not a text of at most %1 bytes").arg(limit::KeyTypeName));
        id.keyTypes << k.toString();
    }
    id.canGenerateKey = keygen.toBool();
    id.canReceiveKey = injection.toBool();
    const int lowest = minFrame(id.protocol);
    if (maxFrame.toInteger() < lowest || maxFrame.toInteger() > limit::MaxFrame)
        return bad(QStringLiteral("\"max-frame\" is %1; protocol version %2 allows %3 to %4")
                       .arg(maxFrame.toInteger())
                       .arg(id.protocol)
                       .arg(lowest)
                       .arg(limit::MaxFrame));
    id.maxFrame = static_cast<int>(maxFrame.toInteger());
    if (!id.canGenerateKey && !id.canReceiveKey)
        return badIdentity("unsupported",
            QStringLiteral("Device %1 says it can neither make a key nor receive one.").arg(id.serial.left(64)));
    return id;
}

QCborMap installArgs(const QByteArray& cert, const QList<QByteArray>& chain)
{
    QCborArray list;
    for (const auto& c : chain)
        list.append(c);
    QCborMap args;
    args.insert(QStringLiteral("cert"), cert);
    args.insert(QStringLiteral("chain"), list);
    return args;
}

qsizetype installRequestSize(qsizetype certSize, const QList<QByteArray>& chain)
{
    const QCborMap args = installArgs(QByteArray(certSize, '\0'), chain);
    return encode(Request { op::InstallCertificate, std::numeric_limits<qint64>::max(), args }).size();
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

QString refusalAdvice(const QString& code)
{
    if (code == error::BadArgs)
        return QStringLiteral("The station and the device's firmware disagree on a request; set the device aside "
                              "for the firmware engineers.");
    if (code == error::BadState)
        return QStringLiteral("The device was not ready for this step; press Retry, and if it happens again, reset "
                              "the device.");
    if (code == error::Locked)
        return QStringLiteral("The device is locked and takes nothing more; set it aside for QA.");
    if (code == error::NoKey)
        return QStringLiteral("The device holds no key (was it reset or power-cycled mid-job?); press Retry.");
    if (code == error::NoCertificate)
        return QStringLiteral("The device holds no certificate; press Retry.");
    if (code == error::Unsupported)
        return QStringLiteral("Its firmware lacks this operation; set the device aside for a firmware update.");
    if (code == error::Refused)
        return QStringLiteral("Its secure element declined; press Retry once, and if it refuses again, set the "
                              "device aside as faulty.");
    if (code == error::Crypto)
        return QStringLiteral("The sealed key did not open on the device; press Retry, and if it happens again, its "
                              "secure element is faulty.");
    if (code == error::Internal)
        return QStringLiteral("The device failed inside; power-cycle it and press Retry.");
    return QStringLiteral("The device answered with a code the protocol does not define (%1); check its firmware.")
        .arg(code.left(64));
}

} // namespace imprint::core::protocol
