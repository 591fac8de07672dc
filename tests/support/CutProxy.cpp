#include "CutProxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace imprint::test {

struct CutProxy::Pair {
    int client = -1;
    int server = -1;
    qint64 cutAfter = -1;
    std::atomic<qint64> fromClient { 0 };
    std::atomic<bool> cut { false };
    ~Pair()
    {
        ::close(client);
        ::close(server);
    }
};

namespace {

sockaddr_in loopback(quint16 port)
{
    sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

bool writeAll(int fd, const char* data, ssize_t length)
{
    while (length > 0) {
        const ssize_t n = ::send(fd, data, static_cast<size_t>(length), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        length -= n;
    }
    return true;
}

} // namespace

CutProxy::CutProxy(quint16 targetPort)
    : m_target(targetPort)
{
    m_listen = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0);
    socklen_t length = sizeof a;
    if (m_listen < 0 || ::bind(m_listen, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(m_listen, 16) != 0
        || ::getsockname(m_listen, reinterpret_cast<sockaddr*>(&a), &length) != 0) {
        if (m_listen >= 0)
            ::close(m_listen);
        m_listen = -1;
        return;
    }
    m_port = ntohs(a.sin_port);
    m_acceptor = std::thread([this] { accept(); });
}

CutProxy::~CutProxy()
{
    m_stopping = true;
    if (m_listen >= 0) {
        ::shutdown(m_listen, SHUT_RDWR);
        ::close(m_listen);
    }
    if (m_acceptor.joinable())
        m_acceptor.join();
    {
        std::lock_guard lock(m_mutex);
        for (const auto& p : m_pairs) {
            ::shutdown(p->client, SHUT_RDWR);
            ::shutdown(p->server, SHUT_RDWR);
        }
    }
    for (auto& t : m_threads)
        t.join();
}

void CutProxy::accept()
{
    while (!m_stopping) {
        const int client = ::accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        auto pair = std::make_shared<Pair>();
        pair->client = client;
        pair->cutAfter = m_cutAfter;
        pair->server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const sockaddr_in a = loopback(m_target);
        if (pair->server < 0 || ::connect(pair->server, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0)
            continue; // the pair closes both
        std::lock_guard lock(m_mutex);
        m_pairs.push_back(pair);
        m_threads.emplace_back([this, pair] { relay(pair, true); });
        m_threads.emplace_back([this, pair] { relay(pair, false); });
    }
}

void CutProxy::relay(const std::shared_ptr<Pair>& pair, bool fromClient)
{
    const int in = fromClient ? pair->client : pair->server;
    const int out = fromClient ? pair->server : pair->client;
    char buffer[16384];
    for (;;) {
        const ssize_t n = ::recv(in, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || pair->cut)
            break;
        if (fromClient && pair->cutAfter >= 0 && pair->fromClient + n > pair->cutAfter) {
            // Cut: what was read is dropped, and nothing more passes either way. The sockets
            // stay open; the reading goes on only to notice the relay's end.
            pair->cut = true;
            ++m_cut;
            while (!m_stopping && ::recv(in, buffer, sizeof buffer, 0) > 0) { }
            return;
        }
        pair->fromClient += fromClient ? n : 0;
        if (!writeAll(out, buffer, n))
            break;
    }
    if (!pair->cut)
        ::shutdown(out, SHUT_WR);
}

} // namespace imprint::test
