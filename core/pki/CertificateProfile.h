#pragma once

#include "pki/CsrCheck.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

namespace imprint::core {

/// How the station builds a device certificate. Nothing but the public key is taken
/// from the request; every other field comes from here and the identified device.
///
/// A profile file is a JSON object (see README, "Certificate profiles"):
///   { "name": "sensor", "subject": { "O": "...", "OU": "...", "CN": "..." },
///     "validity_days": 0, "extended_key_usage": ["clientAuth"],
///     "hardware_module_name": { "type": "1.3.6.1.4.1.99999.1" },
///     "keys": ["EC-P256"], "max_request_bytes": 8192 }
struct CertificateProfile {
    QString name;
    QString organization;
    QString organizationalUnit;
    QString commonName; ///< empty: the device's model
    int validityDays = 0; ///< 0: notAfter 99991231235959Z (RFC 5280 4.1.2.5)
    QStringList extendedKeyUsage; ///< dotted OIDs; empty: no EKU extension
    QString hardwareModuleType; ///< dotted OID; set: subjectAltName hardwareModuleName (RFC 4108 5)
    CsrPolicy csrPolicy;

    /// IEEE 802.1AR IDevID: serialNumber in the subject, no expiry, digitalSignature only.
    [[nodiscard]] static CertificateProfile idevid();

    /// Reads a profile file; every key is checked, unknown keys are refused.
    [[nodiscard]] static Result<CertificateProfile> fromJson(const QByteArray& json, const QString& source);
    /// "idevid" (built in), a file `NAME.json` in `profileDir`, or a path to a profile file.
    [[nodiscard]] static Result<CertificateProfile> load(const QString& nameOrPath, const QString& profileDir);

    [[nodiscard]] QJsonObject toJson() const;
};

} // namespace imprint::core
