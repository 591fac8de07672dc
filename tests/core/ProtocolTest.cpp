#include "device/Protocol.h"
#include "device/Frame.h"

#include "device/KeyInjection.h"
#include "pki/CertificateBuilder.h"
#include "pki/EvpSigner.h"
#include "pki/IssuingCa.h"

#include <QCborArray>
#include <QCryptographicHash>
#include <QFile>
#include <QSet>

#include <QCborValue>
#include <cstdio>
#include <limits>

#include <catch2/catch.hpp>

using namespace imprint::core;

TEST_CASE("Requests and responses round-trip")
{
    protocol::Request req { protocol::op::SignChallenge, 42, {} };
    req.args.insert(QStringLiteral("challenge"), QByteArray(32, 'x'));
    auto decoded = protocol::decodeRequest(protocol::encode(req));
    REQUIRE(decoded.has_value());
    CHECK(decoded->op == protocol::op::SignChallenge);
    CHECK(decoded->seq == 42);
    CHECK(decoded->args.value(QStringLiteral("challenge")).toByteArray() == QByteArray(32, 'x'));

    protocol::Response refused { 7, false, QStringLiteral("locked"), QStringLiteral("device is locked"), {} };
    auto r = protocol::decodeResponse(protocol::encode(refused));
    REQUIRE(r.has_value());
    CHECK_FALSE(r->ok);
    CHECK(r->errorCode == QLatin1String("locked"));
    CHECK(r->seq == 7);
}

TEST_CASE("Malformed messages are refused with a protocol error")
{
    SECTION("not CBOR")
    {
        auto r = protocol::decodeResponse(QByteArray("\xff\xff", 2));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::Protocol);
    }
    SECTION("not a map")
    {
        auto r = protocol::decodeResponse(QCborValue(QCborArray { 1, 2 }).toCbor());
        REQUIRE_FALSE(r.has_value());
    }
    SECTION("bytes after the message")
    {
        protocol::Response ok { 1, true, {}, {}, {} };
        auto r = protocol::decodeResponse(protocol::encode(ok) + '\0');
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().detail.contains(QStringLiteral("bytes after")));
    }
    SECTION("missing seq")
    {
        QCborMap m;
        m.insert(QStringLiteral("ok"), true);
        REQUIRE_FALSE(protocol::decodeResponse(m.toCborValue().toCbor()).has_value());
    }
    SECTION("error response without an error map")
    {
        QCborMap m;
        m.insert(QStringLiteral("seq"), 1);
        m.insert(QStringLiteral("ok"), false);
        REQUIRE_FALSE(protocol::decodeResponse(m.toCborValue().toCbor()).has_value());
    }
}

TEST_CASE("Identity is validated")
{
    DeviceIdentity id { QStringLiteral("SN-0001"), QStringLiteral("Model"), QStringLiteral("1.0"),
        QStringLiteral("blank"), { QStringLiteral("p256") } };
    auto back = protocol::identityFromCbor(protocol::identityToCbor(id));
    REQUIRE(back.has_value());
    CHECK(*back == id);

    QCborMap bad = protocol::identityToCbor(id);
    bad.insert(QStringLiteral("serial"), QStringLiteral("SN/../../etc"));
    CHECK_FALSE(protocol::identityFromCbor(bad).has_value());
    bad.insert(QStringLiteral("serial"), QString());
    bad.insert(QStringLiteral("state"), QStringLiteral("keyed")); // no serial: only while blank (set-serial)
    CHECK_FALSE(protocol::identityFromCbor(bad).has_value());
    bad.insert(QStringLiteral("serial"), 12);
    CHECK_FALSE(protocol::identityFromCbor(bad).has_value());
}

TEST_CASE("Byte fields are bounded")
{
    QCborMap m;
    m.insert(QStringLiteral("csr"), QByteArray(100, 'a'));
    CHECK(protocol::bytesField(m, QStringLiteral("csr"), 100).has_value());
    CHECK_FALSE(protocol::bytesField(m, QStringLiteral("csr"), 99).has_value());
    CHECK_FALSE(protocol::bytesField(m, QStringLiteral("cert"), 100).has_value());
}

