#pragma once

#include "pki/OpenSsl.h"
#include "pki/Signer.h"

#include <QDateTime>
#include <QList>

#include <memory>

namespace imprint::core {

/// One certificate on a CRL.
struct RevokedCertificate {
    QString serialHex;
    QDateTime revokedAt;
    int reason = 0; ///< CRLReason (RFC 5280 5.3.1)
};

/// A version-2 CRL (RFC 5280 5) by the issuing CA: its name, the CRL number, the CA's
/// key identifier (AKI), each entry with its reason code, signed with SHA-256 by `caKey`
/// (inside the HSM). Returns the DER.
[[nodiscard]] Result<QByteArray> makeCrl(std::shared_ptr<Signer> caKey, const X509* caCert, qint64 number,
    const QList<RevokedCertificate>& revoked, const QDateTime& thisUpdate, const QDateTime& nextUpdate);

/// The entries of a CRL (DER) read back, once its signature verifies with `caCert`'s key:
/// what the next CRL must list again.
[[nodiscard]] Result<QList<RevokedCertificate>> crlEntries(const QByteArray& crlDer, const X509* caCert);

} // namespace imprint::core
