#include "StationSetup.h"

#include "Pkcs11Uri.h"
#include "pki/CertificateBuilder.h"
#include "pki/EvpSigner.h"

#include <QDir>
#include <QFile>
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
    QByteArray hex = QByteArray(reinterpret_cast<const char*>(raw), sizeof raw).toHex();
    OPENSSL_cleanse(raw, sizeof raw);
    return core::Secret(std::move(hex));
}

Result<void> writeFile(const QString& path, const QByteArray& contents)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(contents) != contents.size() || !f.commit())
        return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path), f.errorString());
    return {};
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

    const QByteArray conf = "# SoftHSM2 token store of this Imprint station\n"
                            "directories.tokendir = "
        + QFile::encodeName(dir.tokenDir())
        + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
    if (auto r = writeFile(dir.softhsmConf(), conf); !r)
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
    if (auto r = core::DataDir::writePrivateFile(dir.soPinFile(), QByteArray(soPin->data(), soPin->size())); !r)
        return r;
    if (auto r = core::DataDir::writePrivateFile(dir.pinFile(), QByteArray(userPin->data(), userPin->size())); !r)
        return r;

    auto token = Token::initialize(options.modulePath, options.tokenLabel, *soPin, *userPin);
    if (!token)
        return std::unexpected(token.error());
    if (auto r = (*token)->login(*userPin); !r)
        return r;
    auto spki = (*token)->generateKey(options.keyLabel, QByteArray("\x01", 1), options.keyType);
    if (!spki)
        return std::unexpected(spki.error());
    auto caKey = core::ossl::publicKeyFromDer(*spki);
    if (!caKey)
        return std::unexpected(caKey.error());

    // Demo root: generated, used once to certify the issuing CA, then gone.
    auto root = core::EvpSigner::generateP256();
    if (!root)
        return std::unexpected(root.error());
    auto rootName = core::makeName({ { QStringLiteral("O"), QStringLiteral("Imprint Demo") },
        { QStringLiteral("CN"), QStringLiteral("Imprint Demo Root CA") } });
    auto caName = core::makeName({ { QStringLiteral("O"), QStringLiteral("Imprint Demo") },
        { QStringLiteral("CN"), QStringLiteral("Imprint Demo Issuing CA") } });
    if (!rootName)
        return std::unexpected(rootName.error());
    if (!caName)
        return std::unexpected(caName.error());
    const QDateTime now = QDateTime::currentDateTimeUtc();

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
    caBuilder.subject(caName->get())
        .issuer(rootCert->get())
        .publicKey(caKey->get())
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

    const QByteArray rootPem = core::ossl::certToPem(rootCert->get());
    const QByteArray caPem = core::ossl::certToPem(caCert->get());
    for (auto [path, pem] : { std::pair { dir.rootCertFile(), rootPem }, std::pair { dir.caCertFile(), caPem },
             std::pair { dir.chainFile(), caPem + rootPem } }) {
        if (auto r = writeFile(path, pem); !r)
            return r;
    }

    Pkcs11Uri uri;
    uri.token = options.tokenLabel;
    uri.object = options.keyLabel;
    uri.pinSource = QStringLiteral("file:") + dir.pinFile();
    core::StationConfig config;
    config.stationName = options.stationName.isEmpty() ? QSysInfo::machineHostName() : options.stationName;
    config.modulePath = options.modulePath;
    config.keyUri = uri.toString();
    config.softhsmConf = dir.softhsmConf();
    return dir.saveConfig(config);
}

Result<CaToken> openCaToken(const core::StationConfig& config)
{
    auto uri = Pkcs11Uri::parse(config.keyUri);
    if (!uri)
        return std::unexpected(uri.error());
    useSoftHsmConfig(config.softhsmConf);
    const QString module = uri->modulePath.isEmpty() ? config.modulePath : uri->modulePath;
    auto token = Token::open(module, uri->token);
    if (!token)
        return std::unexpected(token.error());
    if (uri->pinFile().isEmpty())
        return fail(ErrorCode::BadInput,
            QStringLiteral("The CA key URI names no pin-source, and no one is here to type the PIN."));
    auto pin = core::DataDir::readSecretFile(uri->pinFile());
    if (!pin)
        return std::unexpected(pin.error());
    if (auto r = (*token)->login(*pin); !r)
        return std::unexpected(r.error());
    return CaToken { std::move(*token), *uri };
}

Result<std::shared_ptr<core::Signer>> openCaSigner(const core::StationConfig& config)
{
    auto ca = openCaToken(config);
    if (!ca)
        return std::unexpected(ca.error());
    return ca->token->signer(ca->keyUri.object);
}

} // namespace imprint::hsm