namespace {

/// The blocks of one kind of PROTOCOL.md (```frame, ```frame-dropped, ```stream), as bytes.
QList<QByteArray> documentedFrames(const QByteArray& kind = "frame")
{
    QFile doc(QStringLiteral(IMPRINT_SOURCE_DIR "/core/device/PROTOCOL.md"));
    REQUIRE(doc.open(QIODevice::ReadOnly));
    QList<QByteArray> frames;
    bool inFrame = false;
    QByteArray hex;
    for (const QByteArray& line : doc.readAll().split('\n')) {
        if (line.trimmed() == "```" + kind) {
            inFrame = true;
            hex.clear();
        } else if (inFrame && line.startsWith("```")) {
            inFrame = false;
            frames << QByteArray::fromHex(hex);
        } else if (inFrame) {
            const qsizetype comment = line.indexOf('#');
            hex += (comment < 0 ? line : line.left(comment)).simplified().replace(' ', "");
        }
    }
    return frames;
}

/// The identity of the worked examples: a device of version 3 with the smallest frames.
DeviceIdentity goodIdentity()
{
    DeviceIdentity id;
    id.serial = QStringLiteral("SN-0001");
    id.model = QStringLiteral("Sensor 9");
    id.firmware = QStringLiteral("1.4.2");
    id.state = protocol::state::Blank;
    id.keyTypes = { QStringLiteral("p256") };
    id.protocol = 3;
    id.maxFrame = 512;
    return id;
}

} // namespace

TEST_CASE("Every worked example in PROTOCOL.md is a good frame holding a valid message")
{
    const QList<QByteArray> frames = documentedFrames();
    REQUIRE(frames.size() >= 18);
    QSet<QString> ops;
    int responses = 0;
    for (const QByteArray& wire : frames) {
        frame::Decoder d;
        auto events = d.feed(wire);
        REQUIRE(events.size() == 1);
        INFO(events.first().error.toStdString());
        REQUIRE(events.first().error.isEmpty());
        CHECK(d.buffered() == 0);
        auto request = protocol::decodeRequest(events.first().payload);
        if (request) {
            ops.insert(request->op);
            continue;
        }
        auto response = protocol::decodeResponse(events.first().payload);
        REQUIRE(response.has_value());
        ++responses;
        if (response->ok && response->body.contains(QStringLiteral("capabilities")))
            CHECK(protocol::identityFromCbor(response->body).has_value());
    }
    CHECK(ops
        == QSet<QString> { protocol::op::Identify, protocol::op::GenerateKey, protocol::op::InjectBegin,
            protocol::op::InjectKey, protocol::op::InstallCertificate, protocol::op::ReadCertificate,
            protocol::op::SignChallenge, protocol::op::Lock, protocol::op::Reset, protocol::op::StageBegin,
            protocol::op::StageChunk });
    CHECK(responses >= 14);
}

TEST_CASE("The worked examples of what gets no answer and of a resynchronisation do what PROTOCOL.md says")
{
    SECTION("a request without seq is a good frame, but not a request: no answer")
    {
        const QList<QByteArray> dropped = documentedFrames("frame-dropped");
        REQUIRE(dropped.size() == 1);
        frame::Decoder d(512);
        auto events = d.feed(dropped.first());
        REQUIRE(events.size() == 1);
        REQUIRE(events.first().error.isEmpty());
        CHECK_FALSE(protocol::decodeRequest(events.first().payload).has_value());
    }
    SECTION("half a frame, then a whole one: the half is dropped, the whole one (seq 2) is read")
    {
        const QList<QByteArray> streams = documentedFrames("stream");
        REQUIRE(streams.size() == 1);
        frame::Decoder d(512);
        QList<QByteArray> good;
        int dropped = 0;
        // Byte by byte, as a UART delivers them.
        for (const char c : streams.first()) {
            for (const auto& e : d.feed(QByteArray(1, c)))
                e.error.isEmpty() ? void(good << e.payload) : void(++dropped);
        }
        CHECK(dropped >= 1);
        REQUIRE(good.size() == 1);
        auto request = protocol::decodeRequest(good.first());
        REQUIRE(request.has_value());
        CHECK(request->op == protocol::op::Identify);
        CHECK(request->seq == 2);
        CHECK(d.buffered() == 0);
    }
}

