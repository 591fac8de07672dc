#include "StationSetup.h"

#include "store/RecordStore.h"

#include "Pkcs11Uri.h"
#include "pki/CertificateBuilder.h"
#include "pki/EvpSigner.h"
#include "pki/IssuingCa.h"

#include <QDebug>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSaveFile>
#include <QSysInfo>

#include <openssl/rand.h>

namespace imprint::hsm {

using core::ErrorCode;
using core::fail;
using core::Result;

namespace {

Result<core::Secret> randomPin()
{
    unsigned char raw[12];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return core::ossl::cryptoFail(QStringLiteral("The random generator failed."));
    // fromRawData: no copy of the raw bytes is left behind uncleansed.
    QByteArray hex = QByteArray::fromRawData(reinterpret_cast<const char*>(raw), sizeof raw).toHex();
    OPENSSL_cleanse(raw, sizeof raw);
    return core::Secret(std::move(hex));
}

} // namespace

void useSoftHsmConfig(const QString& confPath)
{
    if (!confPath.isEmpty())
        qputenv("SOFTHSM2_CONF", QFile::encodeName(confPath));
}

Result<void> initDemoStation(const core::DataDir& dir, const InitOptions& options)
{
    if (dir.isInitialized())
        return fail(ErrorCode::BadInput, QStringLiteral("%1 is already set up; nothing was changed.").arg(dir.path()));
    if (!QDir().mkpath(dir.tokenDir()))
        return fail(ErrorCode::Io, QStringLiteral("Could not create %1.").arg(dir.tokenDir()));
    QFile::setPermissions(dir.path(), QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);

    if (auto r = dir.writeSoftHsmConf(); !r)
        return r;
    useSoftHsmConfig(dir.softhsmConf());

    QDir().mkpath(QFileInfo(dir.pinFile()).absolutePath());
    QFile::setPermissions(QFileInfo(dir.pinFile()).absolutePath(),
        QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner);
    auto soPin = randomPin();
    auto userPin = randomPin();
    if (!soPin)
        return std::unexpected(soPin.error());
    if (!userPin)
        return std::unexpected(userPin.error());
    // The demo keeps its PINs in owner-only files; a production station is unlocked by a
    // person, or from a pin-source the administrator protects.
    // fromRawData: the files are written from the Secrets' own (cleansed) buffers.
    if (auto r
        = core::DataDir::writePrivateFile(dir.soPinFile(), QByteArray::fromRawData(soPin->data(), soPin->size()));
        !r)
        return r;
    if (auto r
        = core::DataDir::writePrivateFile(dir.pinFile(), QByteArray::fromRawData(userPin->data(), userPin->size()));
        !r)
        return r;

    auto token = Token::initialize(options.modulePath, options.tokenLabel, *soPin, *userPin);
    if (!token)
        return std::unexpected(token.error());

    Pkcs11Uri uri;
    uri.token = options.tokenLabel;
    uri.object = options.keyLabel;
    uri.pinSource = QStringLiteral("file:") + dir.pinFile();
    core::StationConfig config;
    config.stationName = options.stationName.isEmpty() ? QSysInfo::machineHostName() : options.stationName;
    config.modulePath = options.modulePath;
    config.keyUri = uri.toString();
    config.softhsmConf = dir.softhsmConf();
    if (auto r = dir.saveConfig(config); !r)
        return r;

    CaKey ca { SigningService::create(std::move(*token)), uri, {} };
    if (auto r = ca.service->unlock(*userPin); !r)
        return r;
    if (auto r = generateCaKey(dir, ca, options.keyLabel, options.keyType); !r)
        return std::unexpected(r.error());
    auto request = makeCaRequest(ca,
        { { QStringLiteral("O"), QStringLiteral("Imprint Demo") },
            { QStringLiteral("CN"), QStringLiteral("Imprint Demo Issuing CA") } });
    if (!request)
        return std::unexpected(request.error());

    // Demo root: generated, used once to certify the issuing CA's request, then gone.
    const auto* p = reinterpret_cast<const unsigned char*>(request->constData());
    core::ossl::Req req { d2i_X509_REQ(nullptr, &p, request->size()) };
    core::ossl::PKey caKey { req ? X509_REQ_get_pubkey(req.get()) : nullptr };
    if (!caKey || X509_REQ_verify(req.get(), caKey.get()) != 1)
        return core::ossl::cryptoFail(QStringLiteral("The token's certificate request does not verify."));
    auto root = core::EvpSigner::generateP256();
    if (!root)
        return std::unexpected(root.error());
    auto rootName = core::makeName({ { QStringLiteral("O"), QStringLiteral("Imprint Demo") },
        { QStringLiteral("CN"), QStringLiteral("Imprint Demo Root CA") } });
    if (!rootName)
        return std::unexpected(rootName.error());
    // Valid from an hour ago: time() (which certificate checks use) reads a coarse clock that
    // can lag this one, and a root valid "from now" could be refused as not yet valid.
    const QDateTime now = QDateTime::currentDateTimeUtc().addSecs(-3600);

    core::CertificateBuilder rootBuilder;
    rootBuilder.subject(rootName->get())
        .publicKey(root->key())
        .validity(now, now.addYears(25))
        .extension(NID_basic_constraints, "critical,CA:TRUE")
        .extension(NID_key_usage, "critical,keyCertSign,cRLSign")
        .extension(NID_subject_key_identifier, "hash");
    if (auto r = rootBuilder.randomSerial(); !r)
        return r;
    auto rootCert = rootBuilder.sign(*root);
    if (!rootCert)
        return std::unexpected(rootCert.error());

    core::CertificateBuilder caBuilder;
    caBuilder.subject(X509_REQ_get_subject_name(req.get()))
        .issuer(rootCert->get())
        .publicKey(caKey.get())
        .validity(now, now.addYears(20))
        .extension(NID_basic_constraints, "critical,CA:TRUE,pathlen:0")
        .extension(NID_key_usage, "critical,keyCertSign,cRLSign")
        .extension(NID_subject_key_identifier, "hash")
        .extension(NID_authority_key_identifier, "keyid:always");
    if (auto r = caBuilder.randomSerial(); !r)
        return r;
    auto caCert = caBuilder.sign(*root);
    if (!caCert)
        return std::unexpected(caCert.error());

    auto imported = importCaCertificate(
        dir, ca, core::ossl::certToDer(caCert->get()), { core::ossl::certToDer(rootCert->get()) });
    if (!imported)
        return std::unexpected(imported.error());
    // The audit key, next to the CA key: it signs the audit log's checkpoints. Its public
    // key is pinned in station.ini here.
    auto saved = dir.loadConfig();
    if (!saved)
        return std::unexpected(saved.error());
    if (auto audit = openAuditKey(ca, dir, *saved); !audit)
        return std::unexpected(audit.error());
    return {};
}

Result<std::shared_ptr<core::Signer>> CaKey::signer() const
{
    return service->signer(keyUri.object);
}

namespace {

/// The embedded SoftHSM2's token folders (empty for another module).
QStringList softHsmTokenFolders(const core::StationConfig& config)
{
    if (config.softhsmConf.isEmpty())
        return {};
    const QDir tokens(core::DataDir(QFileInfo(config.softhsmConf).absolutePath()).tokenDir());
    QStringList folders;
    for (const QString& name : tokens.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
        folders << tokens.filePath(name);
    return folders;
}

// SoftHSM2's file store rewrites a token's token.object in place at every login (it keeps
// the PIN counters there): a kill or power cut in that moment leaves it cut short, and the
// token — the CA key with it — is gone for every later start. The embedded token keeps the
// copy that last opened (token.last-good, a name SoftHSM2 does not read) and puts it back
// when the token is not found.
const QString LastGood = QStringLiteral("token.last-good");

void keepTokenCopies(const core::StationConfig& config)
{
    for (const QString& folder : softHsmTokenFolders(config)) {
        QFile current(folder + QStringLiteral("/token.object"));
        if (!current.open(QIODevice::ReadOnly))
            continue;
        const QByteArray bytes = current.readAll();
        QSaveFile copy(folder + u'/' + LastGood);
        if (!bytes.isEmpty() && copy.open(QIODevice::WriteOnly) && copy.write(bytes) == bytes.size())
            (void)copy.commit();
    }
}

/// Puts back the copies that last opened; true when one differed from what was there.
bool restoreTokenCopies(const core::StationConfig& config)
{
    bool restored = false;
    for (const QString& folder : softHsmTokenFolders(config)) {
        QFile good(folder + u'/' + LastGood);
        QFile current(folder + QStringLiteral("/token.object"));
        if (!good.open(QIODevice::ReadOnly))
            continue;
        const QByteArray bytes = good.readAll();
        const QByteArray now = current.open(QIODevice::ReadOnly) ? current.readAll() : QByteArray();
        current.close();
        if (bytes.isEmpty() || bytes == now)
            continue;
        QSaveFile put(current.fileName());
        if (put.open(QIODevice::WriteOnly) && put.write(bytes) == bytes.size() && put.commit())
            restored = true;
    }
    return restored;
}

/// The station's token, as openCaKey and readAuditPublicKey find it.
Result<std::unique_ptr<Token>> openStationToken(const core::StationConfig& config, const Pkcs11Uri& uri)
{
    useSoftHsmConfig(config.softhsmConf);
    const QString module = uri.modulePath.isEmpty() ? config.modulePath : uri.modulePath;
    auto token = Token::open(module, uri.token);
    // A command the station service runs for a caller never puts a copy back under the
    // running service: the service does that when it starts.
    if (!token && token.error().code == ErrorCode::NotFound && !qEnvironmentVariableIsSet("IMPRINT_SERVICE_CHILD")
        && restoreTokenCopies(config)) {
        qWarning().noquote() << "The embedded token's state was cut short (a stop while it was being written); the "
                                "copy that last opened was put back.";
        token = Token::open(module, uri.token);
    }
    return token;
}

} // namespace

Result<CaKey> openCaKey(const core::StationConfig& config, core::PinPrompt* prompt)
{
    auto uri = Pkcs11Uri::parse(config.keyUri);
    if (!uri)
        return std::unexpected(uri.error());
    auto token = openStationToken(config, *uri);
    if (!token)
        return std::unexpected(token.error());
    Result<core::Secret> pin = fail(ErrorCode::Cancelled, QString());
    if (!uri->pinFile().isEmpty()) {
        pin = core::DataDir::readSecretFile(uri->pinFile());
    } else if (prompt) {
        pin = prompt->askPin({ uri->token, (*token)->pinState() });
    } else {
        return fail(ErrorCode::BadInput,
            QStringLiteral("The CA key URI names no pin-source, and no one is here to type the PIN."));
    }
    if (!pin)
        return std::unexpected(pin.error());
    CaKey ca { SigningService::create(std::move(*token)), *uri, {} };
    if (auto r = ca.service->unlock(*pin); !r) {
        core::Error e = r.error();
        // Which PIN was tried: the one to correct.
        if (e.code == ErrorCode::PinRejected)
            e.message += uri->pinFile().isEmpty()
                ? QStringLiteral(" The PIN tried was the one typed.")
                : QStringLiteral(" The PIN tried was read from %1 (the pin-source of [hsm] ca-key in station.ini); "
                                 "correct that file.")
                      .arg(uri->pinFile());
        return std::unexpected(e);
    }
    keepTokenCopies(config); // the login has just written token.object whole
    return ca;
}

Result<std::shared_ptr<core::Signer>> openAuditKey(
    CaKey& ca, const core::DataDir& dir, core::StationConfig& config, bool* created)
{
    if (created)
        *created = false;
    auto signer = ca.service->signer(config.auditKeyLabel);
    if (!signer && signer.error().code == ErrorCode::NotFound) {
        if (!config.auditKeySha256.isEmpty())
            // A pinned key that is gone is not quietly replaced by a new one: the log's
            // checkpoints would then be checked against a key that never signed them.
            return fail(ErrorCode::Hsm,
                QStringLiteral("The token no longer holds the station's audit key (pinned in %1 as sha256 %2). The "
                               "station will not make a new one by itself; restore the token from its backup.")
                    .arg(dir.configFile(), config.auditKeySha256.left(16)));
        unsigned char id[8];
        if (RAND_bytes(id, sizeof id) != 1)
            return core::ossl::cryptoFail(QStringLiteral("The random generator failed."));
        auto spki = ca.service->token().generateKey(
            config.auditKeyLabel, QByteArray(reinterpret_cast<const char*>(id), sizeof id), KeyType::EcP256, true);
        if (!spki)
            return std::unexpected(spki.error());
        if (created)
            *created = true;
        signer = ca.service->signer(config.auditKeyLabel);
    }
    if (!signer)
        return signer;
    // The public key found must be the private key's own: a signature made inside the token
    // must verify with it.
    const QByteArray spki = (*signer)->publicKey();
    auto pub = core::ossl::publicKeyFromDer(spki);
    if (!pub)
        return std::unexpected(pub.error());
    unsigned char nonce[32];
    if (RAND_bytes(nonce, sizeof nonce) != 1)
        return core::ossl::cryptoFail(QStringLiteral("The random generator failed."));
    const QByteArray challenge(
        "IMPRINT-AUDIT-KEY-CHECK" + QByteArray(reinterpret_cast<const char*>(nonce), sizeof nonce));
    auto signature = (*signer)->signSha256(challenge);
    if (!signature)
        return std::unexpected(signature.error());
    if (!core::ossl::verifySha256(pub->get(), challenge, *signature))
        return fail(ErrorCode::Hsm,
            QStringLiteral("The public key labelled \"%1\" in the token is not the audit key's own; the station "
                           "will not use it. A PKI admin must remove the public key that does not belong.")
                .arg(config.auditKeyLabel));
    const QString fingerprint = core::ossl::sha256Hex(spki);
    if (config.auditKeySha256.isEmpty()) {
        // Pinned the first time: at set-up, or the first start of a station from before pins.
        // The log gets its first checkpoint now, over an entry that names the key: the
        // station seals by itself only what follows a checkpoint of its own (a log stripped
        // of them is not signed again unseen), and a station upgraded from before pins has
        // its log, as it finds it, signed here once.
        auto store = core::RecordStore::open(dir.database());
        if (!store)
            return std::unexpected(store.error());
        config.auditKeySha256 = fingerprint;
        if (auto r = dir.saveConfig(config); !r)
            return std::unexpected(r.error());
        ca.auditKey = *signer;
        core::AuditLog::sealWith(*signer, config.auditCheckpointEvery);
        if (auto r = store->audit().append(core::AuditKind::Setting, QStringLiteral("audit-key"),
                QStringLiteral("audit key pinned: sha256 %1").arg(fingerprint), config.stationName,
                QStringLiteral("station"));
            !r)
            return std::unexpected(r.error());
        if (auto r = store->audit().seal(true); !r)
            return std::unexpected(r.error());
    } else if (config.auditKeySha256 != fingerprint) {
        return fail(ErrorCode::Hsm,
            QStringLiteral("The token's audit key (sha256 %1) is not the one this station pinned in %2 (sha256 %3). "
                           "The station will not sign or check its audit log with it.")
                .arg(fingerprint.left(16), dir.configFile(), config.auditKeySha256.left(16)));
    }
    ca.auditKey = *signer;
    core::AuditLog::sealWith(*signer, config.auditCheckpointEvery);
    return signer;
}

Result<QByteArray> readAuditPublicKey(const core::StationConfig& config)
{
    if (config.auditKeySha256.isEmpty())
        return fail(ErrorCode::NotFound,
            QStringLiteral("No audit key is pinned in station.ini ([audit] key-sha256): the station pins it when it "
                           "first starts with its token unlocked."));
    auto uri = Pkcs11Uri::parse(config.keyUri);
    if (!uri)
        return std::unexpected(uri.error());
    auto token = openStationToken(config, *uri);
    if (!token)
        return std::unexpected(token.error());
    auto spki = (*token)->publicKey(config.auditKeyLabel);
    if (!spki)
        return spki;
    if (core::ossl::sha256Hex(*spki) != config.auditKeySha256)
        return fail(ErrorCode::Hsm,
            QStringLiteral("The public key labelled \"%1\" in the token (sha256 %2) is not the audit key this "
                           "station pinned (sha256 %3): it was replaced.")
                .arg(config.auditKeyLabel, core::ossl::sha256Hex(*spki).left(16), config.auditKeySha256.left(16)));
    return spki;
}

Result<QList<QByteArray>> readRetiredAuditKeys(const core::StationConfig& config)
{
    QList<QByteArray> keys;
    if (config.auditRetiredLabels.isEmpty())
        return keys;
    auto uri = Pkcs11Uri::parse(config.keyUri);
    if (!uri)
        return std::unexpected(uri.error());
    auto token = openStationToken(config, *uri);
    if (!token)
        return std::unexpected(token.error());
    for (const QString& label : config.auditRetiredLabels) {
        auto spki = (*token)->publicKey(label);
        if (!spki)
            return std::unexpected(spki.error());
        keys << *spki;
    }
    return keys;
}

namespace {

/// A new key inside the token under an unused label; returns its public key and its id.
Result<std::pair<QByteArray, QByteArray>> newTokenKey(CaKey& ca, const QString& label, KeyType type)
{
    if (label.isEmpty())
        return fail(ErrorCode::BadInput, QStringLiteral("The new key needs a label."));
    if (ca.service->token().keyAttributes(label))
        return fail(ErrorCode::BadInput,
            QStringLiteral("The token already holds a key labelled \"%1\"; nothing was changed. Choose another "
                           "--label (the old key stays until a Security Officer removes it).")
                .arg(label));
    unsigned char id[8];
    if (RAND_bytes(id, sizeof id) != 1)
        return core::ossl::cryptoFail(QStringLiteral("The random generator failed."));
    const QByteArray keyId(reinterpret_cast<const char*>(id), sizeof id);
    auto spki = ca.service->token().generateKey(label, keyId, type);
    if (!spki)
        return std::unexpected(spki.error());
    return std::pair { *spki, keyId };
}

} // namespace

Result<QByteArray> generateRaKey(const core::DataDir& dir, CaKey& ca, const QString& label, KeyType type)
{
    if (type == KeyType::Rsa3072)
        return fail(ErrorCode::BadInput, QStringLiteral("The RA key is an EC key (ec-p256 or ec-p384)."));
    auto made = newTokenKey(ca, label, type);
    if (!made)
        return std::unexpected(made.error());
    auto config = dir.loadConfig();
    if (!config)
        return std::unexpected(config.error());
    Pkcs11Uri uri;
    uri.token = ca.keyUri.token;
    uri.object = label;
    uri.id = made->second;
    config->upstream.raKeyUri = uri.toString();
    if (auto r = dir.saveConfig(*config); !r)
        return std::unexpected(r.error());
    return made->first;
}

Result<std::shared_ptr<core::Signer>> openRaKey(const CaKey& ca, const core::StationConfig& config)
{
    if (config.upstream.raKeyUri.isEmpty())
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("The station has no RA key; run \"imprintctl ra keygen\" first."));
    auto uri = Pkcs11Uri::parse(config.upstream.raKeyUri);
    if (!uri)
        return std::unexpected(uri.error());
    return ca.service->signer(uri->object);
}

Result<QList<QByteArray>> importRaCertificate(const core::DataDir& dir, const CaKey& ca,
    const core::StationConfig& config, const QByteArray& raCert, const QList<QByteArray>& chain)
{
    auto refuse = [](const QString& why, const QString& detail = {}) {
        return fail(ErrorCode::VerificationFailed,
            QStringLiteral("The RA certificate was refused: %1; nothing was changed.").arg(why), detail,
            QStringLiteral("ra-certificate"));
    };
    auto signer = openRaKey(ca, config);
    if (!signer)
        return std::unexpected(signer.error());
    auto cert = core::ossl::certFromDer(raCert);
    if (!cert)
        return refuse(QStringLiteral("the file holds no certificate"));
    if (core::ossl::publicKeyDer(X509_get0_pubkey(cert->get())) != (*signer)->publicKey())
        return refuse(QStringLiteral("it certifies another key than the RA key in the token"));
    if (X509_check_ca(cert->get()) != 0)
        return refuse(QStringLiteral("it is a CA certificate; the RA certificate is an end-entity one"));
    if ((X509_get_extension_flags(cert->get()) & EXFLAG_KUSAGE)
        && !(X509_get_key_usage(cert->get()) & KU_DIGITAL_SIGNATURE))
        return refuse(QStringLiteral("its key usage does not allow digital signatures"));
    auto verified = core::verifyChain(raCert, chain);
    if (!verified)
        return refuse(verified.error().message, verified.error().detail);
    QByteArray pem;
    for (const QByteArray& der : *verified)
        pem += core::ossl::derToPem(der);
    QDir().mkpath(QFileInfo(dir.raCertFile()).absolutePath());
    QSaveFile f(dir.raCertFile());
    if (!f.open(QIODevice::WriteOnly) || f.write(pem) != pem.size() || !f.commit())
        return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(dir.raCertFile()), f.errorString());
    core::StationConfig updated = config;
    updated.upstream.raCertFile = dir.raCertFile();
    if (auto r = dir.saveConfig(updated); !r)
        return std::unexpected(r.error());
    return verified;
}

