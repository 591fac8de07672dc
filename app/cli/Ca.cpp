// imprintctl ca: the issuing CA's key ceremony (show, keygen, csr, import).

#include "StationContext.h"
#include "StationSetup.h"
#include "TerminalPinPrompt.h"
#include "cli/Command.h"
#include "engine/CrlPublisher.h"
#include "engine/Registrar.h"
#include "pki/CertificateBuilder.h"
#include "pki/CsrCheck.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace imprint::app::cli {

namespace {

QJsonObject certSummary(const QByteArray& der)
{
    QJsonObject o;
    auto cert = core::ossl::certFromDer(der);
    if (!cert)
        return o;
    o[QStringLiteral("subject")] = core::ossl::nameToString(X509_get_subject_name(cert->get()));
    o[QStringLiteral("issuer")] = core::ossl::nameToString(X509_get_issuer_name(cert->get()));
    o[QStringLiteral("serial")] = core::ossl::serialHex(cert->get());
    o[QStringLiteral("not_before")] = core::ossl::timeToIso(X509_get0_notBefore(cert->get()));
    o[QStringLiteral("not_after")] = core::ossl::timeToIso(X509_get0_notAfter(cert->get()));
    o[QStringLiteral("sha256")] = core::ossl::sha256Hex(der);
    return o;
}

} // namespace

core::Result<void> auditAct(const core::DataDir& dir, const core::StationConfig& config, hsm::CaKey& ca,
    core::AuditKind kind, const QString& subject, const QString& detail)
{
    core::StationConfig pinned = config;
    auto signer = hsm::openAuditKey(ca, dir, pinned);
    if (!signer)
        return std::unexpected(signer.error());
    auto store = app::openStationStore(dir, pinned);
    if (!store)
        return std::unexpected(store.error());
    if (auto r = store->audit().append(
            kind, subject, detail, config.stationName, qEnvironmentVariable("USER", QStringLiteral("cli")));
        !r)
        return r;
    auto sealed = store->audit().seal();
    if (!sealed)
        return std::unexpected(sealed.error());
    return {};
}

core::Result<hsm::CaKey> openCeremonyKey(const core::DataDir& dir, core::StationConfig* config)
{
    auto loaded = dir.loadConfig();
    if (!loaded)
        return std::unexpected(loaded.error());
    *config = *loaded;
    if (processKey())
        return *processKey();
    app::TerminalPinPrompt prompt;
    auto ca = hsm::openCaKey(*config, &prompt);
    if (!ca)
        return ca;
    // What this process writes to the audit log is sealed with the pinned audit key.
    if (auto audit = hsm::openAuditKey(*ca, dir, *config); !audit)
        return std::unexpected(audit.error());
    processKey() = *ca;
    return ca;
}

void printChain(const QList<QByteArray>& chain)
{
    for (const QByteArray& der : chain) {
        auto c = core::ossl::certFromDer(der);
        out() << "  " << (c ? core::ossl::nameToString(X509_get_subject_name(c->get())) : QStringLiteral("?"))
              << "  SHA-256 " << core::ossl::sha256Hex(der) << Qt::endl;
    }
}

QByteArray requestPem(const QByteArray& der)
{
    return core::ossl::derToPem(der, "CERTIFICATE REQUEST");
}

core::Result<std::pair<QByteArray, QList<QByteArray>>> readCertificateAndChain(
    const QString& certFile, const QString& chainFile)
{
    auto certBytes = readInput(certFile);
    if (!certBytes)
        return std::unexpected(certBytes.error());
    auto certs = core::ossl::certsDerFromPem(*certBytes);
    const QByteArray der = certs && !certs->isEmpty() ? certs->first() : *certBytes;
    QList<QByteArray> others;
    if (certs && certs->size() > 1)
        others = certs->mid(1);
    if (!chainFile.isEmpty()) {
        auto chainBytes = readInput(chainFile);
        if (!chainBytes)
            return std::unexpected(chainBytes.error());
        auto chainCerts = core::ossl::certsDerFromPem(*chainBytes);
        if (!chainCerts || chainCerts->isEmpty())
            return core::fail(core::ErrorCode::BadInput,
                QStringLiteral("%1 holds no PEM certificate; nothing was changed.").arg(chainFile));
        others += *chainCerts;
    }
    return std::pair { der, others };
}