// Prints the worked examples for PROTOCOL.md: imprint's own encoder, real keys and
// certificates. Hidden; run by hand: test_protocol "[.examples]".
TEST_CASE("Print the worked examples", "[.examples]")
{
    auto print = [](const char* title, const QByteArray& payload) {
        const QByteArray wire = frame::encode(payload);
        QByteArray out = QByteArray(title) + "\n\n```frame\n";
        for (qsizetype i = 0; i < wire.size(); i += 16)
            out += wire.mid(i, 16).toHex(' ') + '\n';
        out += "```\n\n";
        std::fputs(out.constData(), stdout);
    };
    auto request = [&](const char* title, const QString& op, quint64 seq, const QCborMap& args) {
        print(title, protocol::encode(protocol::Request { op, seq, args }));
    };
    auto response = [&](const char* title, quint64 seq, const QCborMap& body) {
        print(title, protocol::encode(protocol::Response { seq, true, {}, {}, body }));
    };
    DeviceIdentity id = goodIdentity();
    id.canReceiveKey = true;
    request("identify, station:", protocol::op::Identify, 1, { { QStringLiteral("versions"), QCborArray { 3, 2 } } });
    response("identify, device:", 1, protocol::identityToCbor(id));

    auto key = EvpSigner::generateP256();
    REQUIRE(key.has_value());
    auto csr = makeRequest({ { QStringLiteral("serialNumber"), id.serial } }, key->key(), *key);
    REQUIRE(csr.has_value());
    request("generate-key, station:", protocol::op::GenerateKey, 2,
        { { QStringLiteral("key-type"), QStringLiteral("p256") } });
    response("generate-key, device:", 2, { { QStringLiteral("csr"), *csr } });

    auto eph = injection::makeEphemeral();
    REQUIRE(eph.has_value());
    request("inject-begin, station:", protocol::op::InjectBegin, 2, {});
    response("inject-begin, device:", 2, { { QStringLiteral("ephemeral"), eph->point } });
    auto sealed = injection::sealNewKey(eph->point, id.serial);
    REQUIRE(sealed.has_value());
    request("inject-key, station:", protocol::op::InjectKey, 3,
        { { QStringLiteral("ephemeral"), sealed->stationEphemeral }, { QStringLiteral("nonce"), sealed->nonce },
            { QStringLiteral("ciphertext"), sealed->ciphertext } });
    response("inject-key, device (a request for the injected key):", 3, { { QStringLiteral("csr"), *csr } });

    auto caKey = EvpSigner::generateP256();
    REQUIRE(caKey.has_value());
    auto caName = makeName({ { QStringLiteral("CN"), QStringLiteral("Example Issuing CA") } });
    CertificateBuilder b;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    b.subject(caName->get()).publicKey(caKey->key()).validity(now, now.addYears(10));
    b.extension(NID_basic_constraints, "critical,CA:TRUE").extension(NID_subject_key_identifier, "hash");
    REQUIRE(b.randomSerial().has_value());
    auto caCert = b.sign(*caKey);
    REQUIRE(caCert.has_value());
    const QByteArray caDer = ossl::certToDer(caCert->get());
    auto signer = std::make_shared<EvpSigner>(std::move(*caKey));
    auto ca = IssuingCa::create(signer, { caDer });
    REQUIRE(ca.has_value());
    auto tmpl = ca->prepare(CertificateProfile::idevid());
    auto cert = ca->issue(*tmpl, id, key->publicKey());
    REQUIRE(cert.has_value());
    request("install-cert, station:", protocol::op::InstallCertificate, 4,
        { { QStringLiteral("cert"), cert->der }, { QStringLiteral("chain"), QCborArray { caDer } } });
    response("install-cert, device:", 4, {});
    request("read-cert, station:", protocol::op::ReadCertificate, 5, {});
    response("read-cert, device:", 5, { { QStringLiteral("cert"), cert->der } });

    // Version 3, max-frame 512: the same install-cert arguments in parts.
    const QByteArray staged = protocol::installArgs(cert->der, { caDer }).toCborValue().toCbor();
    const QByteArray sha = QCryptographicHash::hash(staged, QCryptographicHash::Sha256);
    std::printf("staged: %lld bytes, %lld per part\n\n", static_cast<long long>(staged.size()),
        static_cast<long long>(protocol::partCapacity(512)));
    request("stage-begin, station:", protocol::op::StageBegin, 10,
        { { QStringLiteral("size"), staged.size() }, { QStringLiteral("sha256"), sha } });
    response("stage-begin, device:", 10, {});
    const qsizetype part = protocol::partCapacity(512);
    request("stage-chunk, station (the last part):", protocol::op::StageChunk, 14,
        { { QStringLiteral("offset"), (staged.size() - 1) / part * part },
            { QStringLiteral("data"), staged.mid((staged.size() - 1) / part * part) } });
    response("stage-chunk, device:", 14, { { QStringLiteral("received"), staged.size() } });
    request("install-cert, station (what was staged):", protocol::op::InstallCertificate, 15,
        { { QStringLiteral("staged"), true } });
    response("install-cert, device:", 15, {});
    request("read-cert, station (the second part):", protocol::op::ReadCertificate, 17,
        { { QStringLiteral("offset"), part }, { QStringLiteral("length"), part } });
    response("read-cert, device:", 17,
        { { QStringLiteral("cert"), cert->der.mid(part, part) }, { QStringLiteral("size"), cert->der.size() },
            { QStringLiteral("sha256"), QCryptographicHash::hash(cert->der, QCryptographicHash::Sha256) } });
    request("sign-challenge with a 3-byte challenge to a blank device, station:", protocol::op::SignChallenge, 20,
        { { QStringLiteral("challenge"), QByteArray::fromHex("010203") } });
    print("sign-challenge, device (arguments are checked before the state):",
        protocol::encode(protocol::Response {
            20, false, protocol::error::BadArgs, QStringLiteral("the challenge must be 32 bytes"), {} }));
    const QByteArray nonce = QByteArray::fromHex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    request("sign-challenge, station:", protocol::op::SignChallenge, 6, { { QStringLiteral("challenge"), nonce } });
    auto sig = key->signSha256(QByteArray(protocol::ChallengeContext) + nonce);
    response("sign-challenge, device:", 6, { { QStringLiteral("signature"), *sig } });
    request("lock, station:", protocol::op::Lock, 7, {});
    response("lock, device:", 7, {});
    request("reset, station (refused: the device is locked):", protocol::op::Reset, 8, {});
    print("reset, device:",
        protocol::encode(protocol::Response {
            8, false, protocol::error::Locked, QStringLiteral("a locked device cannot be reset"), {} }));
}