Result<QByteArray> generateCaKey(const core::DataDir& dir, CaKey& ca, const QString& label, KeyType type)
{
    auto made = newTokenKey(ca, label, type);
    if (!made)
        return std::unexpected(made.error());
    const QByteArray& keyId = made->second;
    const QByteArray spki = made->first;
    auto config = dir.loadConfig();
    if (!config)
        return std::unexpected(config.error());
    ca.keyUri.object = label;
    ca.keyUri.id = keyId;
    config->keyUri = ca.keyUri.toString();
    if (auto r = dir.saveConfig(*config); !r)
        return std::unexpected(r.error());
    return spki;
}

Result<QByteArray> makeCaRequest(const CaKey& ca, const QList<core::NameEntry>& subject)
{
    auto signer = ca.signer();
    if (!signer)
        return std::unexpected(signer.error());
    return makeKeyRequest(**signer, subject);
}

Result<QByteArray> makeKeyRequest(core::Signer& signer, const QList<core::NameEntry>& subject)
{
    if (subject.isEmpty())
        return fail(ErrorCode::BadInput, QStringLiteral("The request needs a subject, e.g. \"/O=Acme/CN=Line 3 CA\"."));
    auto key = core::ossl::publicKeyFromDer(signer.publicKey());
    if (!key)
        return std::unexpected(key.error());
    return core::makeRequest(subject, key->get(), signer);
}

Result<QList<QByteArray>> importCaCertificate(
    const core::DataDir& dir, const CaKey& ca, const QByteArray& caCert, const QList<QByteArray>& chain)
{
    auto signer = ca.signer();
    if (!signer)
        return std::unexpected(signer.error());
    auto checked = core::checkIssuingCaChain(caCert, chain, (*signer)->publicKey());
    if (!checked)
        return checked;
    if (auto r = dir.saveChain(*checked); !r)
        return std::unexpected(r.error());
    return checked;
}

} // namespace imprint::hsm
