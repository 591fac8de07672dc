#include "upstream/CmpClient.h"

#include "pki/CertificateBuilder.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "pki/SignerKey.h"

#include <openssl/cmp.h>
#include <openssl/err.h>
#include <openssl/http.h>
#include <openssl/ssl.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace imprint::core {

namespace {

using CmpCtx = std::unique_ptr<OSSL_CMP_CTX, ossl::Deleter<OSSL_CMP_CTX_free>>;
using CmpMsg = std::unique_ptr<OSSL_CMP_MSG, ossl::Deleter<OSSL_CMP_MSG_free>>;
using SslCtx = std::unique_ptr<SSL_CTX, ossl::Deleter<SSL_CTX_free>>;

/// Largest answer accepted (a certificate, its chain and the protection fit many times over).
constexpr size_t MaxAnswer = 1024 * 1024;

QString statusOf(const OSSL_CMP_CTX* ctx)
{
    char buf[1024];
    const char* s = OSSL_CMP_CTX_snprint_PKIStatus(ctx, buf, sizeof buf);
    return s ? QString::fromUtf8(s) : QString();
}

void freeOpenSslString(char* p)
{
    OPENSSL_free(p);
}
using OwnedString = std::unique_ptr<char, ossl::Deleter<freeOpenSslString>>;

} // namespace

struct CmpClient::Impl {
    CmpIdentity identity;
    CmpOptions options;
    ossl::PKey raKey;
    ossl::Cert raCert;
    ossl::CertStack raIssuers;
    ossl::Name recipient;
    QByteArray host;
    QByteArray port;
    QByteArray path;
    bool tls = false;
    SslCtx sslCtx;
    OSSL_HTTP_REQ_CTX* http = nullptr; ///< the kept-alive connection, if open
    int socketFd = -1; ///< its socket
    int connections = 0;
    // What the exchange in progress saw.
    bool capture = false;
    QByteArray captured;
    bool answered = false; ///< a response message came back

    ~Impl()
    {
        if (http)
            OSSL_HTTP_close(http, 1);
    }

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

    /// Reads the anchors, the recipient and the URL, and sets up TLS for https.
    Result<void> setUp();

    /// A context for one transaction, with the RA's key and certificate and the anchors.
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
            || OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_MSG_TIMEOUT, options.messageTimeoutS) != 1
            || OSSL_CMP_CTX_set_option(ctx.get(), OSSL_CMP_OPT_TOTAL_TIMEOUT, options.totalTimeoutS) != 1
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
        // A kept connection the upstream has closed meanwhile (or that has anything to read
        // while no request is out) is dropped before the request is written. Once written, a
        // request is never written again here: if its answer does not come, the row fails
        // and the sync decides (the upstream may have acted on it).
        if (http && !idleAndOpen()) {
            OSSL_HTTP_close(http, 0);
            http = nullptr;
        }
        if (!http)
            ++connections;
        ossl::Bio req { BIO_new_mem_buf(message.constData(), static_cast<int>(message.size())) };
        BIO* rsp = OSSL_HTTP_transfer(&http, host.constData(), port.constData(), path.constData(), tls ? 1 : 0, nullptr,
            nullptr, nullptr, nullptr, connectCallback, this, 0, nullptr, "application/pkixcmp", req.get(),
            "application/pkixcmp", 1, MaxAnswer, timeoutS, 1);
        if (rsp) {
            OSSL_CMP_MSG* msg = d2i_OSSL_CMP_MSG_bio(rsp, nullptr);
            BIO_free(rsp);
            answered = msg != nullptr;
            return msg;
        }
        if (http) {
            OSSL_HTTP_close(http, 0);
            http = nullptr;
        }
        socketFd = -1;
        return nullptr;
    }

    /// The kept connection is still open and has nothing to read.
    bool idleAndOpen() const
    {
        if (socketFd < 0)
            return false;
        pollfd p { socketFd, POLLIN, 0 };
        return ::poll(&p, 1, 0) == 0;
    }

    /// On connect: no Nagle delay (a request goes out as header and body, and would wait for
    /// the peer's delayed ACK), and TLS for https.
    static BIO* connectCallback(BIO* bio, void* arg, int connect, int detail)
    {
        auto* self = static_cast<Impl*>(arg);
        if (connect) {
            int fd = -1;
            if (BIO_get_fd(bio, &fd) > 0 && fd >= 0) {
                const int on = 1;
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
                self->socketFd = fd;
            }
        } else {
            self->socketFd = -1;
        }
        if (!self->tls)
            return bio;
        return tlsCallback(bio, arg, connect, detail);
    }

    /// Wraps the HTTP connection in TLS on connect (the server's certificate must verify to
    /// the upstream's anchors or the system's CAs, and name the URL's host), and unwraps it on
    /// disconnect.
    static BIO* tlsCallback(BIO* bio, void* arg, int connect, int detail)
    {
        auto* self = static_cast<Impl*>(arg);
        if (connect && detail) {
            BIO* sbio = BIO_new_ssl(self->sslCtx.get(), 1);
            SSL* ssl = nullptr;
            if (!sbio || BIO_get_ssl(sbio, &ssl) <= 0 || !ssl) {
                BIO_free(sbio);
                return nullptr;
            }
            SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, self->host.data());
            SSL_set1_host(ssl, self->host.constData());
            return BIO_push(sbio, bio);
        }
        if (!connect) {
            BIO_ssl_shutdown(bio);
            BIO* inner = BIO_pop(bio);
            BIO_free(bio);
            return inner;
        }
        return bio;
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
        } else {
            a.kind = CmpAnswer::Kind::Unreachable;
            a.error = QStringLiteral("The upstream CA at %1 could not be reached (%2).").arg(options.url, detail);
        }
        return a;
    }
};