TEST_CASE("The first worked example in PROTOCOL.md is what the station sends")
{
    // core/device/PROTOCOL.md, "Worked examples": identify with seq 1, offering versions 3 and 2.
    QCborArray offer;
    for (int v : protocol::SupportedVersions)
        offer.append(v);
    const QByteArray wire = frame::encode(
        protocol::encode(protocol::Request { protocol::op::Identify, 1, { { QStringLiteral("versions"), offer } } }));
    REQUIRE_FALSE(documentedFrames().isEmpty());
    CHECK(wire.toHex() == documentedFrames().first().toHex());
}

TEST_CASE("An identity with no serial is accepted only from a blank device, set-serial is checked like a serial")
{
    DeviceIdentity id;
    id.serial = QString();
    id.model = QStringLiteral("M");
    id.firmware = QStringLiteral("1");
    id.state = protocol::state::Blank;
    id.keyTypes = { QStringLiteral("p256") };
    id.canGenerateKey = true;
    CHECK(protocol::identityFromCbor(protocol::identityToCbor(id)).has_value());
    id.state = protocol::state::Keyed;
    CHECK_FALSE(protocol::identityFromCbor(protocol::identityToCbor(id)).has_value());
    CHECK(protocol::checkSerial(QStringLiteral("SN-1.ab")).has_value());
    CHECK_FALSE(protocol::checkSerial(QStringLiteral("SN 1")).has_value());
    CHECK_FALSE(protocol::checkSerial(QString(65, u'A')).has_value());
}

namespace {

/// The station's verdict on an identity: empty when accepted, else its reason code.
QString verdict(const DeviceIdentity& id)
{
    auto r = protocol::identityFromCbor(protocol::identityToCbor(id));
    return r ? QString() : (r.error().reason.isEmpty() ? QStringLiteral("protocol") : r.error().reason);
}

} // namespace

