#include "upstream/CmpClient.h"

#include "pki/CertificateBuilder.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "pki/SignerKey.h"
#include "upstream/HttpTransport.h"

#include <QStringList>

#include <openssl/cmp.h>
#include <openssl/err.h>

namespace imprint::core {

namespace {

using CmpCtx = std::unique_ptr<OSSL_CMP_CTX, ossl::Deleter<OSSL_CMP_CTX_free>>;
using CmpMsg = std::unique_ptr<OSSL_CMP_MSG, ossl::Deleter<OSSL_CMP_MSG_free>>;

QString statusOf(const OSSL_CMP_CTX* ctx)
{
    char buf[1024];
    const char* s = OSSL_CMP_CTX_snprint_PKIStatus(ctx, buf, sizeof buf);
    return s ? QString::fromUtf8(s) : QString();
}

} // namespace

/// What a certConf callback decided about the certificate an answer brought.
struct AnswerCheck {
    QByteArray key; ///< the SubjectPublicKeyInfo the certificate must be for
    QString whose; ///< whose key that is, for the message ("device's", "RA")
    QString refused; ///< why it was not accepted, if it was not
    QByteArray refusedText; ///< the same, kept alive for OpenSSL's certConf text
    QList<QByteArray> chain; ///< accepted: the certificate first, then the answer's own certificates

    /// The failInfo to send with bit `bit` set, remembering why.
    int refuse(const QString& why, int failInfo, int bit, const char** text)
    {
        refused = why;
        refusedText = why.toUtf8();
        *text = refusedText.constData();
        return failInfo | (1 << bit);
    }
};

struct CmpClient::Impl {
    CmpIdentity identity;
    CmpOptions options;
    ossl::PKey raKey;
    ossl::Cert raCert;
    ossl::CertStack raIssuers;
    ossl::Name recipient;
    ossl::Cert pinnedSigner; ///< answers must be signed with its key (CmpSignerPin::certificate)
    ossl::Name pinnedSender; ///< answers must be sent by this name (CmpSignerPin::name)
    QString pinText; ///< the pin in words, for the message of a refused answer
    std::unique_ptr<HttpTransport> transport;
    // What the exchange in progress saw.
    bool capture = false;
    QByteArray captured;
    bool answered = false; ///< a response message came back

    ossl::Store anchors; ///< the upstream's trust anchors, parsed once, shared by every transaction

    ossl::Store trustStore() const
    {
        X509_STORE_up_ref(anchors.get());
        return ossl::Store { anchors.get() };
    }

