#pragma once

#include <QtGlobal>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace imprint::test {

/// A TCP relay on loopback to a server's port, whose network can be cut without a word: a
/// connection that has carried a set number of bytes from its client stops passing anything,
/// either way, its sockets kept open (as a firewall that starts dropping packets: no reset,
/// no end). Connections made after heal() pass everything; those cut stay cut until the
/// relay is gone.
class CutProxy {
public:
    explicit CutProxy(quint16 targetPort);
    ~CutProxy();
    CutProxy(const CutProxy&) = delete;
    CutProxy& operator=(const CutProxy&) = delete;

    [[nodiscard]] bool ok() const { return m_listen >= 0; }
    [[nodiscard]] quint16 port() const { return m_port; }
    /// Connections made from now on are cut once their client has sent `clientBytes`.
    void cutAfter(qint64 clientBytes) { m_cutAfter = clientBytes; }
    void heal() { m_cutAfter = -1; }
    /// Connections cut so far.
    [[nodiscard]] int cut() const { return m_cut; }

private:
    struct Pair;
    void accept();
    void relay(const std::shared_ptr<Pair>& pair, bool fromClient);

    quint16 m_target;
    quint16 m_port = 0;
    int m_listen = -1;
    std::atomic<qint64> m_cutAfter { -1 };
    std::atomic<int> m_cut { 0 };
    std::atomic<bool> m_stopping { false };
    std::mutex m_mutex;
    std::list<std::shared_ptr<Pair>> m_pairs;
    std::list<std::thread> m_threads;
    std::thread m_acceptor;
};

} // namespace imprint::test