TEST_CASE("Every limit of identify is enforced: at the limit accepted, one past it refused with its code")
{
    DeviceIdentity id = goodIdentity();
    REQUIRE(verdict(id).isEmpty());
    SECTION("serial: 64 characters of A-Z a-z 0-9 - . (the certificate's PrintableString)")
    {
        id.serial = QString(64, u'S');
        CHECK(verdict(id).isEmpty());
        id.serial = QString(65, u'S');
        CHECK(verdict(id) == QLatin1String("bad-serial"));
        id.serial = QStringLiteral("SN_0001"); // '_' is not PrintableString
        CHECK(verdict(id) == QLatin1String("bad-serial"));
        id.serial = QStringLiteral("SN-0001.a");
        CHECK(verdict(id).isEmpty());
    }
    SECTION("model: 1 to 64 characters")
    {
        id.model = QString(64, u'M');
        CHECK(verdict(id).isEmpty());
        id.model = QString(63, u'M') + QChar(0x00e9); // characters, not bytes
        CHECK(verdict(id).isEmpty());
        id.model = QString(65, u'M');
        CHECK(verdict(id) == QLatin1String("bad-model"));
        id.model.clear();
        CHECK(verdict(id) == QLatin1String("bad-model"));
    }
    SECTION("firmware: at most 64 characters")
    {
        id.firmware = QString(64, u'1');
        CHECK(verdict(id).isEmpty());
        id.firmware = QString(65, u'1');
        CHECK(verdict(id) == QLatin1String("bad-firmware"));
    }
    SECTION("max-frame: 1024-65536 in version 2, 512-65536 in version 3")
    {
        id.maxFrame = 512;
        CHECK(verdict(id).isEmpty());
        id.maxFrame = 511;
        CHECK(verdict(id) == QLatin1String("protocol"));
        id.maxFrame = 65536;
        CHECK(verdict(id).isEmpty());
        id.maxFrame = 65537;
        CHECK(verdict(id) == QLatin1String("protocol"));
        id.protocol = 2;
        id.maxFrame = 1024;
        CHECK(verdict(id).isEmpty());
        id.maxFrame = 1023;
        CHECK(verdict(id) == QLatin1String("protocol"));
    }
    SECTION("key-types: at most 16 entries of at most 32 bytes")
    {
        id.keyTypes = QStringList(16, QString(32, u'k'));
        CHECK(verdict(id).isEmpty());
        id.keyTypes = QStringList(17, QStringLiteral("p256"));
        CHECK(verdict(id) == QLatin1String("protocol"));
        id.keyTypes = { QString(33, u'k') };
        CHECK(verdict(id) == QLatin1String("protocol"));
    }
    SECTION("a protocol version the station did not offer")
    {
        id.protocol = 4;
        CHECK(verdict(id) == QLatin1String("protocol"));
    }
}

TEST_CASE("Text fields are at most 256 bytes, and an error message one byte over is refused")
{
    auto answer = [](const QString& message) {
        return protocol::decodeResponse(
            protocol::encode(protocol::Response { 1, false, protocol::error::Refused, message, {} }));
    };
    CHECK(answer(QString(256, u'm')).has_value());
    CHECK_FALSE(answer(QString(257, u'm')).has_value());
    CHECK_FALSE(answer(QString(128, QChar(0x00e9)) + u'm').has_value()); // 257 UTF-8 bytes
}

TEST_CASE("Version 3 parts fit the device's frames at the smallest max-frame and the largest numbers")
{
    for (const int maxFrame : { protocol::limit::MinFrameV3, 1024, 4096, protocol::limit::MaxFrame }) {
        INFO(maxFrame);
        const int capacity = protocol::partCapacity(maxFrame);
        QCborMap chunk;
        chunk.insert(QStringLiteral("offset"), protocol::limit::Staged);
        chunk.insert(QStringLiteral("data"), QByteArray(capacity, 'd'));
        const QByteArray request = protocol::encode(
            protocol::Request { protocol::op::StageChunk, std::numeric_limits<qint64>::max(), chunk });
        CHECK(request.size() <= maxFrame);
        QCborMap part;
        part.insert(QStringLiteral("cert"), QByteArray(capacity, 'c'));
        part.insert(QStringLiteral("size"), protocol::limit::Certificate);
        part.insert(QStringLiteral("sha256"), QByteArray(32, 's'));
        const QByteArray answer = protocol::encode(
            protocol::Response { static_cast<quint64>(std::numeric_limits<qint64>::max()), true, {}, {}, part });
        CHECK(answer.size() <= maxFrame);
    }
}