    /// Verifies a certificate an answer brought to the anchors, through the answer's own
    /// certificates (trusted for nothing).
    bool verifies(X509* cert, STACK_OF(X509) * intermediates, QString* why) const
    {
        ossl::StoreCtx ctx { X509_STORE_CTX_new() };
        if (!ctx || X509_STORE_CTX_init(ctx.get(), anchors.get(), cert, intermediates) != 1) {
            *why = ossl::drainErrors();
            return false;
        }
        if (X509_verify_cert(ctx.get()) == 1)
            return true;
        *why = QString::fromLatin1(X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
        return false;
    }

    /// Reads the anchors and the recipient, and opens the transport for the URL.
    Result<void> setUp();
    /// Parses the anchors into the store every verification uses.
    Result<void> loadAnchors();

    /// OpenSSL names a pinned signer as the requests' recipient when none is set; the station
    /// keeps naming what it names without a pin, the issuer of `reference` (the RA certificate,
    /// or the certificate to revoke), so that a pin changes what is accepted, never what is sent.
    bool keepRecipient(OSSL_CMP_CTX* ctx, const X509* reference) const
    {
        return recipient || !pinnedSigner || !reference
            || OSSL_CMP_CTX_set1_recipient(ctx, X509_get_issuer_name(reference)) == 1;
    }

    /// A context for one transaction, with the RA's key and certificate, the anchors and the
    /// signer pin.
    Result<CmpCtx> context()
    {
        CmpCtx ctx { OSSL_CMP_CTX_new(nullptr, nullptr) };
        if (!ctx)
            return ossl::cryptoFail(QStringLiteral("Could not start a CMP transaction."));
        ossl::Store store = trustStore();
        if (OSSL_CMP_CTX_set0_trustedStore(ctx.get(), store.get()) != 1)
            return ossl::cryptoFail(QStringLiteral("Could not set the upstream's trust anchors."));
        (void)store.release();
        if ((raCert && OSSL_CMP_CTX_set1_cert(ctx.get(), raCert.get()) != 1)
            || (raCert && OSSL_CMP_CTX_set1_pkey(ctx.get(), raKey.get()) != 1)
            || (raIssuers && OSSL_CMP_CTX_set1_untrusted(ctx.get(), raIssuers.get()) != 1)
            || (recipient && OSSL_CMP_CTX_set1_recipient(ctx.get(), recipient.get()) != 1)
            // A pinned certificate replaces the anchors for the answers' protection (OpenSSL
            // then checks the signature with its key and the sender against its subject); a
            // pinned name is checked against every answer's sender, whose certificate must
            // still verify to the anchors.
            || (pinnedSigner && OSSL_CMP_CTX_set1_srvCert(ctx.get(), pinnedSigner.get()) != 1)
            || (pinnedSender && OSSL_CMP_CTX_set1_expected_sender(ctx.get(), pinnedSender.get()) != 1)
            || !keepRecipient(ctx.get(), raCert.get())
            || OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_MSG_TIMEOUT, options.messageTimeoutS) != 1
            || OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_TOTAL_TIMEOUT, options.totalTimeoutS) != 1
            || OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_IMPLICIT_CONFIRM, options.implicitConfirm ? 1 : 0) != 1
            || OSSL_CMP_CTX_set_transfer_cb(ctx.get(), transfer) != 1
            || OSSL_CMP_CTX_set_transfer_cb_arg(ctx.get(), this) != 1)
            return ossl::cryptoFail(QStringLiteral("Could not set up the CMP transaction."));
        OSSL_CMP_CTX_set_log_verbosity(ctx.get(), OSSL_CMP_LOG_ERR);
        return ctx;
    }

    static OSSL_CMP_MSG* transfer(OSSL_CMP_CTX* ctx, const OSSL_CMP_MSG* request)
    {
        // OpenSSL lowers the message timeout as the transaction's total timeout runs out.
        const int timeout = OSSL_CMP_CTX_get_option(ctx, OSSL_CMP_OPT_MSG_TIMEOUT);
        auto* self = static_cast<Impl*>(OSSL_CMP_CTX_get_transfer_cb_arg(ctx));
        return self->exchange(request, timeout > 0 ? timeout : self->options.messageTimeoutS);
    }

    /// One request and its answer over the kept connection.
    OSSL_CMP_MSG* exchange(const OSSL_CMP_MSG* request, int timeoutS)
    {
        ossl::Bio encoder { BIO_new(BIO_s_mem()) };
        if (!encoder || i2d_OSSL_CMP_MSG_bio(encoder.get(), request) != 1)
            return nullptr;
        char* data = nullptr;
        const long size = BIO_get_mem_data(encoder.get(), &data);
        const QByteArray message(data, static_cast<qsizetype>(size));
        if (capture) {
            captured = message;
            return nullptr;
        }
        // Once written, a request is never written again here: if its answer does not come,
        // the row fails and the sync decides (the upstream may have acted on it).
        const auto body = transport->post(message, timeoutS);
        if (!body)
            return nullptr;
        const auto* p = reinterpret_cast<const unsigned char*>(body->constData());
        OSSL_CMP_MSG* msg = d2i_OSSL_CMP_MSG(nullptr, &p, static_cast<long>(body->size()));
        answered = msg != nullptr;
        return msg;
    }

    /// Checks the certificate an answer brought before it is confirmed: for the expected key,
    /// accepted by OpenSSL's own checks (failInfo 0), and verifying to the anchors through
    /// the answer's certificates. Returns the failInfo to confirm with (0: accepted).
    int checkAnswer(OSSL_CMP_CTX* ctx, X509* cert, int failInfo, AnswerCheck& check, const char** text) const
    {
        if (ossl::publicKeyDer(X509_get_X509_PUBKEY(cert)) != check.key)
            return check.refuse(
                QStringLiteral("the upstream's certificate is for another key than the %1").arg(check.whose), failInfo,
                OSSL_CMP_PKIFAILUREINFO_incorrectData, text);
        if (failInfo != 0)
            return check.refuse(
                QStringLiteral("OpenSSL's CMP client found the upstream's certificate unacceptable (%1)")
                    .arg(ossl::drainErrors()),
                failInfo, OSSL_CMP_PKIFAILUREINFO_badCertTemplate, text);
        ossl::CertStack intermediates { OSSL_CMP_CTX_get1_extraCertsIn(ctx) };
        if (!intermediates)
            intermediates.reset(sk_X509_new_null());
        if (ossl::CertStack caPubs { OSSL_CMP_CTX_get1_caPubs(ctx) }) {
            while (sk_X509_num(caPubs.get()) > 0)
                sk_X509_push(intermediates.get(), sk_X509_pop(caPubs.get()));
        }
        if (QString why; !verifies(cert, intermediates.get(), &why))
            return check.refuse(
                QStringLiteral("the upstream's certificate does not verify to the trusted upstream anchors (%1)")
                    .arg(why),
                failInfo, OSSL_CMP_PKIFAILUREINFO_signerNotTrusted, text);
        check.chain = { ossl::certToDer(cert) };
        for (int i = 0; i < sk_X509_num(intermediates.get()); ++i)
            check.chain << ossl::certToDer(sk_X509_value(intermediates.get(), i));
        return 0;
    }

    /// Why a transaction that returned no result ended, in the station's words.
    CmpAnswer failure(OSSL_CMP_CTX* ctx, const QString& what)
    {
        CmpAnswer a;
        const int status = OSSL_CMP_CTX_get_status(ctx);
        const QString detail = ossl::drainErrors();
        if (status == OSSL_CMP_PKISTATUS_rejection) {
            a.kind = CmpAnswer::Kind::Rejected;
            a.status = statusOf(ctx);
            a.error = QStringLiteral("The upstream CA rejected the %1: %2").arg(what, a.status);
        } else if (answered) {
            a.kind = CmpAnswer::Kind::Refused;
            a.error = QStringLiteral("The upstream's answer to the %1 failed a check and was not accepted (%2).")
                          .arg(what, detail);
            if (!pinText.isEmpty())
                a.error += QStringLiteral(" The station accepts answers %1 only.").arg(pinText);
        } else {
            a.kind = CmpAnswer::Kind::Unreachable;
            a.error = unreachable(detail);
            a.detail = detail;
        }
        return a;
    }

    /// Why no answer came, in plain words; OpenSSL's text goes on the detail line.
    QString unreachable(const QString& detail) const
    {
        const QString where = transport->hostPort();
        auto has = [&](const char* words) { return detail.contains(QLatin1String(words), Qt::CaseInsensitive); };
        QString why;
        if (transport->connectFailed()) {
            if (has("timeout") || has("timed out"))
                why = QStringLiteral("nothing answered at %1 within %2 s (connect timeout): the host is down, or a "
                                     "firewall drops the way to it")
                          .arg(where)
                          .arg(transport->connectTimeoutS());
            else if (has("refused") || has("connect error") || has("connect_error"))
                why = QStringLiteral("%1 refused the connection: nothing listens there (the upstream service is "
                                     "stopped, or the URL's port is wrong)")
                          .arg(where);
            else if (has("lookup") || has("getaddrinfo") || has("name or service") || has("nodename"))
                why = QStringLiteral("the name in the URL cannot be found (DNS): check [upstream] url");
            else if (has("certificate") || has("ssl") || has("tls"))
                why = QStringLiteral("its TLS certificate could not be verified to the upstream's trust anchors");
            else
                why = QStringLiteral("no connection could be made to %1").arg(where);
        } else if (has("timeout") || has("timed out")) {
            why = QStringLiteral("it took the request but sent no answer within the message timeout of %1 s (timeout)")
                      .arg(options.messageTimeoutS);
        } else if (has("status code") || has("http")) {
            why = QStringLiteral("it answered with an HTTP error instead of a CMP message");
        } else {
            why = QStringLiteral("the connection closed before an answer came");
        }
        return QStringLiteral("The upstream CA at %1 could not be reached: %2.").arg(options.url, why);
    }
};

