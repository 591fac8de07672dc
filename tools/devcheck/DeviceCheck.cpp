#include "DeviceCheck.h"

#include "device/KeyInjection.h"
#include "device/Transports.h"
#include "pki/CertificateBuilder.h"
#include "pki/CertificateProfile.h"
#include "pki/EvpSigner.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"

#include <QCborArray>
#include <QCborValue>
#include <QCryptographicHash>
#include <QDateTime>
#include <QEventLoop>
#include <QRandomGenerator>
#include <QTimer>

#include <openssl/x509.h>

namespace imprint::devcheck {

using namespace imprint::core;
namespace op = protocol::op;
namespace err = protocol::error;

QString verdictName(Verdict v)
{
    switch (v) {
    case Verdict::Pass: return QStringLiteral("pass");
    case Verdict::Fail: return QStringLiteral("FAIL");
    case Verdict::Blocked: return QStringLiteral("not run");
    case Verdict::Skipped: return QStringLiteral("skipped");
    }
    return {};
}

QString Answer::summary() const
{
    if (!arrived)
        return problem.isEmpty() ? QStringLiteral("no answer") : problem;
    if (!problem.isEmpty())
        return problem;
    return response.ok ? QStringLiteral("ok") : response.errorCode;
}

namespace {

QCborMap map(std::initializer_list<std::pair<QString, QCborValue>> entries)
{
    QCborMap m;
    for (const auto& [k, v] : entries)
        m.insert(k, v);
    return m;
}

/// What a CSR says, read with OpenSSL.
struct CsrFacts {
    QString problem; ///< empty when it is a P-256 request signed with ecdsa-with-SHA256 by its key
    QByteArray spki;
    QString serialNumber;
    int serialNumberType = 0;
};

CsrFacts readCsr(const QByteArray& der)
{
    CsrFacts f;
    const auto* p = reinterpret_cast<const unsigned char*>(der.constData());
    ossl::Req req { d2i_X509_REQ(nullptr, &p, der.size()) };
    if (!req || p != reinterpret_cast<const unsigned char*>(der.constData()) + der.size()) {
        f.problem = QStringLiteral("not one DER PKCS#10 request");
        return f;
    }
    EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
    if (!key) {
        f.problem = QStringLiteral("no public key");
        return f;
    }
    f.spki = ossl::publicKeyDer(key);
    if (X509_REQ_get_signature_nid(req.get()) != NID_ecdsa_with_SHA256)
        f.problem = QStringLiteral("not signed with ecdsa-with-SHA256");
    else if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 256)
        f.problem = QStringLiteral("the key is not P-256");
    else if (X509_REQ_verify(req.get(), key) != 1)
        f.problem = QStringLiteral("the signature does not verify with the request's own key");
    (void)ossl::drainErrors();
    const X509_NAME* subject = X509_REQ_get_subject_name(req.get());
    const int at = X509_NAME_get_index_by_NID(subject, NID_serialNumber, -1);
    if (at >= 0) {
        const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
        f.serialNumberType = ASN1_STRING_type(s);
        f.serialNumber
            = QString::fromUtf8(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
    }
    return f;
}

} // namespace

DeviceCheck::DeviceCheck(Options options)
    : m_options(std::move(options))
    , m_decoder(frame::MaxPayload)
    , m_seq(QRandomGenerator::global()->bounded(1u << 30) + 1ull)
{
    const QList<std::array<const char*, 3>> rules {
        { "1.1", "answers-framed",
            "identify is answered with one good frame holding one CBOR map, with the request's seq" },
        { "4.2", "identify-limits",
            "identify's body keeps every limit: serial, model, firmware, state, key-types, max-frame" },
        { "4.1", "version-choice",
            "the newest version both sides speak is chosen: [2] gives 2, [3, 2] the device's newest" },
        { "4.1", "version-none", "an offer with no version in common is refused with unsupported" },
        { "1.2", "drop-bad-crc", "a frame with a bad CRC gets no answer" },
        { "1.2", "drop-other-version", "a frame of another version gets no answer" },
        { "1.2", "drop-oversized", "a frame announcing a payload above max-frame gets no answer" },
        { "1.2", "resync", "after a partial frame, the next whole frame is answered" },
        { "2.2", "no-seq", "a request without seq gets no answer" },
        { "5.2", "unknown-op", "an unknown operation is refused with unsupported" },
        { "5.2", "check-order",
            "arguments are checked before the state: a short challenge to a blank device is bad-args" },
        { "5.3", "blank-table", "a blank device answers each operation as the state table says" },
        { "5.3", "keyed-certified-table", "a keyed and a certified device answer as the state table says" },
        { "5.1", "generate-key", "generate-key answers with a certificate request within its time" },
        { "3.1", "repeat", "a repeated request (same seq) gets the same answer and is not run again" },
        { "5.4", "csr-signature",
            "the request is DER PKCS#10 for a P-256 key, signed with ecdsa-with-SHA256 by that key" },
        { "5.4", "csr-subject", "the request's subject serialNumber is the device serial, as PrintableString" },
        { "5.4", "new-key", "each generate-key makes a new key" },
        { "7", "reset", "reset erases key and certificate: the device is blank, sign-challenge gets no-key" },
        { "8.1", "injection",
            "inject-begin and inject-key with the test vector's s, d and nonce: the request is for d" },
        { "8.2", "injection-crypto",
            "tampered: crypto; scalar 0: crypto; a point off the curve: bad-args; each spends the one-time key" },
        { "5.1", "install-other-key", "install-cert refuses a certificate for another key with bad-args" },
        { "5.5", "staged-damaged",
            "a transfer in parts whose whole does not match its SHA-256 is refused with bad-args" },
        { "5.5", "staged",
            "a transfer in parts: each part acknowledged with the bytes received, a repeated part harmless" },
        { "5.1", "install-cert", "install-cert takes the certificate for the device's key: the device is certified" },
        { "5.1", "read-cert",
            "read-cert gives exactly the installed certificate (in parts in version 3; beyond its size, bad-args)" },
        { "5.1", "sign-challenge", "sign-challenge's signature verifies with the certificate's key" },
        { "7", "lock", "lock: a certified device becomes locked; lock again is answered ok" },
        { "7", "locked",
            "a locked device refuses generate-key, install-cert and reset with locked, and still answers "
            "identify, read-cert and sign-challenge" },
    };
    for (const auto& r : rules)
        m_rules.append(Rule {
            QString::fromLatin1(r[0]), QString::fromLatin1(r[1]), QString::fromUtf8(r[2]), Verdict::Blocked, {} });
}

DeviceCheck::~DeviceCheck()
{
    delete m_transport;
}

bool DeviceCheck::passed() const
{
    return std::none_of(m_rules.begin(), m_rules.end(), [](const Rule& r) { return r.verdict == Verdict::Fail; });
}

Rule& DeviceCheck::rule(const QString& id)
{
    for (Rule& r : m_rules) {
        if (r.id == id)
            return r;
    }
    Q_UNREACHABLE();
}

void DeviceCheck::pass(const QString& id)
{
    rule(id).verdict = Verdict::Pass;
}

void DeviceCheck::failRule(const QString& id, const QString& detail)
{
    rule(id).verdict = Verdict::Fail;
    rule(id).detail = detail;
}

void DeviceCheck::skip(const QString& id, const QString& why)
{
    rule(id).verdict = Verdict::Skipped;
    rule(id).detail = why;
}

void DeviceCheck::blockRest(const QString& why)
{
    for (Rule& r : m_rules) {
        if (r.verdict == Verdict::Blocked && r.detail.isEmpty())
            r.detail = why;
    }
}

bool DeviceCheck::open(QString* error)
{
    QString name;
    m_transport = transportFactory(m_options.port, &name)();
    QObject::connect(m_transport, &DeviceTransport::bytesReceived, m_transport, [this](const QByteArray& bytes) {
        for (auto& event : m_decoder.feed(bytes)) {
            if (event.error.isEmpty())
                m_frames.append(event.payload);
        }
    });
    QObject::connect(
        m_transport, &DeviceTransport::failed, m_transport, [this](const Error& e) { m_linkError = e.message; });
    QEventLoop loop;
    bool opened = false;
    QObject::connect(m_transport, &DeviceTransport::opened, &loop, [&] {
        opened = true;
        loop.quit();
    });
    QObject::connect(m_transport, &DeviceTransport::failed, &loop, [&] { loop.quit(); });
    QTimer::singleShot(10000, &loop, &QEventLoop::quit);
    m_transport->open();
    if (!opened)
        loop.exec();
    if (!opened) {
        *error = m_linkError.isEmpty() ? QStringLiteral("%1 did not open within 10 s.").arg(name) : m_linkError;
        return false;
    }
    return true;
}

std::optional<QByteArray> DeviceCheck::exchange(const QByteArray& wire, int timeoutMs)
{
    m_frames.clear();
    if (!m_linkError.isEmpty())
        return std::nullopt;
    m_transport->write(wire);
    QEventLoop loop;
    QTimer timer;
    timer.setSingleShot(true);
    QObject::connect(&timer, &QTimer::timeout, &loop, &QEventLoop::quit);
    QObject::connect(m_transport, &DeviceTransport::bytesReceived, &loop, [&] {
        if (!m_frames.isEmpty())
            loop.quit();
    });
    QObject::connect(m_transport, &DeviceTransport::failed, &loop, &QEventLoop::quit);
    timer.start(timeoutMs);
    if (m_frames.isEmpty())
        loop.exec();
    if (m_frames.isEmpty())
        return std::nullopt;
    return m_frames.takeFirst();
}

QByteArray DeviceCheck::requestFrame(const QString& operation, const QCborMap& args, quint64 seq) const
{
    return frame::encode(protocol::encode(protocol::Request { operation, seq, args }));
}

Answer DeviceCheck::send(const QByteArray& wire, quint64 seq, int timeoutMs)
{
    Answer a;
    auto payload = exchange(wire, timeoutMs);
    if (!payload) {
        a.problem = m_linkError.isEmpty() ? QString() : QStringLiteral("the link failed: ") + m_linkError;
        return a;
    }
    a.arrived = true;
    a.payload = *payload;
    auto response = protocol::decodeResponse(*payload);
    if (!response) {
        a.problem = QStringLiteral("a malformed answer (%1)").arg(response.error().text());
        return a;
    }
    a.response = *response;
    if (response->seq != seq)
        a.problem = QStringLiteral("an answer with seq %1 to a request with seq %2").arg(response->seq).arg(seq);
    return a;
}

Answer DeviceCheck::call(const QString& operation, const QCborMap& args, int timeoutMs)
{
    const quint64 seq = m_seq++;
    return send(requestFrame(operation, args, seq), seq, timeoutMs < 0 ? m_options.timeoutMs : timeoutMs);
}

bool DeviceCheck::silentAfter(const QByteArray& wire)
{
    return !exchange(wire, m_options.quietMs).has_value() && m_linkError.isEmpty();
}

bool DeviceCheck::identify(const QList<int>& versions, Answer* answer)
{
    QCborArray offer;
    for (int v : versions)
        offer.append(v);
    Answer a = call(op::Identify, map({ { QStringLiteral("versions"), offer } }));
    if (answer)
        *answer = a;
    if (!a.ok())
        return false;
    auto id = protocol::identityFromCbor(a.response.body);
    if (!id)
        return false;
    m_device = *id;
    return true;
}

std::optional<QCborMap> DeviceCheck::identifyOnly(QString* error)
{
    if (!open(error))
        return std::nullopt;
    QCborArray offer;
    for (int v : protocol::SupportedVersions)
        offer.append(v);
    Answer a = call(op::Identify, map({ { QStringLiteral("versions"), offer } }));
    if (!a.ok()) {
        *error = QStringLiteral("identify: ") + a.summary();
        return std::nullopt;
    }
    return a.response.body;
}

bool DeviceCheck::run(QString* error)
{
    if (!open(error))
        return false;

    // 1.1 and 4.2: the first answer, and what it says.
    Answer first;
    QCborArray offer;
    for (int v : protocol::SupportedVersions)
        offer.append(v);
    first = call(op::Identify, map({ { QStringLiteral("versions"), offer } }));
    if (!first.arrived || !first.problem.isEmpty()) {
        failRule(QStringLiteral("answers-framed"), first.summary());
        blockRest(QStringLiteral("identify has no good answer"));
        return true;
    }
    pass(QStringLiteral("answers-framed"));
    if (!first.response.ok) {
        failRule(QStringLiteral("identify-limits"), QStringLiteral("identify refused: ") + first.summary());
        blockRest(QStringLiteral("identify refused"));
        return true;
    }
    auto id = protocol::identityFromCbor(first.response.body);
    if (!id) {
        failRule(QStringLiteral("identify-limits"), id.error().text());
        blockRest(QStringLiteral("identify's answer breaks the document"));
        return true;
    }
    pass(QStringLiteral("identify-limits"));
    m_device = *id;
    if (m_device.state == protocol::state::Locked) {
        blockRest(QStringLiteral("the device is locked already; check one that is not"));
        return true;
    }
    if (m_device.serial.isEmpty()) {
        if (m_options.serial.isEmpty()) {
            blockRest(QStringLiteral("the device has no serial yet; give it one with --serial (set-serial, once)"));
            return true;
        }
        Answer set = call(op::SetSerial, map({ { QStringLiteral("serial"), m_options.serial } }));
        if (!set.ok() || !identify(protocol::SupportedVersions) || m_device.serial != m_options.serial) {
            blockRest(QStringLiteral("set-serial did not give the device its serial: ") + set.summary());
            return true;
        }
    }

    // 4.1: version negotiation.
    Answer none;
    identify({ 99 }, &none);
    if (none.arrived && none.problem.isEmpty() && !none.response.ok && none.response.errorCode == err::Unsupported)
        pass(QStringLiteral("version-none"));
    else
        failRule(QStringLiteral("version-none"), QStringLiteral("[99] was answered ") + none.summary());
    // [3] alone says whether the device speaks 3; then [3, 2] must choose it (or 2 if not), and
    // [2] must give 2, unless its frames are below version 2's smallest (version 3 only).
    Answer three;
    identify({ 3 }, &three);
    const bool speaks3 = three.ok();
    const bool threeRight = speaks3 || three.summary() == err::Unsupported;
    Answer offer2;
    const bool two = m_device.maxFrame >= protocol::limit::MinFrameV2 || !speaks3
        ? identify({ 2 }, &offer2) && m_device.protocol == 2
        : (identify({ 2 }, &offer2), offer2.summary() == err::Unsupported);
    const bool newest = identify(protocol::SupportedVersions);
    if (threeRight && two && newest && m_device.protocol == (speaks3 ? 3 : 2))
        pass(QStringLiteral("version-choice"));
    else
        failRule(QStringLiteral("version-choice"),
            QStringLiteral("[3] was answered %1, [2] %2, [3, 2] chose %3")
                .arg(three.ok() ? QStringLiteral("ok") : three.summary(),
                    offer2.ok() ? QStringLiteral("ok") : offer2.summary())
                .arg(newest ? m_device.protocol : -1));
    if (!newest) {
        blockRest(QStringLiteral("identify stopped answering"));
        return true;
    }
    if (m_device.state != protocol::state::Blank) {
        Answer r = call(op::Reset);
        if (!r.ok() || !identify(protocol::SupportedVersions) || m_device.state != protocol::state::Blank) {
            failRule(QStringLiteral("reset"),
                QStringLiteral("a %1 device answered reset %2").arg(m_device.state, r.summary()));
            blockRest(QStringLiteral("the device could not be made blank to start from"));
            return true;
        }
    }

    checkFraming();
    checkBlankTable();
    const bool keygen = checkKeygen();
    const bool injected = checkInjection();
    if (!keygen && !injected) {
        blockRest(QStringLiteral("the device has no key to certify"));
        return true;
    }
    if (!checkInstall()) {
        blockRest(QStringLiteral("no certificate was installed"));
        return true;
    }
    checkReadBack();
    checkChallenge();
    checkLock();
    return true;
}

void DeviceCheck::checkFraming()
{
    const QList<int> versions = protocol::SupportedVersions;
    QCborArray offer;
    for (int v : versions)
        offer.append(v);
    const QCborMap args = map({ { QStringLiteral("versions"), offer } });

    QByteArray badCrc = requestFrame(op::Identify, args, m_seq++);
    badCrc[badCrc.size() - 1] = static_cast<char>(badCrc[badCrc.size() - 1] ^ 0x5a);
    if (silentAfter(badCrc))
        pass(QStringLiteral("drop-bad-crc"));
    else
        failRule(QStringLiteral("drop-bad-crc"), QStringLiteral("it was answered"));

    QByteArray otherVersion = requestFrame(op::Identify, args, m_seq++);
    otherVersion[2] = 0x01;
    // The CRC is made right again for the changed header: only the version is wrong.
    const quint32 crc = frame::crc32(otherVersion.constData(), otherVersion.size() - 4);
    for (int i = 0; i < 4; ++i)
        otherVersion[otherVersion.size() - 4 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
    if (silentAfter(otherVersion))
        pass(QStringLiteral("drop-other-version"));
    else
        failRule(QStringLiteral("drop-other-version"), QStringLiteral("it was answered"));

    // A header announcing one byte more than the device takes, and that many bytes.
    const quint32 over = static_cast<quint32>(m_device.maxFrame) + 1;
    QByteArray oversized = QByteArray::fromHex("494d0200");
    for (int i = 0; i < 4; ++i)
        oversized += static_cast<char>((over >> (24 - 8 * i)) & 0xff);
    oversized += QByteArray(static_cast<qsizetype>(over) + 4, '\0');
    const bool silent = silentAfter(oversized);
    // And the device must be listening again afterwards.
    const quint64 after = m_seq++;
    Answer next = send(requestFrame(op::Identify, args, after), after, m_options.timeoutMs);
    if (silent && next.ok())
        pass(QStringLiteral("drop-oversized"));
    else
        failRule(QStringLiteral("drop-oversized"),
            silent ? QStringLiteral("the next good frame was answered ") + next.summary()
                   : QStringLiteral("it was answered"));

    // Half a frame, then a whole one: the whole one is answered (PROTOCOL.md 1.2, the rescan).
    const QByteArray partial = requestFrame(op::Identify, args, m_seq++).left(12);
    const quint64 whole = m_seq++;
    Answer resync = send(partial + requestFrame(op::Identify, args, whole), whole, m_options.timeoutMs);
    if (resync.ok())
        pass(QStringLiteral("resync"));
    else
        failRule(QStringLiteral("resync"), resync.summary());

    QCborMap noSeq;
    noSeq.insert(QStringLiteral("op"), op::Identify);
    noSeq.insert(QStringLiteral("args"), args);
    if (silentAfter(frame::encode(noSeq.toCborValue().toCbor())))
        pass(QStringLiteral("no-seq"));
    else
        failRule(QStringLiteral("no-seq"), QStringLiteral("it was answered"));

    Answer unknown = call(QStringLiteral("devcheck-no-such-operation"));
    if (unknown.arrived && unknown.problem.isEmpty() && unknown.response.errorCode == err::Unsupported)
        pass(QStringLiteral("unknown-op"));
    else
        failRule(QStringLiteral("unknown-op"), unknown.summary());
}

void DeviceCheck::checkBlankTable()
{
    Answer order = call(op::SignChallenge, map({ { QStringLiteral("challenge"), QByteArray(3, 'c') } }));
    if (order.arrived && order.problem.isEmpty() && order.response.errorCode == err::BadArgs)
        pass(QStringLiteral("check-order"));
    else
        failRule(QStringLiteral("check-order"), QStringLiteral("answered ") + order.summary());

    const bool v3 = m_device.protocol >= protocol::ChunkedVersion;
    const QList<Expected> table {
        { op::ReadCertificate, {}, err::NoCertificate },
        { op::SignChallenge, map({ { QStringLiteral("challenge"), QByteArray(32, 'c') } }), err::NoKey },
        { op::Lock, {}, err::BadState },
        { op::InstallCertificate,
            map({ { QStringLiteral("cert"), QByteArray(300, 'c') }, { QStringLiteral("chain"), QCborArray {} } }),
            err::NoKey },
        { op::InjectKey,
            map({ { QStringLiteral("ephemeral"), QByteArray(65, '\x04') },
                { QStringLiteral("nonce"), QByteArray(12, 'n') },
                { QStringLiteral("ciphertext"), QByteArray(48, 'c') } }),
            err::BadState, m_device.canReceiveKey },
        { op::StageBegin, map({ { QStringLiteral("size"), 100 }, { QStringLiteral("sha256"), QByteArray(32, 's') } }),
            err::NoKey, v3 },
        { op::StageChunk, map({ { QStringLiteral("offset"), 0 }, { QStringLiteral("data"), QByteArray(10, 'd') } }),
            err::BadState, v3 },
        { op::SetSerial, map({ { QStringLiteral("serial"), QStringLiteral("DEVCHECK-1") } }), err::BadState },
    };
    const QStringList wrong = wrongReplies(table, protocol::state::Blank);
    if (wrong.isEmpty())
        pass(QStringLiteral("blank-table"));
    else
        failRule(QStringLiteral("blank-table"), wrong.join(QStringLiteral("; ")));
}

bool DeviceCheck::checkKeygen()
{
    const QStringList keygenRules { QStringLiteral("generate-key"), QStringLiteral("repeat"),
        QStringLiteral("csr-signature"), QStringLiteral("csr-subject"), QStringLiteral("new-key") };
    if (!m_device.canGenerateKey || !m_device.keyTypes.contains(QLatin1String("p256"))) {
        for (const QString& r : keygenRules)
            skip(r, QStringLiteral("the device does not make P-256 keys"));
        return false;
    }
    const QCborMap args = map({ { QStringLiteral("key-type"), QStringLiteral("p256") } });
    Answer made = call(op::GenerateKey, args, m_options.keygenTimeoutMs);
    auto csr = made.ok() ? protocol::bytesField(made.response.body, QStringLiteral("csr"), protocol::limit::Csr)
                         : Result<QByteArray>(fail(ErrorCode::Protocol, made.summary()));
    if (!csr) {
        failRule(QStringLiteral("generate-key"), csr.error().message);
        for (const QString& r : keygenRules.mid(1))
            rule(r).detail = QStringLiteral("generate-key failed");
        rule(QStringLiteral("reset")).detail = QStringLiteral("generate-key failed");
        return false;
    }
    pass(QStringLiteral("generate-key"));

    // A lost answer: the same frame again must bring the same answer, not a second key.
    const quint64 seq = m_seq++;
    const QByteArray wire = requestFrame(op::GenerateKey, args, seq);
    Answer once = send(wire, seq, m_options.keygenTimeoutMs);
    Answer again = send(wire, seq, m_options.keygenTimeoutMs);
    if (once.ok() && again.ok() && once.payload == again.payload)
        pass(QStringLiteral("repeat"));
    else
        failRule(QStringLiteral("repeat"),
            once.ok() && again.ok() ? QStringLiteral("the repeat was run again (a different answer)")
                                    : QStringLiteral("first %1, repeat %2").arg(once.summary(), again.summary()));
    // The device's key is the one of its last answer.
    const Answer& latest = again.ok() ? again : once;
    const QByteArray second
        = latest.ok() ? latest.response.body.value(QStringLiteral("csr")).toByteArray() : QByteArray();

    const CsrFacts facts = readCsr(*csr);
    if (facts.problem.isEmpty())
        pass(QStringLiteral("csr-signature"));
    else
        failRule(QStringLiteral("csr-signature"), facts.problem);
    if (facts.serialNumber == m_device.serial && facts.serialNumberType == V_ASN1_PRINTABLESTRING)
        pass(QStringLiteral("csr-subject"));
    else
        failRule(QStringLiteral("csr-subject"),
            QStringLiteral("serialNumber \"%1\" (ASN.1 type %2) for device %3")
                .arg(facts.serialNumber)
                .arg(facts.serialNumberType)
                .arg(m_device.serial));
    const CsrFacts later = readCsr(second);
    if (!second.isEmpty() && !later.spki.isEmpty() && later.spki != facts.spki)
        pass(QStringLiteral("new-key"));
    else
        failRule(QStringLiteral("new-key"), QStringLiteral("two generate-key gave the same key"));
    m_csr = second.isEmpty() ? *csr : second;

    // 7: reset from keyed.
    Answer reset = call(op::Reset);
    Answer noKey = call(op::SignChallenge, map({ { QStringLiteral("challenge"), QByteArray(32, 'c') } }));
    if (reset.ok() && identify(protocol::SupportedVersions) && m_device.state == protocol::state::Blank
        && noKey.summary() == err::NoKey)
        pass(QStringLiteral("reset"));
    else
        failRule(QStringLiteral("reset"),
            QStringLiteral("reset %1, then state %2 and sign-challenge %3")
                .arg(reset.summary(), m_device.state, noKey.summary()));
    m_csr.clear();
    if (m_device.canReceiveKey)
        return true; // injection gives the next key
    Answer remade = call(op::GenerateKey, args, m_options.keygenTimeoutMs);
    m_csr = remade.ok() ? remade.response.body.value(QStringLiteral("csr")).toByteArray() : QByteArray();
    return !m_csr.isEmpty();
}

bool DeviceCheck::checkInjection()
{
    if (!m_device.canReceiveKey) {
        skip(QStringLiteral("injection"), QStringLiteral("the device does not take injected keys"));
        skip(QStringLiteral("injection-crypto"), QStringLiteral("the device does not take injected keys"));
        if (!m_device.canGenerateKey)
            skip(QStringLiteral("reset"), QStringLiteral("checked after a generated key"));
        return false;
    }
    // Sealed with the test vector's station inputs (PROTOCOL.md 8.3: s, d, nonce) to the
    // device's own one-time point; `how` spoils one thing. The first answer, then the answer
    // to the same inject-key sent again with a new seq (the one-time key must be spent).
    enum class Spoil { None, Tamper, ZeroScalar, OffCurve };
    const injection::TestVector& vector = injection::testVector();
    auto inject = [&](Spoil how, Answer* again) -> Answer {
        Answer begin = call(op::InjectBegin);
        if (!begin.ok())
            return begin;
        const QByteArray point = begin.response.body.value(QStringLiteral("ephemeral")).toByteArray();
        auto station = injection::keyFromScalar(vector.s);
        auto sealed = station ? injection::sealScalarUnchecked(point, m_device.serial, *station,
                          how == Spoil::ZeroScalar ? QByteArray(32, '\0') : vector.d, vector.nonce)
                              : Result<QByteArray>(std::unexpected(station.error()));
        if (!sealed) {
            Answer broken;
            broken.arrived = true;
            broken.problem = QStringLiteral("inject-begin's point is not a P-256 point: ") + sealed.error().message;
            return broken;
        }
        QByteArray ciphertext = *sealed;
        if (how == Spoil::Tamper)
            ciphertext[0] = static_cast<char>(ciphertext[0] ^ 0x01);
        QByteArray stationPoint = station->point;
        if (how == Spoil::OffCurve)
            stationPoint[64] = static_cast<char>(stationPoint[64] ^ 0x01);
        const QCborMap args = map({ { QStringLiteral("ephemeral"), stationPoint },
            { QStringLiteral("nonce"), vector.nonce }, { QStringLiteral("ciphertext"), ciphertext } });
        Answer first = call(op::InjectKey, args);
        if (again)
            *again = call(op::InjectKey, args);
        return first;
    };
    Answer a = inject(Spoil::None, nullptr);
    auto expected = injection::keyFromScalar(vector.d);
    const QByteArray csr = a.ok() ? a.response.body.value(QStringLiteral("csr")).toByteArray() : QByteArray();
    const CsrFacts facts = readCsr(csr);
    if (a.ok() && expected && facts.problem.isEmpty() && facts.spki == ossl::publicKeyDer(expected->key.get())) {
        pass(QStringLiteral("injection"));
        m_csr = csr;
    } else {
        failRule(QStringLiteral("injection"),
            a.ok() ? (facts.problem.isEmpty() ? QStringLiteral("the request is not for the vector's d") : facts.problem)
                   : a.summary());
    }
    QStringList wrong;
    for (const auto& [how, name, code] : { std::tuple { Spoil::Tamper, "a tampered ciphertext", err::Crypto },
             std::tuple { Spoil::ZeroScalar, "a sealed scalar of 0", err::Crypto },
             std::tuple { Spoil::OffCurve, "a station point off the curve", err::BadArgs } }) {
        Answer again;
        const Answer first = inject(how, &again);
        if (first.summary() != code || again.summary() != err::BadState)
            wrong << QStringLiteral("%1: %2, then %3 (expected %4, then bad-state)")
                         .arg(QString::fromLatin1(name), first.summary(), again.summary(), code);
    }
    if (wrong.isEmpty())
        pass(QStringLiteral("injection-crypto"));
    else
        failRule(QStringLiteral("injection-crypto"), wrong.join(QStringLiteral("; ")));
    if (!m_device.canGenerateKey)
        skip(QStringLiteral("reset"), QStringLiteral("checked after a generated key"));
    return !m_csr.isEmpty();
}

QStringList DeviceCheck::stateReplies(const QString& state)
{
    // 5.3: what a keyed or certified device answers to what its state does not allow.
    const bool v3 = m_device.protocol >= protocol::ChunkedVersion;
    const bool keyed = state == protocol::state::Keyed;
    const QList<Expected> table {
        { op::Lock, {}, err::BadState, keyed },
        { op::ReadCertificate, {}, err::NoCertificate, keyed },
        { op::SetSerial, map({ { QStringLiteral("serial"), QStringLiteral("DEVCHECK-1") } }), err::BadState },
        { op::InstallCertificate, map({ { QStringLiteral("staged"), true } }), err::BadState, v3 },
        { op::StageChunk, map({ { QStringLiteral("offset"), 0 }, { QStringLiteral("data"), QByteArray(10, 'd') } }),
            err::BadState, v3 },
    };
    return wrongReplies(table, state);
}

QStringList DeviceCheck::wrongReplies(const QList<Expected>& table, const QString& state)
{
    QStringList wrong;
    for (const Expected& e : table) {
        if (!e.applies)
            continue;
        const QString got = call(e.op, e.args).summary();
        if (got != e.code)
            wrong << QStringLiteral("%1, %2: %3 (expected %4)").arg(state, e.op, got, e.code);
    }
    return wrong;
}

bool DeviceCheck::checkInstall()
{
    QStringList tableWrong = stateReplies(protocol::state::Keyed);
    const CsrFacts facts = readCsr(m_csr);
    // The throwaway CA: in memory, for this run only.
    auto caKey = EvpSigner::generateP256();
    auto other = EvpSigner::generateP256();
    auto caName = makeName({ { QStringLiteral("CN"), QStringLiteral("imprint-devcheck throwaway CA") } });
    if (!caKey || !other || !caName || facts.spki.isEmpty()) {
        blockRest(QStringLiteral("no key to certify"));
        return false;
    }
    CertificateBuilder b;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    b.subject(caName->get()).publicKey(caKey->key()).validity(now.addDays(-1), now.addDays(1));
    b.extension(NID_basic_constraints, "critical,CA:TRUE").extension(NID_subject_key_identifier, "hash");
    auto caCert = b.randomSerial() ? b.sign(*caKey) : Result<ossl::Cert>(fail(ErrorCode::Crypto, QString()));
    if (!caCert)
        return false;
    m_caCert = ossl::certToDer(caCert->get());
    const QByteArray otherSpki = other->publicKey();
    auto ca = IssuingCa::create(std::make_shared<EvpSigner>(std::move(*caKey)), { m_caCert });
    if (!ca)
        return false;
    auto tmpl = ca->prepare(CertificateProfile::idevid());
    if (!tmpl)
        return false;
    auto cert = ca->issue(*tmpl, m_device, facts.spki);
    auto wrong = ca->issue(*tmpl, m_device, otherSpki);
    if (!cert || !wrong) {
        blockRest(QStringLiteral("the throwaway CA could not certify the device's key: ")
            + (cert ? wrong.error().text() : cert.error().text()));
        return false;
    }
    const QList<QByteArray> chain { m_caCert };

    const qsizetype part = protocol::partCapacity(m_device.maxFrame);
    // A transfer in parts of `der` and the chain; `damage` flips a byte near the end (in the
    // chain's signature), `repeats` sends every part twice with one seq (a lost answer) and
    // the first also with a new seq (the part started over). The install-cert's answer.
    auto transfer = [&](const QByteArray& der, bool damage, bool repeats, QString* detail) -> Answer {
        const QByteArray staged = protocol::installArgs(der, chain).toCborValue().toCbor();
        QByteArray sent = staged;
        if (damage)
            sent[sent.size() - 3] = static_cast<char>(sent[sent.size() - 3] ^ 0x01);
        Answer begin = call(op::StageBegin,
            map({ { QStringLiteral("size"), staged.size() },
                { QStringLiteral("sha256"), QCryptographicHash::hash(staged, QCryptographicHash::Sha256) } }));
        if (!begin.ok()) {
            *detail = QStringLiteral("stage-begin ") + begin.summary();
            return begin;
        }
        for (qsizetype offset = 0; offset < sent.size(); offset += part) {
            const QCborMap args
                = map({ { QStringLiteral("offset"), offset }, { QStringLiteral("data"), sent.mid(offset, part) } });
            const qsizetype expect = std::min(sent.size(), offset + part);
            const quint64 seq = m_seq++;
            const QByteArray wire = requestFrame(op::StageChunk, args, seq);
            QList<Answer> answers { send(wire, seq, m_options.timeoutMs) };
            if (repeats)
                answers << send(wire, seq, m_options.timeoutMs);
            if (repeats && offset == 0) {
                answers << call(op::StageChunk, args);
                // A part that does not follow what was received is refused and changes nothing.
                Answer gap = call(op::StageChunk,
                    map({ { QStringLiteral("offset"), expect + 1 }, { QStringLiteral("data"), QByteArray(1, 'x') } }));
                if (gap.summary() != err::BadArgs) {
                    *detail = QStringLiteral("a part beyond the bytes received: ") + gap.summary();
                    Answer failed = gap;
                    failed.problem = *detail;
                    return failed;
                }
            }
            for (const Answer& a : answers) {
                if (!a.ok() || a.response.body.value(QStringLiteral("received")).toInteger() != expect) {
                    *detail = QStringLiteral("the part at %1: %2, received %3 (expected %4)")
                                  .arg(offset)
                                  .arg(a.summary())
                                  .arg(a.response.body.value(QStringLiteral("received")).toInteger())
                                  .arg(expect);
                    Answer failed = a;
                    failed.problem = *detail;
                    return failed;
                }
            }
        }
        Answer install = call(op::InstallCertificate, map({ { QStringLiteral("staged"), true } }));
        *detail = QStringLiteral("install-cert {staged}: ") + install.summary();
        return install;
    };
    const bool v3 = m_device.protocol >= protocol::ChunkedVersion;
    auto fits
        = [&](const QByteArray& der) { return protocol::installRequestSize(der.size(), chain) <= m_device.maxFrame; };

    QString detail;
    Answer refused = fits(wrong->der) ? call(op::InstallCertificate, protocol::installArgs(wrong->der, chain))
        : v3                          ? transfer(wrong->der, false, false, &detail)
                                      : Answer {};
    if (!fits(wrong->der) && !v3)
        skip(QStringLiteral("install-other-key"), QStringLiteral("no certificate fits the device's frames"));
    else if (refused.summary() == err::BadArgs)
        pass(QStringLiteral("install-other-key"));
    else
        failRule(QStringLiteral("install-other-key"), QStringLiteral("answered ") + refused.summary());

    bool installed = false;
    if (v3) {
        if (transfer(cert->der, true, false, &detail).summary() == err::BadArgs)
            pass(QStringLiteral("staged-damaged"));
        else
            failRule(QStringLiteral("staged-damaged"), detail);
        const Answer install = transfer(cert->der, false, true, &detail);
        installed = install.ok();
        if (installed || detail.startsWith(QLatin1String("install-cert")))
            pass(QStringLiteral("staged"));
        else
            failRule(QStringLiteral("staged"), detail);
        if (!installed)
            failRule(QStringLiteral("install-cert"), detail);
    } else {
        skip(QStringLiteral("staged-damaged"), QStringLiteral("version 2: no transfers in parts"));
        skip(QStringLiteral("staged"), QStringLiteral("version 2: no transfers in parts"));
        if (!fits(cert->der)) {
            failRule(QStringLiteral("install-cert"),
                QStringLiteral(
                    "a certificate and chain of %1 bytes do not fit max-frame %2, and version 2 has no parts")
                    .arg(protocol::installRequestSize(cert->der.size(), chain))
                    .arg(m_device.maxFrame));
            return false;
        }
        Answer install = call(op::InstallCertificate, protocol::installArgs(cert->der, chain));
        installed = install.ok();
        if (!installed)
            failRule(QStringLiteral("install-cert"), install.summary());
    }
    if (!installed)
        return false;
    if (!identify(protocol::SupportedVersions) || m_device.state != protocol::state::Certified) {
        failRule(QStringLiteral("install-cert"), QStringLiteral("installed, but identify says ") + m_device.state);
        return false;
    }
    pass(QStringLiteral("install-cert"));
    m_cert = cert->der;
    tableWrong += stateReplies(protocol::state::Certified);
    if (tableWrong.isEmpty())
        pass(QStringLiteral("keyed-certified-table"));
    else
        failRule(QStringLiteral("keyed-certified-table"), tableWrong.join(QStringLiteral("; ")));
    return true;
}

void DeviceCheck::checkReadBack()
{
    QByteArray read;
    QString problem;
    if (m_device.protocol >= protocol::ChunkedVersion) {
        const qsizetype part = protocol::partCapacity(m_device.maxFrame);
        QByteArray sha;
        while (problem.isEmpty()) {
            Answer a = call(op::ReadCertificate,
                map({ { QStringLiteral("offset"), read.size() }, { QStringLiteral("length"), part } }));
            const QByteArray piece = a.response.body.value(QStringLiteral("cert")).toByteArray();
            const qint64 size = a.response.body.value(QStringLiteral("size")).toInteger(-1);
            sha = a.response.body.value(QStringLiteral("sha256")).toByteArray();
            if (!a.ok() || size < 0 || size > protocol::limit::Certificate || piece.size() > part
                || read.size() + piece.size() > size || (piece.isEmpty() && read.size() < size)) {
                problem = QStringLiteral("the part at %1: %2")
                              .arg(read.size())
                              .arg(a.ok() ? QStringLiteral("malformed") : a.summary());
                break;
            }
            read += piece;
            if (read.size() >= size)
                break;
        }
        if (problem.isEmpty() && QCryptographicHash::hash(read, QCryptographicHash::Sha256) != sha)
            problem = QStringLiteral("the parts do not match the SHA-256 the device gave");
        if (problem.isEmpty()) {
            Answer beyond = call(op::ReadCertificate,
                map({ { QStringLiteral("offset"), read.size() + 1 }, { QStringLiteral("length"), part } }));
            if (beyond.summary() != err::BadArgs)
                problem = QStringLiteral("read-cert beyond the certificate's size: ") + beyond.summary();
        }
    } else {
        Answer a = call(op::ReadCertificate);
        read = a.response.body.value(QStringLiteral("cert")).toByteArray();
        if (!a.ok())
            problem = a.summary();
    }
    if (problem.isEmpty() && read != m_cert)
        problem = QStringLiteral("%1 bytes that differ from the %2 installed").arg(read.size()).arg(m_cert.size());
    if (problem.isEmpty())
        pass(QStringLiteral("read-cert"));
    else
        failRule(QStringLiteral("read-cert"), problem);
}

void DeviceCheck::checkChallenge()
{
    QByteArray nonce(protocol::ChallengeSize, Qt::Uninitialized);
    for (char& c : nonce)
        c = static_cast<char>(QRandomGenerator::global()->bounded(256));
    Answer a = call(op::SignChallenge, map({ { QStringLiteral("challenge"), nonce } }));
    auto cert = ossl::certFromDer(m_cert);
    const QByteArray sig = a.response.body.value(QStringLiteral("signature")).toByteArray();
    if (a.ok() && cert
        && ossl::verifySha256(X509_get0_pubkey(cert->get()), QByteArray(protocol::ChallengeContext) + nonce, sig))
        pass(QStringLiteral("sign-challenge"));
    else
        failRule(
            QStringLiteral("sign-challenge"), a.ok() ? QStringLiteral("the signature does not verify") : a.summary());
}

void DeviceCheck::checkLock()
{
    if (!m_options.lock) {
        const QString why = QStringLiteral("locking is final: run with --lock on a device that may stay locked");
        skip(QStringLiteral("lock"), why);
        skip(QStringLiteral("locked"), why);
        return;
    }
    Answer lock = call(op::Lock);
    Answer again = call(op::Lock);
    const bool locked = identify(protocol::SupportedVersions) && m_device.state == protocol::state::Locked;
    if (lock.ok() && again.ok() && locked)
        pass(QStringLiteral("lock"));
    else
        failRule(QStringLiteral("lock"),
            QStringLiteral("lock %1, again %2, state %3").arg(lock.summary(), again.summary(), m_device.state));
    if (!locked) {
        rule(QStringLiteral("locked")).detail = QStringLiteral("the device did not lock");
        return;
    }
    QStringList wrong;
    const QList<std::pair<QString, QCborMap>> refused {
        { op::GenerateKey, map({ { QStringLiteral("key-type"), QStringLiteral("p256") } }) },
        { op::InstallCertificate,
            map({ { QStringLiteral("cert"), QByteArray(300, 'c') }, { QStringLiteral("chain"), QCborArray {} } }) },
        { op::Reset, {} },
    };
    for (const auto& [operation, args] : refused) {
        const QString got = call(operation, args).summary();
        if (got != err::Locked)
            wrong << QStringLiteral("%1: %2 (expected locked)").arg(operation, got);
    }
    if (!identify(protocol::SupportedVersions))
        wrong << QStringLiteral("identify is not answered");
    Answer read = m_device.protocol >= protocol::ChunkedVersion ? call(op::ReadCertificate,
                      map({ { QStringLiteral("offset"), 0 },
                          { QStringLiteral("length"), protocol::partCapacity(m_device.maxFrame) } }))
                                                                : call(op::ReadCertificate);
    if (!read.ok())
        wrong << QStringLiteral("read-cert: ") + read.summary();
    Answer sign = call(op::SignChallenge, map({ { QStringLiteral("challenge"), QByteArray(32, 'c') } }));
    if (!sign.ok())
        wrong << QStringLiteral("sign-challenge: ") + sign.summary();
    if (wrong.isEmpty())
        pass(QStringLiteral("locked"));
    else
        failRule(QStringLiteral("locked"), wrong.join(QStringLiteral("; ")));
}

} // namespace imprint::devcheck
