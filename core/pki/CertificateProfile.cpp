#include "pki/CertificateProfile.h"

#include "pki/Der.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>

namespace imprint::core {

namespace {

// RFC 5280 4.2.1.12 key purposes, by the names OpenSSL and most tools use.
const QList<QPair<QString, QString>> KeyPurposes {
    { QStringLiteral("serverAuth"), QStringLiteral("1.3.6.1.5.5.7.3.1") },
    { QStringLiteral("clientAuth"), QStringLiteral("1.3.6.1.5.5.7.3.2") },
    { QStringLiteral("codeSigning"), QStringLiteral("1.3.6.1.5.5.7.3.3") },
    { QStringLiteral("emailProtection"), QStringLiteral("1.3.6.1.5.5.7.3.4") },
    { QStringLiteral("timeStamping"), QStringLiteral("1.3.6.1.5.5.7.3.8") },
    { QStringLiteral("OCSPSigning"), QStringLiteral("1.3.6.1.5.5.7.3.9") },
};

const QStringList KnownKeys { QStringLiteral("EC-P256"), QStringLiteral("EC-P384"), QStringLiteral("RSA-2048"),
    QStringLiteral("RSA-3072"), QStringLiteral("RSA-4096") };

bool isOid(const QString& text)
{
    return !der::oid(text.toLatin1().constData()).isEmpty();
}

} // namespace

CertificateProfile CertificateProfile::idevid()
{
    CertificateProfile p;
    p.name = QStringLiteral("idevid");
    p.organization = QStringLiteral("Imprint Demo Devices");
    p.organizationalUnit = QStringLiteral("Manufacturing");
    return p;
}

Result<CertificateProfile> CertificateProfile::fromJson(const QByteArray& json, const QString& source)
{
    auto bad = [&source](const QString& why) {
        return fail(ErrorCode::BadInput, QStringLiteral("The profile %1 is not valid: %2.").arg(source, why));
    };
    QJsonParseError parseError {};
    const QJsonDocument doc = QJsonDocument::fromJson(json, &parseError);
    if (!doc.isObject())
        return bad(parseError.error != QJsonParseError::NoError ? parseError.errorString()
                                                                : QStringLiteral("it is not a JSON object"));
    const QJsonObject o = doc.object();
    static const QStringList allowed { QStringLiteral("name"), QStringLiteral("subject"),
        QStringLiteral("validity_days"), QStringLiteral("extended_key_usage"), QStringLiteral("hardware_module_name"),
        QStringLiteral("keys"), QStringLiteral("max_request_bytes") };
    for (const QString& key : o.keys()) {
        if (!allowed.contains(key))
            return bad(QStringLiteral("unknown key \"%1\" (known: %2)").arg(key, allowed.join(QStringLiteral(", "))));
    }

    CertificateProfile p;
    p.name = o.value(QStringLiteral("name")).toString();
    if (p.name.isEmpty())
        return bad(QStringLiteral("\"name\" is missing"));

    const QJsonObject subject = o.value(QStringLiteral("subject")).toObject();
    for (const QString& key : subject.keys()) {
        const QString value = subject.value(key).toString();
        // X.520 upper bounds (RFC 5280 appendix A.1): 64 characters for each of these.
        if (value.size() > 64)
            return bad(QStringLiteral("subject %1 is longer than 64 characters").arg(key));
        if (key == QLatin1String("O"))
            p.organization = value;
        else if (key == QLatin1String("OU"))
            p.organizationalUnit = value;
        else if (key == QLatin1String("CN"))
            p.commonName = value;
        else
            return bad(QStringLiteral("subject attribute \"%1\" is not one of O, OU, CN (serialNumber is always the "
                                      "device's)")
                           .arg(key));
    }

    const QJsonValue validity = o.value(QStringLiteral("validity_days"));
    if (!validity.isUndefined()) {
        if (!validity.isDouble() || validity.toDouble() < 0 || validity.toDouble() > 100 * 366
            || validity.toDouble() != static_cast<int>(validity.toDouble()))
            return bad(QStringLiteral("\"validity_days\" must be a whole number of days (0: no expiry)"));
        p.validityDays = validity.toInt();
    }

    for (const QJsonValue& v : o.value(QStringLiteral("extended_key_usage")).toArray()) {
        const QString purpose = v.toString();
        QString oid;
        for (const auto& [name, dotted] : KeyPurposes) {
            if (name == purpose)
                oid = dotted;
        }
        if (oid.isEmpty() && isOid(purpose))
            oid = purpose;
        if (oid.isEmpty())
            return bad(QStringLiteral("extended key usage \"%1\" is neither a known name nor an OID").arg(purpose));
        p.extendedKeyUsage << oid;
    }

    const QJsonValue hwmn = o.value(QStringLiteral("hardware_module_name"));
    if (!hwmn.isUndefined()) {
        p.hardwareModuleType = hwmn.toObject().value(QStringLiteral("type")).toString();
        if (!isOid(p.hardwareModuleType))
            return bad(QStringLiteral("\"hardware_module_name\" needs \"type\", the device type's OID"));
    }

    if (o.contains(QStringLiteral("keys"))) {
        p.csrPolicy.allowedKeys.clear();
        for (const QJsonValue& v : o.value(QStringLiteral("keys")).toArray()) {
            if (!KnownKeys.contains(v.toString()))
                return bad(QStringLiteral("key type \"%1\" is not one of %2")
                               .arg(v.toString(), KnownKeys.join(QStringLiteral(", "))));
            p.csrPolicy.allowedKeys << v.toString();
        }
        if (p.csrPolicy.allowedKeys.isEmpty())
            return bad(QStringLiteral("\"keys\" allows no key type"));
    }
    const QJsonValue maxBytes = o.value(QStringLiteral("max_request_bytes"));
    if (!maxBytes.isUndefined()) {
        if (maxBytes.toInt() < 256 || maxBytes.toInt() > 64 * 1024)
            return bad(QStringLiteral("\"max_request_bytes\" must be between 256 and 65536"));
        p.csrPolicy.maxDerSize = maxBytes.toInt();
    }
    return p;
}

Result<CertificateProfile> CertificateProfile::load(const QString& nameOrPath, const QString& profileDir)
{
    if (nameOrPath.isEmpty() || nameOrPath == QLatin1String("idevid"))
        return idevid();
    const bool isPath = nameOrPath.contains(QLatin1Char('/')) || nameOrPath.endsWith(QLatin1String(".json"));
    const QString path = isPath ? nameOrPath : QDir(profileDir).filePath(nameOrPath + QStringLiteral(".json"));
    QFile f(path);
    if (!f.exists())
        return fail(ErrorCode::NotFound,
            QStringLiteral("There is no profile \"%1\" (looked for %2; built in: idevid).").arg(nameOrPath, path));
    if (!f.open(QIODevice::ReadOnly))
        return fail(ErrorCode::Io, QStringLiteral("Cannot read the profile %1.").arg(path), f.errorString());
    return fromJson(f.read(1024 * 1024), path);
}

QJsonObject CertificateProfile::toJson() const
{
    QJsonObject subject;
    if (!organization.isEmpty())
        subject[QStringLiteral("O")] = organization;
    if (!organizationalUnit.isEmpty())
        subject[QStringLiteral("OU")] = organizationalUnit;
    if (!commonName.isEmpty())
        subject[QStringLiteral("CN")] = commonName;
    QJsonObject o;
    o[QStringLiteral("name")] = name;
    o[QStringLiteral("subject")] = subject;
    o[QStringLiteral("validity_days")] = validityDays;
    if (!extendedKeyUsage.isEmpty())
        o[QStringLiteral("extended_key_usage")] = QJsonArray::fromStringList(extendedKeyUsage);
    if (!hardwareModuleType.isEmpty())
        o[QStringLiteral("hardware_module_name")] = QJsonObject { { QStringLiteral("type"), hardwareModuleType } };
    o[QStringLiteral("keys")] = QJsonArray::fromStringList(csrPolicy.allowedKeys);
    o[QStringLiteral("max_request_bytes")] = static_cast<int>(csrPolicy.maxDerSize);
    return o;
}

} // namespace imprint::core