struct CmpClient::Enrollment {
    CmpCtx ctx;
    const Record* record = nullptr;
    const Impl* impl = nullptr;
    bool recorded = false;
    AnswerCheck check; ///< its key: the request's

    /// Called by OpenSSL with the answer's certificate before it sends certConf: checked,
    /// then recorded; only then confirmed.
    static int certConf(OSSL_CMP_CTX* ctx, X509* cert, int failInfo, const char** text)
    {
        auto* e = static_cast<Enrollment*>(OSSL_CMP_CTX_get_certConf_cb_arg(ctx));
        if (!e || !cert)
            return failInfo;
        if (const int refused = e->impl->checkAnswer(ctx, cert, failInfo, e->check, text); refused != 0)
            return refused;
        if (auto r = (*e->record)(e->check.chain.first()); !r)
            return e->check.refuse(
                QStringLiteral("the station could not record the upstream's certificate: ") + r.error().text(),
                failInfo, OSSL_CMP_PKIFAILUREINFO_systemUnavail, text);
        e->recorded = true;
        return 0;
    }
};

CmpClient::CmpClient(std::unique_ptr<Impl> impl)
    : d(std::move(impl))
{
}

CmpClient::~CmpClient() = default;

Result<std::unique_ptr<CmpClient>> CmpClient::create(const CmpIdentity& identity, const CmpOptions& options)
{
    auto d = std::make_unique<Impl>();
    d->identity = identity;
    d->options = options;
    if (!identity.raKey)
        return fail(ErrorCode::NotInitialized, QStringLiteral("There is no RA key; run \"imprintctl ra keygen\"."));
    if (identity.raChain.isEmpty())
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("The RA key has no certificate; run \"imprintctl ra csr\" and \"imprintctl ra import\"."));
    if (identity.anchors.isEmpty())
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("The upstream's trust anchors are not set; run \"imprintctl upstream configure\"."));
    auto key = signerKey(identity.raKey);
    if (!key)
        return std::unexpected(key.error());
    d->raKey = std::move(*key);
    auto cert = ossl::certFromDer(identity.raChain.first());
    if (!cert)
        return std::unexpected(cert.error());
    d->raCert = std::move(*cert);
    d->raIssuers.reset(sk_X509_new_null());
    for (qsizetype i = 1; i < identity.raChain.size(); ++i) {
        if (auto c = ossl::certFromDer(identity.raChain[i]))
            sk_X509_push(d->raIssuers.get(), c->release());
    }
    if (auto r = d->setUp(); !r)
        return std::unexpected(r.error());
    return std::unique_ptr<CmpClient>(new CmpClient(std::move(d)));
}

