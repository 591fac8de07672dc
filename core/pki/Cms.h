#pragma once

#include "pki/OpenSsl.h"
#include "pki/Signer.h"

#include <memory>

namespace imprint::core {

/// A detached CMS signature (RFC 5652 SignedData, DER) over `data` by `key` (a key in the
/// token, EC) with its certificate `chain` (signer's first) included, as `openssl cms -verify
/// -binary -content FILE` checks it.
[[nodiscard]] Result<QByteArray> signDetached(
    const QByteArray& data, std::shared_ptr<Signer> key, const QList<QByteArray>& chain);

/// The certificates of a PKCS#7 bundle (DER or PEM .p7b/.p7c) or of a PEM file of certificates.
[[nodiscard]] Result<QList<QByteArray>> certificatesIn(const QByteArray& file);

} // namespace imprint::core
