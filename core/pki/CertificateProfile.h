#pragma once

#include "pki/CsrCheck.h"

#include <QString>

namespace imprint::core {

/// How the station builds a device certificate. Nothing but the public key is taken
/// from the request; every other field comes from here and the identified device.
struct CertificateProfile {
    QString name;
    QString organization;
    QString organizationalUnit;
    CsrPolicy csrPolicy;

    /// IEEE 802.1AR IDevID: serialNumber in the subject, no expiry, digitalSignature only.
    [[nodiscard]] static CertificateProfile idevid();
};

} // namespace imprint::core