Result<void> CmpClient::pinSigner(const CmpSignerPin& pin)
{
    ossl::Cert signer;
    ossl::Name sender;
    QStringList words;
    if (!pin.certificate.isEmpty()) {
        auto cert = ossl::certFromDer(pin.certificate);
        if (!cert)
            return fail(ErrorCode::BadInput, QStringLiteral("The pinned upstream signer is not a certificate."),
                cert.error().detail);
        signer = std::move(*cert);
        words << QStringLiteral("signed by the pinned upstream signer \"%1\" (sha256 %2, [upstream] server-cert)")
                     .arg(ossl::nameToString(X509_get_subject_name(signer.get())), ossl::sha256Hex(pin.certificate));
    }
    if (!pin.name.isEmpty()) {
        auto entries = parseName(pin.name);
        if (!entries)
            return std::unexpected(entries.error());
        auto name = makeName(*entries);
        if (!name)
            return std::unexpected(name.error());
        sender = std::move(*name);
        words << QStringLiteral("sent by \"%1\" ([upstream] server-name)").arg(ossl::nameToString(sender.get()));
    }
    d->pinnedSigner = std::move(signer);
    d->pinnedSender = std::move(sender);
    d->pinText = words.join(QStringLiteral(" and "));
    return {};
}

Result<void> CmpClient::checkSignerPin(const QList<QByteArray>& anchors, const QList<QByteArray>& signerChain)
{
    auto cert = ossl::certFromDer(signerChain.value(0));
    if (!cert)
        return fail(ErrorCode::BadInput, QStringLiteral("The upstream signer to pin is not a certificate."),
            cert.error().detail);
    ossl::CertStack issuers { sk_X509_new_null() };
    for (qsizetype i = 1; i < signerChain.size(); ++i) {
        if (auto c = ossl::certFromDer(signerChain[i]))
            sk_X509_push(issuers.get(), c->release());
    }
    Impl d;
    d.identity.anchors = anchors;
    if (auto r = d.loadAnchors(); !r)
        return r;
    if (QString why; !d.verifies(cert->get(), issuers.get(), &why))
        return fail(ErrorCode::BadInput,
            QStringLiteral("The upstream signer \"%1\" does not verify to the upstream's trust anchors.")
                .arg(ossl::nameToString(X509_get_subject_name(cert->get()))),
            why);
    return {};
}

