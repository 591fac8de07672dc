#pragma once

#include <QByteArray>

#include <openssl/crypto.h>

namespace imprint::core {

/// A PIN or key held in memory: moved, never copied, and wiped when it goes away.
class Secret {
public:
    Secret() = default;
    explicit Secret(QByteArray bytes)
        : m_bytes(std::move(bytes))
    {
        m_bytes.detach();
    }
    ~Secret() { wipe(); }
    Secret(Secret&& other) noexcept
        : m_bytes(std::exchange(other.m_bytes, {}))
    {
    }
    Secret& operator=(Secret&& other) noexcept
    {
        if (this != &other) {
            wipe();
            m_bytes = std::exchange(other.m_bytes, {});
        }
        return *this;
    }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;

    const char* data() const { return m_bytes.constData(); }
    qsizetype size() const { return m_bytes.size(); }
    bool isEmpty() const { return m_bytes.isEmpty(); }
    /// An independent copy, for the rare holder that must keep the secret (and cleanse it).
    [[nodiscard]] Secret copy() const { return Secret(QByteArray(m_bytes.constData(), m_bytes.size())); }

    void wipe()
    {
        if (!m_bytes.isEmpty())
            OPENSSL_cleanse(m_bytes.data(), static_cast<size_t>(m_bytes.size()));
        m_bytes.clear();
    }

private:
    QByteArray m_bytes;
};

} // namespace imprint::core
