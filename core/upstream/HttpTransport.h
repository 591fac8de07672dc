#pragma once

// The way CMP messages travel to the upstream: one kept-alive HTTP (RFC 6712) or HTTPS
// connection, on OpenSSL's HTTP client.

#include "Error.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <openssl/http.h>
#include <openssl/ssl.h>

#include <memory>
#include <optional>

namespace imprint::core {

class HttpTransport {
public:
    /// For `url` (http:// or https://); an HTTPS server's certificate must verify to
    /// `anchors` or the system's CAs and name the URL's host. A connection (TLS included) that
    /// takes longer than `connectTimeoutS` fails.
    [[nodiscard]] static Result<std::unique_ptr<HttpTransport>> open(
        const QString& url, const QList<QByteArray>& anchors, int connectTimeoutS = 5);
    ~HttpTransport();
    HttpTransport(const HttpTransport&) = delete;
    HttpTransport& operator=(const HttpTransport&) = delete;

    /// POSTs one DER message and returns the answer's body; nothing on failure (the reason
    /// is left on OpenSSL's error queue). A connection the upstream closed meanwhile is
    /// noticed before the message is written; once written, a message is never written again.
    [[nodiscard]] std::optional<QByteArray> post(const QByteArray& message, int timeoutS);

    /// Connections opened so far (one, while the upstream keeps it alive).
    [[nodiscard]] int connections() const { return m_connections; }
    /// The last post failed before a connection was made (refused, no route, connect timeout).
    [[nodiscard]] bool connectFailed() const { return m_connectFailed; }
    [[nodiscard]] int connectTimeoutS() const { return m_connectTimeoutS; }
    [[nodiscard]] QString hostPort() const { return QString::fromUtf8(m_host) + u':' + QString::fromUtf8(m_port); }

private:
    HttpTransport() = default;
    bool idleAndOpen() const;
    static BIO* connectCallback(BIO* bio, void* arg, int connect, int detail);
    BIO* tls(BIO* bio, int connect, int detail);

    QByteArray m_host;
    QByteArray m_port;
    QByteArray m_path;
    SSL_CTX* m_ssl = nullptr; ///< for https
    OSSL_HTTP_REQ_CTX* m_http = nullptr; ///< the kept-alive connection, if open
    int m_socket = -1;
    int m_connections = 0;
    int m_connectTimeoutS = 5;
    bool m_connectFailed = false;
};

} // namespace imprint::core