Result<void> CmpClient::Impl::loadAnchors()
{
    anchors.reset(X509_STORE_new());
    for (const QByteArray& der : identity.anchors) {
        auto anchor = ossl::certFromDer(der);
        if (!anchor)
            return fail(ErrorCode::BadInput, QStringLiteral("An upstream trust anchor is not a certificate."));
        X509_STORE_add_cert(anchors.get(), anchor->get());
    }
    X509_STORE_set_flags(anchors.get(), X509_V_FLAG_X509_STRICT);
    return {};
}

Result<void> CmpClient::Impl::setUp()
{
    if (auto r = loadAnchors(); !r)
        return r;
    if (!options.recipient.isEmpty()) {
        auto entries = parseName(options.recipient);
        if (!entries)
            return std::unexpected(entries.error());
        auto name = makeName(*entries);
        if (!name)
            return std::unexpected(name.error());
        recipient = std::move(*name);
    }
    auto opened = HttpTransport::open(options.url, identity.anchors, options.connectTimeoutS);
    if (!opened)
        return std::unexpected(opened.error());
    transport = std::move(*opened);
    return {};
}

void CmpClient::EnrollmentDeleter::operator()(Enrollment* e) const
{
    delete e;
}

Result<CmpClient::EnrollmentPtr> CmpClient::enrollment(const QByteArray& requestDer)
{
    // Checked when it was signed; here only carried into the p10cr.
    auto read = ossl::requestToPassOn(requestDer);
    if (!read)
        return fail(ErrorCode::BadInput, QStringLiteral("The stored request is not a PKCS#10 request."));
    ossl::Req req = std::move(*read);
    auto ctx = d->context();
    if (!ctx)
        return std::unexpected(ctx.error());
    EnrollmentPtr e { new Enrollment };
    e->check.key = ossl::publicKeyDer(X509_REQ_get_X509_PUBKEY(req.get()));
    e->check.whose = QStringLiteral("device's");
    e->impl = d.get();
    if (OSSL_CMP_CTX_set1_p10CSR(ctx->get(), req.get()) != 1
        || OSSL_CMP_CTX_set_certConf_cb(ctx->get(), Enrollment::certConf) != 1
        || OSSL_CMP_CTX_set_certConf_cb_arg(ctx->get(), e.get()) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not set up the certificate request."));
    e->ctx = std::move(*ctx);
    return e;
}

CmpAnswer CmpClient::step(Enrollment& e, const Record& record)
{
    // An enrollment the upstream made wait may be polled by another client than the one that
    // sent it: its messages go over this one's connection.
    e.record = &record;
    e.impl = d.get();
    (void)OSSL_CMP_CTX_set_transfer_cb_arg(e.ctx.get(), d.get());
    d->answered = false;
    int checkAfter = 0;
    ERR_clear_error();
    const int r = OSSL_CMP_try_certreq(e.ctx.get(), OSSL_CMP_P10CR, nullptr, &checkAfter);
    e.record = nullptr;
    CmpAnswer a;
    if (r == 1) {
        a.kind = CmpAnswer::Kind::Done;
        a.certificate = e.check.chain.value(0);
        a.status = statusOf(e.ctx.get());
        return a;
    }
    if (r == -1) {
        a.kind = CmpAnswer::Kind::Waiting;
        a.checkAfterS = std::max(checkAfter, 1);
        a.status = statusOf(e.ctx.get());
        return a;
    }
    if (e.recorded) { // recorded, then the confirmation went wrong
        ERR_clear_error();
        a.kind = CmpAnswer::Kind::Answered;
        a.certificate = e.check.chain.value(0);
        a.error = QStringLiteral("The upstream's certificate is recorded, but its confirmation was not acknowledged.");
        return a;
    }
    if (!e.check.refused.isEmpty()) {
        ERR_clear_error();
        a.kind = CmpAnswer::Kind::Refused;
        a.error = QStringLiteral("The upstream's answer was not accepted: %1.").arg(e.check.refused);
        return a;
    }
    return d->failure(e.ctx.get(), QStringLiteral("certificate request"));
}

CmpAnswer CmpClient::revoke(const QByteArray& certificateDer, int reason)
{
    auto cert = ossl::certFromDer(certificateDer);
    auto ctx = d->context();
    if (!cert || !ctx) {
        CmpAnswer a;
        a.kind = CmpAnswer::Kind::Refused;
        a.error = QStringLiteral("The upstream certificate to revoke could not be read.");
        return a;
    }
    d->answered = false;
    ERR_clear_error();
    if (OSSL_CMP_CTX_set1_oldCert(ctx->get(), cert->get()) == 1 && d->keepRecipient(ctx->get(), cert->get())
        && OSSL_CMP_CTX_set_option(ctx->get(), OSSL_CMP_OPT_REVOCATION_REASON, reason) == 1
        && OSSL_CMP_exec_RR_ses(ctx->get()) == 1) {
        CmpAnswer a;
        a.kind = CmpAnswer::Kind::Done;
        a.status = statusOf(ctx->get());
        return a;
    }
    return d->failure(ctx->get(), QStringLiteral("revocation"));
}

Result<QByteArray> CmpClient::requestMessage(const QByteArray& requestDer)
{
    auto e = enrollment(requestDer);
    if (!e)
        return std::unexpected(e.error());
    d->capture = true;
    d->captured.clear();
    int checkAfter = 0;
    (void)OSSL_CMP_try_certreq((*e)->ctx.get(), OSSL_CMP_P10CR, nullptr, &checkAfter);
    d->capture = false;
    ERR_clear_error();
    if (d->captured.isEmpty())
        return fail(ErrorCode::Crypto, QStringLiteral("Could not make the CMP request message."));
    return d->captured;
}

Result<QByteArray> CmpClient::revocationMessage(const QByteArray& certificateDer, int reason)
{
    auto cert = ossl::certFromDer(certificateDer);
    if (!cert)
        return std::unexpected(cert.error());
    auto ctx = d->context();
    if (!ctx)
        return std::unexpected(ctx.error());
    d->capture = true;
    d->captured.clear();
    if (OSSL_CMP_CTX_set1_oldCert(ctx->get(), cert->get()) == 1 && d->keepRecipient(ctx->get(), cert->get())
        && OSSL_CMP_CTX_set_option(ctx->get(), OSSL_CMP_OPT_REVOCATION_REASON, reason) == 1)
        (void)OSSL_CMP_exec_RR_ses(ctx->get());
    d->capture = false;
    ERR_clear_error();
    if (d->captured.isEmpty())
        return fail(ErrorCode::Crypto, QStringLiteral("Could not make the CMP revocation message."));
    return d->captured;
}

Result<QList<QByteArray>> CmpClient::enrollRaKey(const CmpOptions& options, const QList<QByteArray>& anchors,
    std::shared_ptr<Signer> raKey, const QString& subject, const QByteArray& reference, const Secret& secret)
{
    Impl d;
    d.identity.anchors = anchors;
    d.options = options;
    if (anchors.isEmpty())
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("The upstream's trust anchors are not set; run \"imprintctl upstream configure\"."));
    if (auto r = d.setUp(); !r)
        return std::unexpected(r.error());
    const QByteArray raSpki = raKey->publicKey();
    auto key = signerKey(std::move(raKey));
    if (!key)
        return std::unexpected(key.error());
    auto entries = parseName(subject);
    if (!entries)
        return std::unexpected(entries.error());
    auto name = makeName(*entries);
    if (!name)
        return std::unexpected(name.error());
    auto ctx = d.context();
    if (!ctx)
        return std::unexpected(ctx.error());
    // The answer is checked before it is confirmed: a certificate for another key, or one
    // the anchors do not vouch for, gets a negative certConf.
    struct Check {
        const Impl* impl;
        AnswerCheck answer;
    } check { &d, AnswerCheck { raSpki, QStringLiteral("RA key"), {}, {}, {} } };
    auto certConf = [](OSSL_CMP_CTX* c, X509* cert, int failInfo, const char** text) -> int {
        auto* k = static_cast<Check*>(OSSL_CMP_CTX_get_certConf_cb_arg(c));
        return k && cert ? k->impl->checkAnswer(c, cert, failInfo, k->answer, text) : failInfo;
    };
    if (OSSL_CMP_CTX_set1_referenceValue(ctx->get(), reinterpret_cast<const unsigned char*>(reference.constData()),
            static_cast<int>(reference.size()))
            != 1
        || OSSL_CMP_CTX_set1_secretValue(
               ctx->get(), reinterpret_cast<const unsigned char*>(secret.data()), static_cast<int>(secret.size()))
            != 1
        || OSSL_CMP_CTX_set1_subjectName(ctx->get(), name->get()) != 1
        || OSSL_CMP_CTX_set_certConf_cb(ctx->get(), certConf) != 1
        || OSSL_CMP_CTX_set_certConf_cb_arg(ctx->get(), &check) != 1)
        return ossl::cryptoFail(QStringLiteral("Could not set up the RA's enrollment."));
    EVP_PKEY_up_ref(key->get());
    if (OSSL_CMP_CTX_set0_newPkey(ctx->get(), 1, key->get()) != 1) {
        EVP_PKEY_free(key->get());
        return ossl::cryptoFail(QStringLiteral("Could not set up the RA's enrollment."));
    }
    ERR_clear_error();
    X509* issued = OSSL_CMP_exec_IR_ses(ctx->get());
    if (!check.answer.refused.isEmpty())
        return fail(ErrorCode::VerificationFailed,
            QStringLiteral("The upstream's answer was not accepted: %1; nothing was installed.")
                .arg(check.answer.refused));
    if (!issued || check.answer.chain.isEmpty()) {
        const CmpAnswer a = d.failure(ctx->get(), QStringLiteral("RA enrollment"));
        return fail(a.kind == CmpAnswer::Kind::Rejected ? ErrorCode::DeviceRefused : ErrorCode::Io, a.error);
    }
    return check.answer.chain;
}

