// Fuzzes the certificate request check: the strict DER reader, the key decoders and the
// signature check, on bytes as a device or a contract manufacturer might send them.

#include "pki/CsrCheck.h"
#include "pki/Der.h"

#include <cstdint>

using namespace imprint::core;

namespace {

/// Walks every element the reader accepts, recursing into constructed ones.
void walk(QByteArrayView bytes, int depth)
{
    der::Reader reader(bytes);
    while (auto e = reader.next()) {
        if ((e->tag & 0x20) != 0 && depth < 16)
            walk(e->content, depth + 1);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const QByteArray input(reinterpret_cast<const char*>(data), static_cast<qsizetype>(size));
    walk(input, 0);
    CsrPolicy policy;
    policy.allowedKeys << QStringLiteral("EC-P384") << QStringLiteral("RSA-2048");
    const CsrCheck check(policy);
    (void)check.check(input, QString(), {});
    (void)check.check(input, QStringLiteral("SN-1"), [](const QString&) -> Result<std::optional<QString>> {
        return std::optional<QString> { QStringLiteral("OTHER") };
    });
    return 0;
}
