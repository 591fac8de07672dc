#pragma once

// imprint-devcheck: the station's side of core/device/PROTOCOL.md played against one device,
// rule by rule, for device makers. It signs only with a throwaway CA of its own, made in
// memory for the run.

#include "device/DeviceTransport.h"
#include "device/Frame.h"
#include "device/Protocol.h"
#include "domain/DeviceIdentity.h"

#include <QByteArray>
#include <QCborMap>
#include <QList>
#include <QString>

#include <array>
#include <functional>
#include <optional>

namespace imprint::devcheck {

enum class Verdict {
    Pass,
    Fail,
    Blocked, ///< not run: a rule it depends on failed
    Skipped, ///< not run: needs an option (--lock) or a capability the device does not claim
};

QString verdictName(Verdict v);

struct Rule {
    QString section; ///< of PROTOCOL.md
    QString id; ///< stable, for scripts
    QString text; ///< what the document requires
    Verdict verdict = Verdict::Blocked;
    QString detail; ///< what the device did, when it failed; why, when not run
};

struct Options {
    QString port;
    int timeoutMs = 3000; ///< every operation but key generation
    int keygenTimeoutMs = 60000;
    int quietMs = 1000; ///< how long "no answer" is waited for
    bool lock = false; ///< run the rules that lock the device (final)
    QString serial; ///< for a device with no serial yet: the one set-serial gives it (once, for good)
};

/// One device's answer to one request.
struct Answer {
    bool arrived = false;
    QString problem; ///< the link failed, the answer was malformed or for another seq
    QByteArray payload; ///< the response as sent (for comparing repeats)
    core::protocol::Response response;

    bool ok() const { return arrived && problem.isEmpty() && response.ok; }
    /// "ok", an error code, or what went wrong, for a rule's detail.
    QString summary() const;
};

class DeviceCheck {
public:
    explicit DeviceCheck(Options options);
    ~DeviceCheck();

    /// Runs every rule; false when the port could not be opened (`error` says why).
    bool run(QString* error);
    /// identify only: the device's answer body, or empty with `error`.
    std::optional<QCborMap> identifyOnly(QString* error);

    const QList<Rule>& rules() const { return m_rules; }
    bool passed() const;

private:
    bool open(QString* error);
    /// Sends `wire` and waits up to `timeoutMs` for the next good frame.
    std::optional<QByteArray> exchange(const QByteArray& wire, int timeoutMs);
    Answer call(const QString& op, const QCborMap& args = {}, int timeoutMs = -1);
    /// Sends a request frame with a seq of the caller's choice (for repeats).
    Answer send(const QByteArray& wire, quint64 seq, int timeoutMs);
    QByteArray requestFrame(const QString& op, const QCborMap& args, quint64 seq) const;
    /// True when nothing at all arrives within quietMs after `wire`.
    bool silentAfter(const QByteArray& wire);

    Rule& rule(const QString& id);
    void pass(const QString& id);
    void failRule(const QString& id, const QString& detail);
    void skip(const QString& id, const QString& why);
    /// Every rule not decided yet is blocked by `why`.
    void blockRest(const QString& why);

    bool identify(const QList<int>& versions, Answer* answer = nullptr);
    void checkFraming();
    void checkBlankTable();
    bool checkKeygen();
    bool checkInjection();
    bool checkInstall();
    /// The replies of a keyed or certified device to what 5.3 refuses there; the wrong ones.
    QStringList stateReplies(const QString& state);
    /// One row of the state table (5.3): an operation and the error it must get.
    struct Expected {
        QString op;
        QCborMap args;
        QString code;
        bool applies = true; ///< false: the device does not claim what the row needs
    };
    /// Sends each row that applies; the replies that differ, for a rule's detail.
    QStringList wrongReplies(const QList<Expected>& table, const QString& state);
    void checkReadBack();
    void checkChallenge();
    void checkLock();

    Options m_options;
    core::DeviceTransport* m_transport = nullptr;
    core::frame::Decoder m_decoder;
    QList<QByteArray> m_frames; ///< good frames received, not yet taken
    QString m_linkError;
    quint64 m_seq;
    core::DeviceIdentity m_device;
    QList<Rule> m_rules;
    QByteArray m_csr; ///< the device's current key's request
    QByteArray m_cert; ///< the certificate installed
    QByteArray m_caCert;
    std::function<QByteArray(const QByteArray& spki)> m_issue; ///< a certificate for a key, by the throwaway CA
};

} // namespace imprint::devcheck