struct CmpClient::Enrollment {
    CmpCtx ctx;
    QByteArray requestKey; ///< the request's SubjectPublicKeyInfo
    const Record* record = nullptr;
    const Impl* impl = nullptr;
    bool recorded = false;
    QByteArray certificate;
    QString refused; ///< why the answer's certificate was not accepted
    QByteArray refusedText;

    /// Called by OpenSSL with the answer's certificate before it sends certConf.
    static int certConf(OSSL_CMP_CTX* ctx, X509* cert, int failInfo, const char** text)
    {
        auto* e = static_cast<Enrollment*>(OSSL_CMP_CTX_get_certConf_cb_arg(ctx));
        if (!e || !cert)
            return failInfo;
        const QByteArray der = ossl::certToDer(cert);
        auto refuse = [&](const QString& why, int bit) {
            e->refused = why;
            e->refusedText = why.toUtf8();
            *text = e->refusedText.constData();
            return failInfo | (1 << bit);
        };
        if (ossl::publicKeyDer(X509_get0_pubkey(cert)) != e->requestKey)
            return refuse(QStringLiteral("the upstream's certificate is for another key than the device's"),
                OSSL_CMP_PKIFAILUREINFO_incorrectData);
        if (failInfo != 0)
            return refuse(QStringLiteral("OpenSSL's CMP client found the upstream's certificate unacceptable (%1)")
                              .arg(ossl::drainErrors()),
                OSSL_CMP_PKIFAILUREINFO_badCertTemplate);
        ossl::CertStack intermediates { OSSL_CMP_CTX_get1_extraCertsIn(ctx) };
        if (!intermediates)
            intermediates.reset(sk_X509_new_null());
        if (ossl::CertStack caPubs { OSSL_CMP_CTX_get1_caPubs(ctx) }) {
            while (sk_X509_num(caPubs.get()) > 0)
                sk_X509_push(intermediates.get(), sk_X509_pop(caPubs.get()));
        }
        if (QString why; !e->impl->verifies(cert, intermediates.get(), &why))
            return refuse(
                QStringLiteral("the upstream's certificate does not verify to the trusted upstream anchors (%1)")
                    .arg(why),
                OSSL_CMP_PKIFAILUREINFO_signerNotTrusted);
        if (auto r = (*e->record)(der); !r)
            return refuse(
                QStringLiteral("the station could not record the upstream's certificate: ") + r.error().text(),
                OSSL_CMP_PKIFAILUREINFO_systemUnavail);
        e->recorded = true;
        e->certificate = der;
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

Result<void> CmpClient::Impl::setUp()
{
    anchors.reset(X509_STORE_new());
    for (const QByteArray& der : identity.anchors) {
        auto anchor = ossl::certFromDer(der);
        if (!anchor)
            return fail(ErrorCode::BadInput, QStringLiteral("An upstream trust anchor is not a certificate."));
        X509_STORE_add_cert(anchors.get(), anchor->get());
    }
    X509_STORE_set_flags(anchors.get(), X509_V_FLAG_X509_STRICT);
    if (!options.recipient.isEmpty()) {
        auto entries = parseName(options.recipient);
        if (!entries)
            return std::unexpected(entries.error());
        auto name = makeName(*entries);
        if (!name)
            return std::unexpected(name.error());
        recipient = std::move(*name);
    }
    int useTls = 0;
    char* hostPart = nullptr;
    char* portPart = nullptr;
    char* pathPart = nullptr;
    if (OSSL_HTTP_parse_url(options.url.toUtf8().constData(), &useTls, nullptr, &hostPart, &portPart, nullptr,
            &pathPart, nullptr, nullptr)
        != 1)
        return fail(ErrorCode::BadInput,
            QStringLiteral("The upstream URL \"%1\" is not an http:// or https:// URL.").arg(options.url),
            ossl::drainErrors());
    OwnedString ownedHost { hostPart }, ownedPort { portPart }, ownedPath { pathPart };
    host = hostPart;
    port = portPart;
    path = pathPart;
    tls = useTls != 0;
    if (tls) {
        sslCtx.reset(SSL_CTX_new(TLS_client_method()));
        if (!sslCtx)
            return ossl::cryptoFail(QStringLiteral("Could not set up TLS."));
        SSL_CTX_set_verify(sslCtx.get(), SSL_VERIFY_PEER, nullptr);
        X509_STORE* store = SSL_CTX_get_cert_store(sslCtx.get());
        for (const QByteArray& der : identity.anchors) {
            if (auto c = ossl::certFromDer(der))
                X509_STORE_add_cert(store, c->get());
        }
        SSL_CTX_set_default_verify_paths(sslCtx.get());
    }
    return {};
}

void CmpClient::EnrollmentDeleter::operator()(Enrollment* e) const
{
    delete e;
}

Result<CmpClient::EnrollmentPtr> CmpClient::enrollment(const QByteArray& requestDer)
{
    const auto* p = reinterpret_cast<const unsigned char*>(requestDer.constData());
    ossl::Req req { d2i_X509_REQ(nullptr, &p, static_cast<long>(requestDer.size())) };
    if (!req)
        return fail(ErrorCode::BadInput, QStringLiteral("The stored request is not a PKCS#10 request."));
    auto ctx = d->context();
    if (!ctx)
        return std::unexpected(ctx.error());
    EnrollmentPtr e { new Enrollment };
    e->requestKey = ossl::publicKeyDer(X509_REQ_get0_pubkey(req.get()));
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
    e.record = &record;
    d->answered = false;
    int checkAfter = 0;
    ERR_clear_error();
    const int r = OSSL_CMP_try_certreq(e.ctx.get(), OSSL_CMP_P10CR, nullptr, &checkAfter);
    e.record = nullptr;
    CmpAnswer a;
    if (r == 1) {
        a.kind = CmpAnswer::Kind::Done;
        a.certificate = e.certificate;
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
        a.certificate = e.certificate;
        a.error = QStringLiteral("The upstream's certificate is recorded, but its confirmation was not acknowledged.");
        return a;
    }
    if (!e.refused.isEmpty()) {
        ERR_clear_error();
        a.kind = CmpAnswer::Kind::Refused;
        a.error = QStringLiteral("The upstream's answer was not accepted: %1.").arg(e.refused);
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
    if (OSSL_CMP_CTX_set1_oldCert(ctx->get(), cert->get()) == 1
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
    if (OSSL_CMP_CTX_set1_oldCert(ctx->get(), cert->get()) == 1
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
        QByteArray spki;
        QString refused;
        QByteArray text;
        QList<QByteArray> chain;
    } check { &d, raSpki, {}, {}, {} };
    auto certConf = [](OSSL_CMP_CTX* c, X509* cert, int failInfo, const char** text) -> int {
        auto* k = static_cast<Check*>(OSSL_CMP_CTX_get_certConf_cb_arg(c));
        if (!k || !cert)
            return failInfo;
        auto refuse = [&](const QString& why, int bit) {
            k->refused = why;
            k->text = why.toUtf8();
            *text = k->text.constData();
            return failInfo | (1 << bit);
        };
        if (ossl::publicKeyDer(X509_get0_pubkey(cert)) != k->spki)
            return refuse(QStringLiteral("the upstream's certificate is for another key than the RA key"),
                OSSL_CMP_PKIFAILUREINFO_incorrectData);
        if (failInfo != 0)
            return refuse(QStringLiteral("OpenSSL's CMP client found the upstream's certificate unacceptable (%1)")
                              .arg(ossl::drainErrors()),
                OSSL_CMP_PKIFAILUREINFO_badCertTemplate);
        ossl::CertStack intermediates { OSSL_CMP_CTX_get1_extraCertsIn(c) };
        if (!intermediates)
            intermediates.reset(sk_X509_new_null());
        if (ossl::CertStack caPubs { OSSL_CMP_CTX_get1_caPubs(c) }) {
            while (sk_X509_num(caPubs.get()) > 0)
                sk_X509_push(intermediates.get(), sk_X509_pop(caPubs.get()));
        }
        if (QString why; !k->impl->verifies(cert, intermediates.get(), &why))
            return refuse(
                QStringLiteral("the upstream's RA certificate does not verify to the trusted anchors (%1)").arg(why),
                OSSL_CMP_PKIFAILUREINFO_signerNotTrusted);
        k->chain = { ossl::certToDer(cert) };
        for (int i = 0; i < sk_X509_num(intermediates.get()); ++i)
            k->chain << ossl::certToDer(sk_X509_value(intermediates.get(), i));
        return 0;
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
    if (!check.refused.isEmpty())
        return fail(ErrorCode::VerificationFailed,
            QStringLiteral("The upstream's answer was not accepted: %1; nothing was installed.").arg(check.refused));
    if (!issued || check.chain.isEmpty()) {
        const CmpAnswer a = d.failure(ctx->get(), QStringLiteral("RA enrollment"));
        return fail(a.kind == CmpAnswer::Kind::Rejected ? ErrorCode::DeviceRefused : ErrorCode::Io, a.error);
    }
    return check.chain;
}

int CmpClient::connections() const
{
    return d->connections;
}

} // namespace imprint::core
