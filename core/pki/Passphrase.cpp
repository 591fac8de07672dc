#include "Passphrase.h"

#include "pki/OpenSsl.h"

#include <QList>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

namespace imprint::core {

namespace {

// 2^15 × 8 × 128 bytes = 32 MiB of memory per try: costly to guess at scale, under a
// second on a line PC.
constexpr quint64 CostN = 1u << 15;
constexpr quint64 BlockR = 8;
constexpr quint64 ParallelP = 1;
constexpr int HashBytes = 32;
constexpr quint64 MaxMemory = 256ull * 1024 * 1024;

Result<QByteArray> scrypt(const Secret& passphrase, const QByteArray& salt, quint64 n, quint64 r, quint64 p)
{
    QByteArray out(HashBytes, Qt::Uninitialized);
    if (EVP_PBE_scrypt(passphrase.data(), static_cast<size_t>(passphrase.size()),
            reinterpret_cast<const unsigned char*>(salt.constData()), static_cast<size_t>(salt.size()), n, r, p,
            MaxMemory, reinterpret_cast<unsigned char*>(out.data()), static_cast<size_t>(out.size()))
        != 1)
        return ossl::cryptoFail(QStringLiteral("The passphrase could not be hashed (scrypt)."));
    return out;
}

} // namespace

Result<QByteArray> hashPassphrase(const Secret& passphrase)
{
    QByteArray salt(16, Qt::Uninitialized);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size())) != 1)
        return ossl::cryptoFail(QStringLiteral("The random generator failed."));
    auto hash = scrypt(passphrase, salt, CostN, BlockR, ParallelP);
    if (!hash)
        return std::unexpected(hash.error());
    return QByteArrayLiteral("scrypt$") + QByteArray::number(CostN) + '$' + QByteArray::number(BlockR) + '$'
        + QByteArray::number(ParallelP) + '$' + salt.toBase64() + '$' + hash->toBase64();
}

Result<bool> checkPassphrase(const Secret& passphrase, const QByteArray& stored)
{
    const QList<QByteArray> parts = stored.trimmed().split('$');
    bool okN = false, okR = false, okP = false;
    const quint64 n = parts.value(1).toULongLong(&okN);
    const quint64 r = parts.value(2).toULongLong(&okR);
    const quint64 p = parts.value(3).toULongLong(&okP);
    const QByteArray salt = QByteArray::fromBase64(parts.value(4));
    const QByteArray want = QByteArray::fromBase64(parts.value(5));
    if (parts.size() != 6 || parts.at(0) != "scrypt" || !okN || !okR || !okP || n < 2 || r == 0 || p == 0
        || salt.size() < 8 || want.size() != HashBytes)
        return fail(ErrorCode::BadInput, QStringLiteral("The stored passphrase is not a scrypt hash; set it again."));
    auto got = scrypt(passphrase, salt, n, r, p);
    if (!got)
        return std::unexpected(got.error());
    return CRYPTO_memcmp(got->constData(), want.constData(), static_cast<size_t>(HashBytes)) == 0;
}

} // namespace imprint::core