int caShow(const QStringList& args)
{
    CommandLine p(QStringLiteral("Show the issuing CA: key, its attributes as the token reports them, "
                                 "certificate and chain."),
        CommandLine::DataDirAndJson);
    p.parse(args);
    core::DataDir dir = p.dataDir();
    auto config = dir.loadConfig();
    if (!config)
        return report(config.error());
    auto chain = dir.loadChain();
    if (!chain)
        return report(chain.error());
    app::TerminalPinPrompt prompt;
    auto ca = hsm::openCaKey(*config, &prompt);
    if (!ca)
        return report(ca.error());
    auto attrs = ca->service->token().keyAttributes(ca->keyUri.object);
    if (!attrs)
        return report(attrs.error());
    auto signer = ca->signer();
    if (!signer)
        return report(signer.error());
    auto pub = core::ossl::publicKeyFromDer((*signer)->publicKey());
    if (!pub)
        return report(pub.error());

    QJsonObject key;
    key[QStringLiteral("uri")] = config->keyUri;
    key[QStringLiteral("module")] = config->modulePath;
    key[QStringLiteral("algorithm")] = core::CsrCheck::describeKey(pub->get());
    QJsonObject a;
    a[QStringLiteral("sensitive")] = attrs->sensitive;
    a[QStringLiteral("extractable")] = attrs->extractable;
    a[QStringLiteral("always_sensitive")] = attrs->alwaysSensitive;
    a[QStringLiteral("never_extractable")] = attrs->neverExtractable;
    a[QStringLiteral("private")] = attrs->isPrivate;
    key[QStringLiteral("attributes")] = a;
    QJsonObject o;
    o[QStringLiteral("key")] = key;
    o[QStringLiteral("certificate")] = certSummary(chain->first());
    o[QStringLiteral("key_matches_certificate")]
        = core::ossl::publicKeyDer(X509_get0_pubkey(core::ossl::certFromDer(chain->first())->get()))
        == (*signer)->publicKey();
    QJsonArray issuers;
    for (qsizetype i = 1; i < chain->size(); ++i)
        issuers.append(certSummary(chain->at(i)));
    o[QStringLiteral("chain")] = issuers;

    // Shown either way; the exit status says whether the station can issue with it.
    auto usable = [&dir](const QJsonObject& shown) {
        if (shown[QStringLiteral("key_matches_certificate")].toBool())
            return 0;
        err() << "imprintctl: The issuing CA certificate does not belong to the key in the token: the station issues "
                 "nothing until \"imprintctl ca import"
              << dir.ctlArg() << " --cert FILE --chain FILE\" installs the key's certificate." << Qt::endl;
        return 2;
    };
    if (p.json()) {
        out() << QJsonDocument(o).toJson(QJsonDocument::Indented);
        return usable(o);
    }
    auto yesNo = [](bool b) { return b ? QStringLiteral("yes") : QStringLiteral("no"); };
    const QJsonObject c = o[QStringLiteral("certificate")].toObject();
    out() << "Issuing CA key" << Qt::endl
          << "  URI:               " << config->keyUri << Qt::endl
          << "  module:            " << config->modulePath << Qt::endl
          << "  algorithm:         " << key[QStringLiteral("algorithm")].toString() << Qt::endl
          << "  sensitive:         " << yesNo(attrs->sensitive) << Qt::endl
          << "  extractable:       " << yesNo(attrs->extractable) << Qt::endl
          << "  always sensitive:  " << yesNo(attrs->alwaysSensitive) << Qt::endl
          << "  never extractable: " << yesNo(attrs->neverExtractable) << Qt::endl
          << "Certificate" << Qt::endl
          << "  subject:  " << c[QStringLiteral("subject")].toString() << Qt::endl
          << "  issuer:   " << c[QStringLiteral("issuer")].toString() << Qt::endl
          << "  valid:    " << c[QStringLiteral("not_before")].toString() << " to "
          << c[QStringLiteral("not_after")].toString() << Qt::endl
          << "  SHA-256:  " << c[QStringLiteral("sha256")].toString() << Qt::endl
          << "  matches the token key: " << yesNo(o[QStringLiteral("key_matches_certificate")].toBool()) << Qt::endl;
    for (const auto& i : issuers)
        out() << "Issued by " << i.toObject()[QStringLiteral("subject")].toString() << "  SHA-256 "
              << i.toObject()[QStringLiteral("sha256")].toString() << Qt::endl;
    return usable(o);
}

