#pragma once

#include "Error.h"

#include <QByteArray>
#include <QString>

#include <memory>
#include <optional>

namespace imprint::core {

/// One certificate request of a batch: where it came from (a file name, an archive member,
/// or FILE#N for the Nth request of a PEM file) and its DER (empty when unreadable: the
/// check refuses it as malformed).
struct BatchRequest {
    QString source;
    QByteArray der;
};

/// Where a batch's requests come from, one at a time and always in the same order, so that
/// a batch run again with the same input meets its requests in the order it met them before.
class RequestSource {
public:
    virtual ~RequestSource() = default;
    /// The next request; none at the end.
    [[nodiscard]] virtual Result<std::optional<BatchRequest>> next() = 0;
    /// How many requests there are, when that is known before reading them (else -1).
    [[nodiscard]] virtual qsizetype total() const { return -1; }
};

/// Opens a batch's requests: a folder of request files (*.csr, *.pem, *.der, *.req; one each,
/// by name), a PEM file holding many requests one after another, or an archive (tar,
/// tar.gz, tar.xz, zip) of request files.
[[nodiscard]] Result<std::unique_ptr<RequestSource>> openRequests(const QString& path);

/// A request's DER from a PEM or DER file's contents (the DER itself is checked strictly later).
[[nodiscard]] QByteArray requestDer(const QByteArray& contents);

/// The most of a request file that is read: anything larger is refused as too large anyway.
inline constexpr qsizetype MaxRequestFileBytes = 1024 * 1024;

} // namespace imprint::core
