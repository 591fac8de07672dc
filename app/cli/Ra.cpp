// imprintctl ra: the registration authority's key, which signs every message to the
// upstream CA (keygen, csr, import). It lives in the CA's token, beside the CA key.

#include "StationSetup.h"
#include "cli/Command.h"
#include "pki/CertificateBuilder.h"
#include "pki/OpenSsl.h"

namespace imprint::app::cli {

int raKeygen(const QStringList& args)
{
    CommandLine p(QStringLiteral("Generate the RA key inside the token (EC, sensitive, private, never "
                                 "extractable, sign-only); [upstream] ra-key then names it."));
    QCommandLineOption type(QStringLiteral("type"), QStringLiteral("ec-p256 (default) or ec-p384."),
        QStringLiteral("TYPE"), QStringLiteral("ec-p256"));
    QCommandLineOption label(QStringLiteral("label"), QStringLiteral("Label of the new key (default imprint-ra)."),
        QStringLiteral("LABEL"), hsm::RaKeyLabel);
    p.addOptions({ type, label });
    p.parse(args);
    const QString t = p.value(type).toLower();
    if (t != QLatin1String("ec-p256") && t != QLatin1String("ec-p384"))
        return usageError(args, QStringLiteral("--type is ec-p256 or ec-p384"));
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto spki = hsm::generateRaKey(
        dir, *ca, p.value(label), t == QLatin1String("ec-p384") ? hsm::KeyType::EcP384 : hsm::KeyType::EcP256);
    if (!spki)
        return report(spki.error());
    if (auto r = auditAct(dir, config, *ca, core::AuditKind::Setting, QStringLiteral("ra-key"),
            QStringLiteral("new %1 RA key \"%2\", public key sha256 %3")
                .arg(t, p.value(label), core::ossl::sha256Hex(*spki)));
        !r)
        return report(r.error());
    out() << "Generated " << t << " RA key \"" << p.value(label) << "\" inside the token" << Qt::endl
          << "  public key SHA-256: " << core::ossl::sha256Hex(*spki) << Qt::endl
          << "Its certificate comes from the upstream CA:" << Qt::endl
          << "  imprintctl ra csr" << dir.ctlArg() << " --subject \"/O=.../CN=... RA\" --out ra.csr" << Qt::endl
          << "  imprintctl ra import" << dir.ctlArg() << " --cert ra.pem --chain upstream-root.pem" << Qt::endl;
    return 0;
}

int raCsr(const QStringList& args)
{
    CommandLine p(QStringLiteral("Write a certificate request for the RA key, signed inside the token, for the "
                                 "upstream CA."));
    QCommandLineOption subject(QStringLiteral("subject"),
        QStringLiteral("Subject, e.g. \"/O=Acme/OU=Plant 2/CN=Line 3 RA\"."), QStringLiteral("NAME"));
    QCommandLineOption outFile(
        QStringLiteral("out"), QStringLiteral("Where to write the request (PEM)."), QStringLiteral("FILE"));
    p.addOptions({ subject, outFile });
    p.parse(args);
    if (!p.isSet(subject) || !p.isSet(outFile))
        return usageError(args, QStringLiteral("give --subject NAME and --out FILE"));
    auto name = core::parseName(p.value(subject));
    if (!name)
        return report(name.error());
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto ra = hsm::openRaKey(*ca, config);
    if (!ra)
        return report(ra.error());
    auto request = hsm::makeKeyRequest(**ra, *name);
    if (!request)
        return report(request.error());
    if (auto r = writeOutput(p.value(outFile), requestPem(*request)); !r)
        return report(r.error());
    err() << "Wrote the RA certificate request to " << p.value(outFile) << "; have the upstream CA certify it, then "
          << "run \"imprintctl ra import" << dir.ctlArg() << " --cert FILE --chain FILE\"." << Qt::endl;
    return 0;
}

int raImport(const QStringList& args)
{
    CommandLine p(QStringLiteral("Install the RA certificate and its issuers. Accepted only if the certificate "
                                 "is for the RA key in the token, is not a CA, and verifies to a root; otherwise "
                                 "nothing changes."));
    QCommandLineOption cert(
        QStringLiteral("cert"), QStringLiteral("The RA certificate (PEM or DER)."), QStringLiteral("FILE"));
    QCommandLineOption chain(QStringLiteral("chain"),
        QStringLiteral("Its issuers up to and including the root (PEM, one or more)."), QStringLiteral("FILE"));
    p.addOptions({ cert, chain });
    p.parse(args);
    if (!p.isSet(cert))
        return usageError(args, QStringLiteral("give --cert FILE [--chain FILE]"));
    auto given = readCertificateAndChain(p.value(cert), p.value(chain));
    if (!given)
        return report(given.error());
    core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto imported = hsm::importRaCertificate(dir, *ca, config, given->first, given->second);
    if (!imported)
        return report(imported.error());
    if (auto r = auditAct(dir, config, *ca, core::AuditKind::Setting, QStringLiteral("ra-certificate"),
            QStringLiteral("imported RA certificate sha256 %1, chain of %2")
                .arg(core::ossl::sha256Hex(imported->first()))
                .arg(imported->size()));
        !r)
        return report(r.error());
    out() << "Imported the RA certificate:" << Qt::endl;
    printChain(*imported);
    out() << "Written to " << dir.raCertFile() << Qt::endl;
    return 0;
}

} // namespace imprint::app::cli