int caKeygen(const QStringList& args)
{
    CommandLine p(QStringLiteral("Generate a new issuing CA key inside the token (sensitive, private, "
                                 "never extractable, sign-only); the settings then name it."));
    QCommandLineOption type(QStringLiteral("type"), QStringLiteral("ec-p256 (default), ec-p384 or rsa-3072."),
        QStringLiteral("TYPE"), QStringLiteral("ec-p256"));
    QCommandLineOption label(
        QStringLiteral("label"), QStringLiteral("Label of the new key (must be unused)."), QStringLiteral("LABEL"));
    p.addOptions({ type, label });
    p.parse(args);
    const QString t = p.value(type).toLower();
    hsm::KeyType keyType = hsm::KeyType::EcP256;
    if (t == QLatin1String("ec-p384"))
        keyType = hsm::KeyType::EcP384;
    else if (t == QLatin1String("rsa-3072"))
        keyType = hsm::KeyType::Rsa3072;
    else if (t != QLatin1String("ec-p256")) {
        err() << "imprintctl ca keygen: --type is ec-p256, ec-p384 or rsa-3072" << Qt::endl;
        return 2;
    }
    if (!p.isSet(label)) {
        err() << "imprintctl ca keygen: give --label for the new key (e.g. issuing-ca-2027)" << Qt::endl;
        return 2;
    }
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto spki = hsm::generateCaKey(dir, *ca, p.value(label), keyType);
    if (!spki)
        return report(spki.error());
    if (auto r = auditAct(dir, config, *ca, core::AuditKind::Setting, QStringLiteral("ca-key"),
            QStringLiteral("new %1 CA key \"%2\", public key sha256 %3")
                .arg(t, p.value(label), core::ossl::sha256Hex(*spki)));
        !r)
        return report(r.error());
    out() << "Generated " << t << " key \"" << p.value(label) << "\" inside token \"" << ca->keyUri.token << "\""
          << Qt::endl
          << "  URI:            " << ca->keyUri.toString() << Qt::endl
          << "  public key SHA-256: " << core::ossl::sha256Hex(*spki) << Qt::endl
          << "The station signs nothing with it until its certificate is imported:" << Qt::endl
          << "  imprintctl ca csr" << dir.ctlArg()
          << " --subject \"/O=.../CN=...\" --out ca.csr   (to the upstream root)" << Qt::endl
          << "  imprintctl ca import" << dir.ctlArg() << " --cert ca.pem --chain root.pem" << Qt::endl;
    return 0;
}

int caCsr(const QStringList& args)
{
    CommandLine p(QStringLiteral("Write a certificate request for the CA key, signed inside the token, "
                                 "for the upstream root."));
    QCommandLineOption subject(QStringLiteral("subject"),
        QStringLiteral("Subject, e.g. \"/O=Acme/OU=Plant 2/CN=Acme Line 3 Issuing CA\"."), QStringLiteral("NAME"));
    QCommandLineOption outFile(
        QStringLiteral("out"), QStringLiteral("Where to write the request (PEM)."), QStringLiteral("FILE"));
    p.addOptions({ subject, outFile });
    p.parse(args);
    if (!p.isSet(subject) || !p.isSet(outFile)) {
        err() << "imprintctl ca csr: give --subject NAME and --out FILE" << Qt::endl;
        return 2;
    }
    auto name = core::parseName(p.value(subject));
    if (!name)
        return report(name.error());
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto request = hsm::makeCaRequest(*ca, *name);
    if (!request)
        return report(request.error());
    if (auto r = writeOutput(p.value(outFile), requestPem(*request)); !r)
        return report(r.error());
    err() << "Wrote the CA certificate request to " << p.value(outFile) << "; have the upstream root sign it, then "
          << "run \"imprintctl ca import" << dir.ctlArg() << " --cert FILE --chain FILE\"." << Qt::endl;
    return 0;
}

