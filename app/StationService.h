#pragma once

// The station service's local API: one Unix socket, newline-delimited JSON (API.md in the
// README). The kernel says who is calling (SO_PEERCRED, SO_PEERGROUPS), never the client;
// the service decides what each caller may do.

#include "Error.h"
#include "PlantReader.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QHash>
#include <QJsonObject>
#include <QObject>
#include <QPointer>

#include <functional>
#include <memory>
#include <sys/types.h>

class QLocalServer;
class QLocalSocket;
class QTimer;

namespace imprint::core {
class Backoffice;
class SlotJob;
class Station;
struct LineConfig;
} // namespace imprint::core

namespace imprint::app {

struct StationContext;

/// Who is at the other end of a connection, as the kernel vouches for it at connect time.
struct Caller {
    uid_t uid = static_cast<uid_t>(-1);
    pid_t pid = 0;
    QString login; ///< the account's name (or its uid, when it has none)
    bool onLine = false; ///< a member of the line group
    bool owner = false; ///< the service's own account, or root: the data directory is theirs anyway

    /// Reads the peer of a connected Unix socket; `lineGroup` is the group whose members run
    /// the line.
    [[nodiscard]] static core::Result<Caller> ofSocket(int fd, const QString& lineGroup);
};

/// The station service's API: slots, the line's events and the commands of imprintctl, each
/// allowed by who the caller is (the line group) and what credential they gave (QA, admin).
class StationService : public QObject {
    Q_OBJECT
public:
    struct Options {
        QString socketPath;
        QString lineGroup = QStringLiteral("imprint-line");
        QString ctlProgram; ///< imprintctl, run for the commands callers ask for
        QString dataDir;
        bool allowPseudoTerminals = false; ///< ports that are pseudo-terminals (simulated devices)
    };
    StationService(StationContext& ctx, core::Station& station, core::Backoffice& backoffice, Options options,
        QObject* parent = nullptr);
    ~StationService() override;

    /// Listens on the socket (a stale one from a stopped service is replaced).
    [[nodiscard]] core::Result<void> listen();

    /// A slot as the API shows it.
    [[nodiscard]] static QJsonObject slotJson(const core::SlotJob& job, const core::LineConfig& line);

private:
    enum class Role { None, Operator, Qa, Admin };
    struct Client;

    void accept();
    void readFrom(Client* c);
    void handle(Client* c, const QJsonObject& request);
    void send(Client* c, const QJsonObject& message);
    void reply(Client* c, const QJsonValue& id, const QJsonObject& result);
    void fail(Client* c, const QJsonValue& id, const QString& code, const QString& message);
    /// A read that failed: "not-found" when nothing is recorded, else "unavailable".
    void failWith(Client* c, const QJsonValue& id, const core::Error& error);
    /// Refuses a request in plain words and records the refusal in the audit log.
    void refuse(Client* c, const QJsonValue& id, const QString& what, const QString& needs, bool answer = true);
    void broadcast(const QJsonObject& event);
    void drop(Client* c);

    void lineSnapshot(Client* c, const QJsonValue& id);
    void addSlot(Client* c, const QJsonValue& id, const QJsonObject& params);
    /// Why `port` may not be a slot for this caller, or empty (`checked`: the path to keep).
    QString portRefusal(const Client* c, const QString& port, QString* checked) const;
    /// The caller takes over the line (recorded, at most every few seconds an account).
    void takeOver(Client* c, const QString& name);
    void slotAct(Client* c, const QJsonValue& id, const QString& method, const QJsonObject& params);
    void scan(Client* c, const QJsonValue& id, const QJsonObject& params);
    void signIn(Client* c, const QJsonValue& id, const QJsonObject& params);
    void failPaused(Client* c, const QJsonValue& id, const QString& role, const QDateTime& until, int failures);
    void runCommand(Client* c, const QJsonValue& id, const QJsonObject& params);
    void qaDesk(Client* c, const QJsonValue& id, const QString& method, const QJsonObject& params);
    void pushFigures();
    void runNext();
    /// Records a refusal of a caller outside the line group: once a minute per account at
    /// most, with how many came since, so that a script that loops cannot fill the log.
    void recordOutsider(const Caller& caller, const QString& what);
    void shiftFigures(std::function<void(QJsonObject)> done);
    void health(std::function<void(QJsonObject)> done);

    StationContext& m_ctx;
    core::Station& m_station;
    core::Backoffice& m_backoffice;
    PlantReader m_plantReader; ///< QA's reads of the plant record, with the service's password
    Options m_options;
    QLocalServer* m_server = nullptr;
    QTimer* m_figures = nullptr;
    QList<Client*> m_clients;
    struct Queued {
        QPointer<QLocalSocket> socket;
        Client* client;
        QJsonValue id;
        QStringList args;
        QString cwd;
    };
    QList<Queued> m_queue; ///< commands waiting: one runs at a time
    bool m_running = false;
    struct Outsider {
        QDateTime recorded;
        int since = 0;
        int inWindow = 0;
    };
    QHash<uid_t, Outsider> m_outsiders;
    QHash<uid_t, Outsider> m_refused; ///< refusals of callers on the line, per account
    QHash<uid_t, QElapsedTimer> m_operatorChanged;
    QHash<QString, QDateTime> m_pausedUntil; ///< sign-ins paused, per role and account, as last checked
    QJsonObject m_lastShift;
    QJsonObject m_lastHealth;
};

} // namespace imprint::app