TEST_CASE("Identify refuses a model or firmware with characters that cannot be shown, with its code")
{
    DeviceIdentity id = goodIdentity();
    REQUIRE(verdict(id).isEmpty());
    SECTION("an escape sequence in the model: refused, and the message does not carry it")
    {
        id.model = QStringLiteral("Sensor \x1b[31m9");
        CHECK(verdict(id) == QLatin1String("bad-model"));
        auto r = protocol::identityFromCbor(protocol::identityToCbor(id));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::Protocol);
        CHECK_FALSE(r.error().message.contains(QChar(0x1b)));
        CHECK(r.error().message.contains(QStringLiteral("\\x1b[31m")));
    }
    SECTION("other control, format and separator characters in the model")
    {
        for (const char16_t c : { u'\0', u'\t', u'\n', u'\r', u'\x7f', u'\x85', u'\x9b', u'\u061c', u'\u200b',
                 u'\u200e', u'\u202e', u'\u2028', u'\u2066', u'\u00a0', u'\ufeff', u'\ue000' }) {
            INFO(static_cast<int>(c));
            id.model = QStringLiteral("Sensor") + QChar(c) + u'9';
            CHECK(verdict(id) == QLatin1String("bad-model"));
        }
        // CBOR text is UTF-8, which cannot carry a lone surrogate; the rule refuses one all the same.
        CHECK_FALSE(protocol::isPrintableText(QStringLiteral("Sensor") + QChar(0xd800) + u'9'));
    }
    SECTION("the firmware")
    {
        id.firmware = QStringLiteral("1.4.2\x1b]0;pwned\x07");
        CHECK(verdict(id) == QLatin1String("bad-firmware"));
        id.firmware = QStringLiteral("1.4.2") + QChar(0x202e);
        CHECK(verdict(id) == QLatin1String("bad-firmware"));
    }
    SECTION("letters, digits, punctuation and symbols of any script, and the space, pass")
    {
        id.model = QStringLiteral("Capteur thermique été (rév. B) – 9/10 °C");
        CHECK(verdict(id).isEmpty());
        id.model = QStringLiteral("温度センサー 9");
        CHECK(verdict(id).isEmpty());
        id.model = QStringLiteral("Sensor ") + QString::fromUcs4(U"\U0001F321"); // outside the BMP: a pair
        CHECK(verdict(id).isEmpty());
        id.firmware = QStringLiteral("1.4.2+build.7 <rc>");
        CHECK(verdict(id).isEmpty());
    }
}

TEST_CASE("A device's error words reach the station with their control characters escaped")
{
    auto answer = [](const QString& code, const QString& message) {
        auto r = protocol::decodeResponse(protocol::encode(protocol::Response { 1, false, code, message, {} }));
        REQUIRE(r.has_value());
        return *r;
    };
    const auto r = answer(QStringLiteral("refused\x1b[2J"),
        QStringLiteral("full\x1b[2J\x1b[31mFAKE PASS") + QChar(0x9b) + QStringLiteral("0m") + QChar(0x202e) + u'x');
    CHECK(r.errorMessage == QStringLiteral("full\\x1b[2J\\x1b[31mFAKE PASS\\x9b0m\\u{202e}x"));
    CHECK(r.errorCode == QStringLiteral("refused\\x1b[2J"));
    CHECK(protocol::isPrintableText(r.errorMessage));
    // Plain words are left as they are.
    CHECK(answer(protocol::error::Refused, QStringLiteral("secure élément busy, retry <later>")).errorMessage
        == QStringLiteral("secure élément busy, retry <later>"));
    CHECK(protocol::escapeUnprintable(QStringLiteral("a\tb")) == QStringLiteral("a\\x09b"));
}
