#pragma once

#include "Error.h"

#include <QByteArray>
#include <QString>

namespace imprint::hsm {

/// A PKCS#11 URI (RFC 7512), the parts the station uses:
///   pkcs11:token=Imprint;object=issuing-ca;id=%01?module-path=/usr/lib/...&pin-source=file:/path
class Pkcs11Uri {
public:
    [[nodiscard]] static core::Result<Pkcs11Uri> parse(const QString& text);

    QString token;
    QString object;
    QByteArray id;
    QString modulePath;
    QString pinSource; ///< "file:/path" or a bare path

    /// The pin-source as a local file path, or empty.
    [[nodiscard]] QString pinFile() const;
    [[nodiscard]] QString toString() const;
};

} // namespace imprint::hsm