int caImport(const QStringList& args)
{
    CommandLine p(QStringLiteral("Install the issuing CA certificate and its chain. Accepted only if "
                                 "the certificate is for the token key, is a CA, and verifies to a "
                                 "root; otherwise nothing changes."));
    QCommandLineOption cert(
        QStringLiteral("cert"), QStringLiteral("The CA certificate (PEM or DER)."), QStringLiteral("FILE"));
    QCommandLineOption chain(QStringLiteral("chain"),
        QStringLiteral("Its issuers up to and including the root (PEM, one or more)."), QStringLiteral("FILE"));
    p.addOptions({ cert, chain });
    p.parse(args);
    if (!p.isSet(cert)) {
        err() << "imprintctl ca import: give --cert FILE [--chain FILE]" << Qt::endl;
        return 2;
    }
    auto given = readCertificateAndChain(p.value(cert), p.value(chain));
    if (!given)
        return report(given.error());
    const auto& [caDer, others] = *given;
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto imported = hsm::importCaCertificate(dir, *ca, caDer, others);
    if (!imported)
        return report(imported.error());
    if (auto r = auditAct(dir, config, *ca, core::AuditKind::Setting, QStringLiteral("ca-certificate"),
            QStringLiteral("imported CA certificate sha256 %1, chain of %2")
                .arg(core::ossl::sha256Hex(imported->first()))
                .arg(imported->size()));
        !r)
        return report(r.error());
    out() << "Imported the issuing CA certificate:" << Qt::endl;
    printChain(*imported);
    out() << "Chain written to " << dir.chainFile() << Qt::endl;
    return 0;
}

core::Result<core::PublishedCrl> issueCrl(const core::DataDir& dir, const hsm::CaKey& ca, int nextUpdateDays)
{
    auto chain = dir.loadChain();
    if (!chain)
        return std::unexpected(chain.error());
    auto caCert = core::ossl::certFromDer(chain->first());
    if (!caCert)
        return std::unexpected(caCert.error());
    auto signer = ca.signer();
    if (!signer)
        return std::unexpected(signer.error());
    auto config = dir.loadConfig();
    if (!config)
        return std::unexpected(config.error());
    auto store = app::openStationStore(dir, *config);
    if (!store)
        return std::unexpected(store.error());
    // Issued, never shipped and past its grace: revoked before the CRL is signed.
    if (auto swept = store->ledger().revokeUnshipped(
            QDateTime::currentDateTimeUtc().addSecs(-60LL * config->unshippedGraceMinutes));
        !swept)
        return std::unexpected(swept.error());
    return core::publishCrl(*store, *signer, caCert->get(), dir.crlFile(), nextUpdateDays);
}

int caCrl(const QStringList& args)
{
    CommandLine p(QStringLiteral("Sign the issuing CA's CRL inside the HSM: every superseded or revoked certificate "
                                 "with its reason and date, under a CRL number that only grows. Written to "
                                 "DATA_DIR/ca/crl.pem (and --out)."));
    QCommandLineOption outFile(
        QStringLiteral("out"), QStringLiteral("Also write it here (PEM)."), QStringLiteral("FILE"));
    QCommandLineOption days(QStringLiteral("next-update-days"),
        QStringLiteral("Days until the next update (default 7)."), QStringLiteral("N"), QStringLiteral("7"));
    p.addOptions({ outFile, days });
    p.parse(args);
    bool ok = false;
    const int n = p.value(days).toInt(&ok);
    if (!ok || n < 1 || n > 3650)
        return usageError(args, QStringLiteral("--next-update-days is 1-3650"));
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto crl = issueCrl(dir, *ca, n);
    if (!crl)
        return report(crl.error());
    if (p.isSet(outFile)) {
        if (auto r = writeOutput(p.value(outFile), crl->pem); !r)
            return report(r.error());
    }
    out() << "CRL " << crl->number << " lists " << crl->entries << " certificate(s); next update "
          << crl->nextUpdate.toString(Qt::ISODate) << Qt::endl
          << "Written to " << dir.crlFile()
          << (p.isSet(outFile) ? QStringLiteral(" and ") + p.value(outFile) : QString()) << Qt::endl;
    return 0;
}

} // namespace imprint::app::cli
