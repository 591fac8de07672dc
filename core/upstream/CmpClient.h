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
#include "domain/States.h"
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
    int connectTimeoutS = 5; ///< making a connection (TLS included), apart from the message timeout
    /// Ask the upstream for implicit confirmation (RFC 4210 5.1.1.1): where it grants it, a
    /// certificate is final when it arrives, with no certConf round trip and one signature fewer.
    /// Its cost: a certificate the station refuses, or loses to a crash before recording it,
    /// stays issued upstream (with certConf it is never confirmed). Off by default.
    bool implicitConfirm = false;
};

/// Whom the station accepts the upstream's answers from. The anchors alone let any certificate
/// they vouch for sign an answer (another station's RA certificate too), and over http whoever
/// holds one can answer in the upstream's place: "revoked", "rejected". A pin names the
/// upstream's own CMP signer. Both set: both are checked.
struct CmpSignerPin {
    /// The upstream's CMP signer certificate (DER): an answer must be signed with its key
    /// and sent by its subject (OSSL_CMP_CTX_set1_srvCert; OpenSSL trusts it directly).
    QByteArray certificate;
    /// The name an answer must be sent by, e.g. "/CN=Corporate CMP": signed by a certificate
    /// of that subject the anchors vouch for; survives a renewal of the signer's certificate
    /// (OSSL_CMP_CTX_set1_expected_sender).
    QString name;
    [[nodiscard]] bool isEmpty() const { return certificate.isEmpty() && name.isEmpty(); }
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
    QString error; ///< Unreachable/Refused: a plain sentence
    QString detail; ///< Unreachable/Refused: OpenSSL's own words, for a detail line
};

class CmpClient {
public:
    /// Records the upstream's certificate before it is confirmed (certConf); an error stops
    /// the confirmation.
    using Record = std::function<Result<void>(const QByteArray& upstreamCertificate)>;

    [[nodiscard]] static Result<std::unique_ptr<CmpClient>> create(
        const CmpIdentity& identity, const CmpOptions& options);
    /// From now on, accepts only answers signed as `pin` says; an empty pin changes nothing.
    /// Fails on a certificate or name that cannot be read. The requests stay as they were:
    /// the recipient they name is not the pinned signer unless CmpOptions::recipient says so.
    [[nodiscard]] Result<void> pinSigner(const CmpSignerPin& pin);
    /// For `upstream configure`: refuses a signer certificate to pin (DER, first in
    /// `signerChain`, then any issuers below the anchors) that does not verify to `anchors`
    /// now: the wrong file, another PKI, expired. Checked when it is set, because OpenSSL
    /// trusts a pinned certificate as it is, expired too.
    [[nodiscard]] static Result<void> checkSignerPin(
        const QList<QByteArray>& anchors, const QList<QByteArray>& signerChain);
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
    /// brought. No signer pin applies: the one-time secret's MAC is what authenticates the
    /// upstream here (and a signed answer still has to bring a certificate for the RA key).
    [[nodiscard]] static Result<QList<QByteArray>> enrollRaKey(const CmpOptions& options,
        const QList<QByteArray>& anchors, std::shared_ptr<Signer> raKey, const QString& subject,
        const QByteArray& reference, const Secret& secret);

    /// Connections opened so far (one, while the upstream keeps it alive).
    [[nodiscard]] int connections() const;

    /// Another client with the same identity, options and pin, on a connection of its own: one
    /// per transaction kept in flight at once (CmpClient is used by one thread at a time).
    [[nodiscard]] Result<std::unique_ptr<CmpClient>> clone() const;

    struct Impl;

private:
    explicit CmpClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

} // namespace imprint::core
