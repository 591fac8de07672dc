#pragma once

// The station's CMP client (RFC 4210, Lightweight CMP profile RFC 9483) towards the
// upstream CA, on OpenSSL's CMP implementation. The station is a registration authority: it
// forwards each device's own PKCS#10 request (p10cr) and revocations (rr), every message
// signed by the RA key inside the token (signature-based protection, RFC 9483 3.2), every
// answer's protection checked against the upstream's trust anchors and its transactionID
// and nonces against the request (OpenSSL does both). Messages travel over HTTP (RFC 6712)
// or HTTPS on one kept-alive connection.

#include "Error.h"
#include "Secret.h"
#include "pki/Signer.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <functional>
#include <memory>

namespace imprint::core {

/// Who the station is towards the upstream, and whom it trusts there.
struct CmpIdentity {
    std::shared_ptr<Signer> raKey; ///< the RA key in the token
    QList<QByteArray> raChain; ///< the RA certificate first, then its issuers (DER)
    QList<QByteArray> anchors; ///< the upstream's trust anchors (DER)
};

struct CmpOptions {
    QString url; ///< http://host[:port]/path or https://
    QString recipient; ///< the upstream CA's name ("/CN=..."); empty: none named
    int messageTimeoutS = 30;
    int totalTimeoutS = 600;
};

/// What the upstream answered to one request, in the station's words.
struct CmpAnswer {
    enum class Kind {
        Done, ///< certified (and confirmed) or revoked
        Answered, ///< certified and recorded, but the confirmation was not acknowledged
        Waiting, ///< the upstream asked to poll after checkAfterS seconds
        Rejected, ///< the upstream refused the request (status says how)
        Unreachable, ///< no answer came: connection refused, timed out, an HTTP error
        Refused, ///< an answer came and failed a check; nothing of it was recorded
    };
    Kind kind = Kind::Unreachable;
    QByteArray certificate; ///< Done/Answered for a request: the upstream's certificate (DER)
    int checkAfterS = 0;
    QString status; ///< the upstream's PKIStatus and text
    QString error; ///< Unreachable/Refused: a plain sentence and OpenSSL's detail
};

class CmpClient {
public:
    /// Records the upstream's certificate before it is confirmed (certConf); an error stops
    /// the confirmation.
    using Record = std::function<Result<void>(const QByteArray& upstreamCertificate)>;

    [[nodiscard]] static Result<std::unique_ptr<CmpClient>> create(
        const CmpIdentity& identity, const CmpOptions& options);
    ~CmpClient();
    CmpClient(const CmpClient&) = delete;
    CmpClient& operator=(const CmpClient&) = delete;

    /// One certificate request's transaction, kept while the upstream makes it wait.
    struct Enrollment;
    struct EnrollmentDeleter {
        void operator()(Enrollment* e) const;
    };
    using EnrollmentPtr = std::unique_ptr<Enrollment, EnrollmentDeleter>;
    [[nodiscard]] Result<EnrollmentPtr> enrollment(const QByteArray& requestDer);
    /// Sends the request (first call) or polls (after Waiting). The answer's certificate is
    /// checked (chain to the anchors, the request's key) and handed to `record` first.
    [[nodiscard]] CmpAnswer step(Enrollment& enrollment, const Record& record);

    /// Asks the upstream to revoke its certificate `certificateDer` (CRLReason `reason`).
    [[nodiscard]] CmpAnswer revoke(const QByteArray& certificateDer, int reason);

    /// The messages the client would send first, as DER, without sending them (file-based
    /// transfer, RFC 9483 6): a p10cr for a request, an rr for a certificate.
    [[nodiscard]] Result<QByteArray> requestMessage(const QByteArray& requestDer);
    [[nodiscard]] Result<QByteArray> revocationMessage(const QByteArray& certificateDer, int reason);

    /// `upstream enroll`: an initialization request (ir) for the RA key with subject
    /// `subject`, under MAC-based protection (RFC 9483 3.3) with the one-time `secret` and its
    /// `reference` from the upstream's administrator. The certificate that comes back must be
    /// for the RA key and verify to `anchors`; returns it first, then the issuers the answer
    /// brought.
    [[nodiscard]] static Result<QList<QByteArray>> enrollRaKey(const CmpOptions& options,
        const QList<QByteArray>& anchors, std::shared_ptr<Signer> raKey, const QString& subject,
        const QByteArray& reference, const Secret& secret);

    /// Connections opened so far (one, while the upstream keeps it alive).
    [[nodiscard]] int connections() const;

    struct Impl;

private:
    explicit CmpClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

/// CRLReason codes the station sends (RFC 5280 5.3.1).
namespace crl_reason {
constexpr int Superseded = 4;
constexpr int CessationOfOperation = 5;
} // namespace crl_reason

} // namespace imprint::core
