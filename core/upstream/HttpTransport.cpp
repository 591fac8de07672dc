#include "upstream/HttpTransport.h"

#include "pki/OpenSsl.h"

#include <openssl/err.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace imprint::core {

namespace {

/// Largest answer accepted (a certificate, its chain and the protection fit many times over).
constexpr size_t MaxAnswer = 1024 * 1024;

void freeOpenSslString(char* p)
{
    OPENSSL_free(p);
}
using OwnedString = std::unique_ptr<char, ossl::Deleter<freeOpenSslString>>;

} // namespace

Result<std::unique_ptr<HttpTransport>> HttpTransport::open(
    const QString& url, const QList<QByteArray>& anchors, int connectTimeoutS)
{
    int useTls = 0;
    char* host = nullptr;
    char* port = nullptr;
    char* path = nullptr;
    if (OSSL_HTTP_parse_url(url.toUtf8().constData(), &useTls, nullptr, &host, &port, nullptr, &path, nullptr, nullptr)
        != 1)
        return fail(ErrorCode::BadInput,
            QStringLiteral("The upstream URL \"%1\" is not an http:// or https:// URL.").arg(url), ossl::drainErrors());
    OwnedString ownedHost { host }, ownedPort { port }, ownedPath { path };
    std::unique_ptr<HttpTransport> t(new HttpTransport);
    t->m_host = host;
    t->m_port = port;
    t->m_path = path;
    t->m_connectTimeoutS = connectTimeoutS;
    if (useTls) {
        t->m_ssl = SSL_CTX_new(TLS_client_method());
        if (!t->m_ssl)
            return ossl::cryptoFail(QStringLiteral("Could not set up TLS."));
        SSL_CTX_set_verify(t->m_ssl, SSL_VERIFY_PEER, nullptr);
        X509_STORE* store = SSL_CTX_get_cert_store(t->m_ssl);
        for (const QByteArray& der : anchors) {
            if (auto c = ossl::certFromDer(der))
                X509_STORE_add_cert(store, c->get());
        }
        SSL_CTX_set_default_verify_paths(t->m_ssl);
    }
    return t;
}

HttpTransport::~HttpTransport()
{
    if (m_http)
        OSSL_HTTP_close(m_http, 1);
    SSL_CTX_free(m_ssl);
}

std::optional<QByteArray> HttpTransport::post(const QByteArray& message, int timeoutS)
{
    if (m_http && !idleAndOpen()) {
        OSSL_HTTP_close(m_http, 0);
        m_http = nullptr;
    }
    m_connectFailed = false;
    if (!m_http) {
        // Connected first, under a time limit of its own: an upstream that cannot be reached
        // is known in seconds, whatever the message timeout.
        ++m_connections;
        m_http = OSSL_HTTP_open(m_host.constData(), m_port.constData(), nullptr, nullptr, m_ssl ? 1 : 0, nullptr,
            nullptr, connectCallback, this, 0, m_connectTimeoutS);
        if (!m_http) {
            m_connectFailed = true;
            m_socket = -1;
            return std::nullopt;
        }
    }
    ossl::Bio req { BIO_new_mem_buf(message.constData(), static_cast<int>(message.size())) };
    BIO* rsp = OSSL_HTTP_transfer(&m_http, m_host.constData(), m_port.constData(), m_path.constData(), m_ssl ? 1 : 0,
        nullptr, nullptr, nullptr, nullptr, connectCallback, this, 0, nullptr, "application/pkixcmp", req.get(),
        "application/pkixcmp", 1, MaxAnswer, timeoutS, 1);
    if (rsp) {
        char* data = nullptr;
        const long size = BIO_get_mem_data(rsp, &data);
        QByteArray body(data, static_cast<qsizetype>(size));
        BIO_free(rsp);
        return body;
    }
    if (m_http) {
        OSSL_HTTP_close(m_http, 0);
        m_http = nullptr;
    }
    m_socket = -1;
    return std::nullopt;
}

bool HttpTransport::idleAndOpen() const
{
    // Open, and nothing to read while no request is out (a closed peer reads as readable).
    if (m_socket < 0)
        return false;
    pollfd p { m_socket, POLLIN, 0 };
    return ::poll(&p, 1, 0) == 0;
}

BIO* HttpTransport::connectCallback(BIO* bio, void* arg, int connect, int detail)
{
    // On connect: no Nagle delay (a request goes out as header and body, and would wait for
    // the peer's delayed ACK), and TLS for https.
    auto* self = static_cast<HttpTransport*>(arg);
    if (connect) {
        int fd = -1;
        if (BIO_get_fd(bio, &fd) > 0 && fd >= 0) {
            const int on = 1;
            (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            self->m_socket = fd;
        }
    } else {
        self->m_socket = -1;
    }
    return self->m_ssl ? self->tls(bio, connect, detail) : bio;
}

BIO* HttpTransport::tls(BIO* bio, int connect, int detail)
{
    // Wraps the connection in TLS on connect (the server's certificate must verify and name
    // the URL's host), and unwraps it on disconnect.
    if (connect && detail) {
        BIO* sbio = BIO_new_ssl(m_ssl, 1);
        SSL* ssl = nullptr;
        if (!sbio || BIO_get_ssl(sbio, &ssl) <= 0 || !ssl) {
            BIO_free(sbio);
            return nullptr;
        }
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, m_host.data());
        SSL_set1_host(ssl, m_host.constData());
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

} // namespace imprint::core