int CmpClient::connections() const
{
    return d->transport->connections();
}

Result<std::unique_ptr<CmpClient>> CmpClient::clone() const
{
    auto c = std::make_unique<Impl>();
    c->identity = d->identity;
    c->options = d->options;
    EVP_PKEY_up_ref(d->raKey.get());
    c->raKey.reset(d->raKey.get());
    X509_up_ref(d->raCert.get());
    c->raCert.reset(d->raCert.get());
    c->raIssuers.reset(X509_chain_up_ref(d->raIssuers.get()));
    if (d->pinnedSigner) {
        X509_up_ref(d->pinnedSigner.get());
        c->pinnedSigner.reset(d->pinnedSigner.get());
    }
    if (d->recipient)
        c->recipient.reset(X509_NAME_dup(d->recipient.get()));
    if (d->pinnedSender)
        c->pinnedSender.reset(X509_NAME_dup(d->pinnedSender.get()));
    c->pinText = d->pinText;
    X509_STORE_up_ref(d->anchors.get());
    c->anchors.reset(d->anchors.get());
    auto opened = HttpTransport::open(c->options.url, c->identity.anchors, c->options.connectTimeoutS);
    if (!opened)
        return std::unexpected(opened.error());
    c->transport = std::move(*opened);
    return std::unique_ptr<CmpClient>(new CmpClient(std::move(c)));
}

} // namespace imprint::core
