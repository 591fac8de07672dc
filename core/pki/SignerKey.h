#pragma once

#include "pki/OpenSsl.h"
#include "pki/Signer.h"

#include <memory>

namespace imprint::core {

/// An EVP_PKEY whose private-key operation is done by `signer` (a key in the token), for the
/// OpenSSL APIs that sign with an EVP_PKEY: CMP message protection and CMS. The key holds
/// the public half only; every signature goes to Signer::signDigest. EC keys only. The
/// EVP_PKEY keeps the Signer alive.
[[nodiscard]] Result<ossl::PKey> signerKey(std::shared_ptr<Signer> signer);

} // namespace imprint::core
