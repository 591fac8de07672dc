#pragma once

#include <QString>

#include <expected>

namespace imprint::core {

/// Stable error codes: tests and logic switch on these, never on message text.
enum class ErrorCode {
    Io, ///< file or device I/O failed
    Timeout, ///< a peer did not answer in time
    Disconnected, ///< the device went away
    Protocol, ///< a frame or message broke the device protocol
    DeviceRefused, ///< the device answered with an error
    BadInput, ///< a file, argument or configuration is malformed
    CsrRejected, ///< a CSR failed a check (see CsrCheck::Reason)
    Crypto, ///< an OpenSSL operation failed
    Hsm, ///< the PKCS#11 module or token failed
    PinRejected, ///< the token refused the PIN
    Store, ///< the record store failed
    NotFound, ///< the thing asked for does not exist
    VerificationFailed, ///< the device did not prove it holds the certified key
    NotInitialized, ///< the data directory has not been set up
    Cancelled, ///< a person declined (closed the PIN prompt)
};

/// An error as a value: a code for logic, a plain sentence for the operator,
/// and technical detail (OpenSSL queue, CKR name, SQLite text) for the log.
struct Error {
    ErrorCode code;
    QString message;
    QString detail;
    QString reason; ///< finer stable code within `code`, e.g. the CSR check that failed

    [[nodiscard]] QString text() const
    {
        return detail.isEmpty() ? message : message + QStringLiteral(" (") + detail + QStringLiteral(")");
    }
};

/// Stable lower-case name of a code, for JSON and logs.
[[nodiscard]] inline QString errorCodeName(ErrorCode code)
{
    switch (code) {
    case ErrorCode::Io: return QStringLiteral("io");
    case ErrorCode::Timeout: return QStringLiteral("timeout");
    case ErrorCode::Disconnected: return QStringLiteral("disconnected");
    case ErrorCode::Protocol: return QStringLiteral("protocol");
    case ErrorCode::DeviceRefused: return QStringLiteral("device-refused");
    case ErrorCode::BadInput: return QStringLiteral("bad-input");
    case ErrorCode::CsrRejected: return QStringLiteral("csr-rejected");
    case ErrorCode::Crypto: return QStringLiteral("crypto");
    case ErrorCode::Hsm: return QStringLiteral("hsm");
    case ErrorCode::PinRejected: return QStringLiteral("pin-rejected");
    case ErrorCode::Store: return QStringLiteral("store");
    case ErrorCode::NotFound: return QStringLiteral("not-found");
    case ErrorCode::VerificationFailed: return QStringLiteral("verification-failed");
    case ErrorCode::NotInitialized: return QStringLiteral("not-initialized");
    case ErrorCode::Cancelled: return QStringLiteral("cancelled");
    }
    return QStringLiteral("unknown");
}

template <typename T> using Result = std::expected<T, Error>;

[[nodiscard]] inline std::unexpected<Error> fail(
    ErrorCode code, QString message, QString detail = {}, QString reason = {})
{
    return std::unexpected(Error { code, std::move(message), std::move(detail), std::move(reason) });
}

} // namespace imprint::core
