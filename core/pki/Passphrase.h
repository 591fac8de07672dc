#pragma once

// A passphrase kept only as a salted hash from a memory-hard KDF (scrypt, through OpenSSL):
// the QA role's credential. The stored text names the KDF and its parameters, so they can be
// raised later without breaking the hashes already kept.

#include "Error.h"
#include "Secret.h"

#include <QByteArray>

namespace imprint::core {

/// scrypt$N$r$p$SALT$HASH (salt and hash in base64): a fresh 16-byte salt each time.
[[nodiscard]] Result<QByteArray> hashPassphrase(const Secret& passphrase);

/// Whether `passphrase` is the one `stored` (from hashPassphrase) was made from; compared in
/// constant time. A stored text that is not such a hash is an error, not a "no".
[[nodiscard]] Result<bool> checkPassphrase(const Secret& passphrase, const QByteArray& stored);

} // namespace imprint::core
