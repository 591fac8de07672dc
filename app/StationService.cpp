#include "StationService.h"

#include "SlotReport.h"
#include "StationContext.h"
#include "StoryJson.h"
#include "cli/Command.h"
#include "engine/Backoffice.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocalServer>
#include <QLocalSocket>
#include <QProcess>
#include <QTimer>

#include <cerrno>
#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace imprint::app {

namespace {

/// A text a caller gives (a badge, a person, why a slot was stopped): printable characters
/// only, at most `max`, so that it cannot carry escape sequences into the records or a terminal.
QString printableName(const QString& name, qsizetype max = 64)
{
    QString out;
    for (const QChar ch : name.trimmed().left(max)) {
        if (ch.isPrint())
            out += ch;
    }
    return out;
}

constexpr qsizetype maxRequestBytes = 1024 * 1024;
/// A client that reads nothing while this much waits for it is dropped: the line never
/// waits for a client.
constexpr qint64 maxPendingBytes = 2 * 1024 * 1024;
/// Connections at once, in all and per account; slots on the line; commands waiting.
constexpr int maxConnections = 128;
constexpr int maxConnectionsPerAccount = 16;
constexpr int maxSlots = 256;
constexpr int maxQueued = 32;
/// A command that runs longer is stopped.
constexpr int commandTimeoutMs = 30 * 60 * 1000;

QString jsonString(const QJsonObject& o, const char* key)
{
    return o.value(QLatin1String(key)).toString();
}

QString loginOf(uid_t uid)
{
    std::vector<char> buffer(16384);
    passwd pw {};
    passwd* found = nullptr;
    if (getpwuid_r(uid, &pw, buffer.data(), buffer.size(), &found) == 0 && found)
        return QString::fromLocal8Bit(found->pw_name);
    return QString::number(uid);
}

std::optional<gid_t> groupId(const QString& name)
{
    std::vector<char> buffer(65536);
    group gr {};
    group* found = nullptr;
    if (getgrnam_r(name.toLocal8Bit().constData(), &gr, buffer.data(), buffer.size(), &found) == 0 && found)
        return found->gr_gid;
    return std::nullopt;
}

QJsonValue optionalTime(const std::optional<QDateTime>& t)
{
    return t && t->isValid() ? QJsonValue(t->toString(Qt::ISODate)) : QJsonValue();
}

} // namespace

core::Result<Caller> Caller::ofSocket(int fd, const QString& lineGroup)
{
    ucred cred {};
    socklen_t length = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0)
        return core::fail(core::ErrorCode::Io, QStringLiteral("Could not tell who is calling."),
            QString::fromLocal8Bit(strerror(errno)));
    Caller c;
    c.uid = cred.uid;
    c.pid = cred.pid;
    c.login = loginOf(cred.uid);
    c.owner = cred.uid == geteuid() || cred.uid == 0;
    // The groups the caller's process had when it connected, from the kernel: a group added
    // to the account later counts from its next login, as everywhere on Linux.
    std::vector<gid_t> groups(64);
    for (;;) {
        socklen_t size = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &size) == 0) {
            groups.resize(size / sizeof(gid_t));
            break;
        }
        if (errno != ERANGE || groups.size() > 65536)
            return core::fail(core::ErrorCode::Io, QStringLiteral("Could not tell the caller's groups."),
                QString::fromLocal8Bit(strerror(errno)));
        groups.resize(std::max<size_t>(size / sizeof(gid_t), groups.size() * 2));
    }
    if (const auto line = groupId(lineGroup))
        c.onLine = cred.gid == *line || std::find(groups.begin(), groups.end(), *line) != groups.end();
    return c;
}

struct StationService::Client {
    QPointer<QLocalSocket> socket;
    Caller caller;
    Role base = Role::None; ///< what the account alone gives
    Role role = Role::None; ///< with the credential given on this connection
    QString person; ///< recorded with every act
    bool subscribed = false;
    int refusals = 0;
    QElapsedTimer lastAct; ///< a signed-in role ends after [roles] idle-minutes without a request
    QByteArray input;
};

StationService::StationService(
    StationContext& ctx, core::Station& station, core::Backoffice& backoffice, Options options, QObject* parent)
    : QObject(parent)
    , m_ctx(ctx)
    , m_station(station)
    , m_backoffice(backoffice)
    , m_plantReader(ctx.config, ctx.chain)
    , m_options(std::move(options))
    , m_server(new QLocalServer(this))
    , m_figures(new QTimer(this))
{
    auto slotEvent = [this](int index) {
        if (index < 0 || index >= m_station.slotJobs().size())
            return;
        broadcast(QJsonObject { { QStringLiteral("event"), QStringLiteral("slot") },
            { QStringLiteral("slot"), slotJson(*m_station.slotJobs().at(index), m_ctx.config.line) } });
    };
    connect(&m_station, &core::Station::slotAdded, this, slotEvent);
    connect(&m_station, &core::Station::slotChanged, this, slotEvent);
    connect(&m_station, &core::Station::operatorChanged, this, [this](const QString& name) {
        broadcast(QJsonObject {
            { QStringLiteral("event"), QStringLiteral("operator") }, { QStringLiteral("operator"), name } });
    });
    // The shift's figures and the station's health go out when they change: after a device
    // finishes, and every few seconds (the upstream, the disk, the token change on their own).
    connect(&m_station, &core::Station::finished, this, &StationService::pushFigures);
    connect(m_figures, &QTimer::timeout, this, &StationService::pushFigures);
    m_figures->start(5000);
    connect(m_server, &QLocalServer::newConnection, this, &StationService::accept);
}

StationService::~StationService()
{
    // Taken first: closing a socket says "disconnected" at once, and drop() must find no
    // client left to delete a second time.
    const QList<Client*> clients = std::exchange(m_clients, {});
    for (Client* c : clients) {
        if (c->socket)
            c->socket->abort();
        delete c;
    }
}

core::Result<void> StationService::listen()
{
    // Who may call is the service's decision, made from the kernel's word on each
    // connection, so the socket itself is open to every local account (a refusal is then
    // recorded, which a closed socket could not do).
    m_server->setSocketOptions(QLocalServer::WorldAccessOption);
    QLocalServer::removeServer(m_options.socketPath);
    if (!m_server->listen(m_options.socketPath))
        return core::fail(core::ErrorCode::Io,
            QStringLiteral("The station service could not listen on %1.").arg(m_options.socketPath),
            m_server->errorString());
    pushFigures();
    return {};
}

QJsonObject StationService::slotJson(const core::SlotJob& job, const core::LineConfig& line)
{
    using Step = core::SlotJob::Step;
    QJsonObject o;
    o[QStringLiteral("slot")] = job.index() + 1;
    o[QStringLiteral("name")] = line.slotName(job.index());
    o[QStringLiteral("port")] = job.port();
    o[QStringLiteral("step")] = core::SlotJob::stepName(job.step());
    o[QStringLiteral("position")] = core::SlotJob::pipelinePosition(job.step());
    o[QStringLiteral("steps")] = core::SlotJob::pipelineSteps();
    o[QStringLiteral("finished")] = job.isFinished();
    o[QStringLiteral("serial")] = job.device().serial;
    o[QStringLiteral("model")] = job.device().model;
    const char* verdict = job.step() == Step::Passed ? "passed"
        : job.step() == Step::Failed                 ? "failed"
        : job.step() == Step::DoneEarlier            ? "done-earlier"
                                                     : nullptr;
    o[QStringLiteral("verdict")] = verdict ? QJsonValue(QLatin1String(verdict)) : QJsonValue();
    if (job.step() == Step::Failed) {
        o[QStringLiteral("code")] = job.failureCode();
        o[QStringLiteral("reason")] = job.failure();
        o[QStringLiteral("failed_step")] = core::SlotJob::stepName(job.failedStep());
    }
    if (!job.certificate().serialHex.isEmpty())
        o[QStringLiteral("certificate")] = QJsonObject { { QStringLiteral("serial"), job.certificate().serialHex },
            { QStringLiteral("sha256"), job.certificate().sha256 } };
    o[QStringLiteral("elapsed_ms")] = job.elapsedMs();
    o[QStringLiteral("step_elapsed_ms")] = job.stepElapsedMs();
    o[QStringLiteral("step_limit_ms")] = job.stepLimitMs();
    o[QStringLiteral("recent_failures")] = job.recentFailures();
    o[QStringLiteral("recent_verdicts")] = job.recentVerdicts();
    if (job.doneEarlierAt().isValid())
        o[QStringLiteral("done_earlier_at")] = job.doneEarlierAt().toString(Qt::ISODateWithMs);
    if (job.isFinished()) {
        // The device's outcome exactly as imprintctl provision prints it.
        o[QStringLiteral("result")] = slotResultJson(job);
        o[QStringLiteral("result_line")] = slotResultLine(job);
    }
    return o;
}

void StationService::accept()
{
    while (QLocalSocket* socket = m_server->nextPendingConnection()) {
        auto caller = Caller::ofSocket(static_cast<int>(socket->socketDescriptor()), m_options.lineGroup);
        if (!caller) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        const auto sameAccount = std::count_if(
            m_clients.begin(), m_clients.end(), [&](const Client* o) { return o->caller.uid == caller->uid; });
        if (m_clients.size() >= maxConnections || sameAccount >= maxConnectionsPerAccount) {
            socket->abort();
            socket->deleteLater();
            continue;
        }
        auto* c = new Client;
        c->socket = socket;
        c->caller = *caller;
        c->lastAct.start();
        c->person = caller->login;
        c->base = caller->owner ? Role::Admin : caller->onLine ? Role::Operator : Role::None;
        c->role = c->base;
        m_clients << c;
        connect(socket, &QLocalSocket::readyRead, this, [this, c] { readFrom(c); });
        // Later, never inside a call: closing a socket (a client that reads nothing, a refusal)
        // says "disconnected" at once, and the code that closed it still holds the client.
        connect(
            socket, &QLocalSocket::disconnected, this, [this, c] { drop(c); }, Qt::QueuedConnection);
        if (c->base == Role::None) {
            // Nothing for a caller outside the line group, not even the station's name: the
            // connection is recorded once, and each request answered with the refusal.
            recordOutsider(c->caller, QStringLiteral("connected"));
        }
    }
}

void StationService::drop(Client* c)
{
    if (!m_clients.removeOne(c))
        return;
    if (c->socket)
        c->socket->deleteLater();
    delete c;
}

void StationService::readFrom(Client* c)
{
    if (!c->socket)
        return;
    c->input += c->socket->readAll();
    qsizetype newline;
    while (m_clients.contains(c) && (newline = c->input.indexOf('\n')) >= 0) {
        const QByteArray line = c->input.left(newline);
        c->input.remove(0, newline + 1);
        if (line.trimmed().isEmpty())
            continue;
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(line, &error);
        if (!doc.isObject()) {
            fail(c, QJsonValue(), QStringLiteral("bad-request"),
                QStringLiteral("A request is one JSON object on one line: %1.").arg(error.errorString()));
            continue;
        }
        if (c->base == Role::None) {
            const QJsonValue id = doc.object().value(QStringLiteral("id"));
            refuse(c, id.isDouble() ? id : QJsonValue(), QString(), m_options.lineGroup);
            if (++c->refusals >= 16)
                c->socket->disconnectFromServer();
            continue;
        }
        handle(c, doc.object());
    }
    if (m_clients.contains(c) && c->input.size() > maxRequestBytes) {
        fail(c, QJsonValue(), QStringLiteral("bad-request"), QStringLiteral("A request may be at most 1 MiB."));
        c->socket->disconnectFromServer();
    }
}

void StationService::send(Client* c, const QJsonObject& message)
{
    QLocalSocket* socket = c->socket.data();
    if (!socket || socket->state() != QLocalSocket::ConnectedState)
        return;
    if (socket->bytesToWrite() > maxPendingBytes) {
        // A client that stopped reading: let it go rather than hold the line's events for it.
        socket->abort();
        return;
    }
    socket->write(QJsonDocument(message).toJson(QJsonDocument::Compact) + '\n');
}

void StationService::reply(Client* c, const QJsonValue& id, const QJsonObject& result)
{
    send(c, QJsonObject { { QStringLiteral("id"), id }, { QStringLiteral("result"), result } });
}

void StationService::fail(Client* c, const QJsonValue& id, const QString& code, const QString& message)
{
    send(c,
        QJsonObject { { QStringLiteral("id"), id },
            { QStringLiteral("error"),
                QJsonObject { { QStringLiteral("code"), code }, { QStringLiteral("message"), message } } } });
}

void StationService::failWith(Client* c, const QJsonValue& id, const core::Error& error)
{
    fail(c, id, error.code == core::ErrorCode::NotFound ? QStringLiteral("not-found") : QStringLiteral("unavailable"),
        error.message);
}

void StationService::recordOutsider(const Caller& caller, const QString& what)
{
    Outsider& o = m_outsiders[caller.uid];
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (o.recorded.isValid() && o.recorded.secsTo(now) < 60) {
        ++o.since;
        return;
    }
    QString detail = QStringLiteral("%1 (uid %2) %3: not in the group %4")
                         .arg(caller.login)
                         .arg(caller.uid)
                         .arg(what, m_options.lineGroup);
    if (o.since > 0)
        detail += QStringLiteral("; %1 more refusal(s) of this account since the last entry").arg(o.since);
    m_backoffice.audit(this, core::AuditKind::Refused, caller.login, detail, caller.login);
    o.recorded = now;
    o.since = 0;
}

void StationService::refuse(Client* c, const QJsonValue& id, const QString& what, const QString& needs, bool answer)
{
    // A caller outside the line group was recorded when it connected (recordOutsider); every
    // other refusal is recorded as it happens.
    if (c->base != Role::None) {
        // Each one recorded, but an account's refusals beyond a few a minute are recorded as a
        // count with the next entry: a loop must not fill the log.
        Outsider& o = m_refused[c->caller.uid];
        const QDateTime now = QDateTime::currentDateTimeUtc();
        if (!o.recorded.isValid() || o.recorded.secsTo(now) >= 60) {
            o.recorded = now;
            o.inWindow = 0;
        }
        if (++o.inWindow <= 10) {
            QString detail
                = QStringLiteral("%1 (uid %2) %3: needs %4").arg(c->caller.login).arg(c->caller.uid).arg(what, needs);
            if (o.since > 0)
                detail += QStringLiteral("; %1 more refusal(s) of this account before this one").arg(o.since);
            o.since = 0;
            m_backoffice.audit(this, core::AuditKind::Refused, c->caller.login, detail, c->person);
        } else {
            ++o.since;
        }
    }
    if (!answer)
        return;
    QString message;
    if (c->base == Role::None)
        message = QStringLiteral("The account %1 may not use this station: only members of the group %2 may. Ask the "
                                 "station's administrator to add it (usermod -aG %2 %1), then log in again.")
                      .arg(c->caller.login, m_options.lineGroup);
    else if (needs == QLatin1String("qa"))
        message = QStringLiteral("Only QA may do that: sign in with the QA passphrase.");
    else if (needs == QLatin1String("admin"))
        message = QStringLiteral("Only the PKI admin may do that: sign in with the token's PIN.");
    else
        message = QStringLiteral("That is not done through the station service: %1.").arg(needs);
    send(c,
        QJsonObject { { QStringLiteral("id"), id },
            { QStringLiteral("error"),
                QJsonObject {
                    { QStringLiteral("code"),
                        c->base == Role::None || (needs != QLatin1String("qa") && needs != QLatin1String("admin"))
                            ? QStringLiteral("forbidden")
                            : QStringLiteral("credential-required") },
                    { QStringLiteral("needs"), needs }, { QStringLiteral("message"), message } } } });
}

void StationService::broadcast(const QJsonObject& event)
{
    const QList<Client*> clients = m_clients;
    for (Client* c : clients) {
        if (c->subscribed)
            send(c, event);
    }
}

void StationService::handle(Client* c, const QJsonObject& request)
{
    QJsonValue id = request.value(QStringLiteral("id"));
    if (!(id.isDouble() || id.isNull() || (id.isString() && id.toString().size() <= 64)))
        return fail(c, QJsonValue(), QStringLiteral("bad-request"),
            QStringLiteral("A request's id is a number or a short text."));
    const QString method = jsonString(request, "method");
    // A QA or admin sign-in lasts while it is used, as at the window.
    if (c->role > c->base && c->lastAct.elapsed() > qint64(m_ctx.config.line.roleIdleMinutes) * 60000) {
        c->role = c->base;
        c->person = c->caller.login;
    }
    c->lastAct.restart();
    const QJsonObject params = request.value(QStringLiteral("params")).toObject();
    if (method == QLatin1String("hello")) {
        static const char* names[] = { "none", "operator", "qa", "admin" };
        reply(c, id,
            QJsonObject { { QStringLiteral("api"), 1 }, { QStringLiteral("station"), m_ctx.config.stationName },
                { QStringLiteral("station_id"), m_ctx.config.stationId },
                { QStringLiteral("version"), QCoreApplication::applicationVersion() },
                { QStringLiteral("caller"),
                    QJsonObject { { QStringLiteral("uid"), static_cast<qint64>(c->caller.uid) },
                        { QStringLiteral("login"), c->caller.login },
                        { QStringLiteral("role"), QLatin1String(names[static_cast<int>(c->role)]) } } } });
    } else if (method == QLatin1String("line")) {
        lineSnapshot(c, id);
    } else if (method == QLatin1String("subscribe")) {
        // The line as it is, then the shift's figures and the health as they are now (worked
        // out after everything recorded so far), then every change.
        c->subscribed = true;
        lineSnapshot(c, id);
        QPointer<QLocalSocket> socket = c->socket;
        auto toClient = [this, c, socket](QJsonObject event) {
            if (socket && m_clients.contains(c))
                send(c, event);
        };
        shiftFigures(toClient);
        health(toClient);
    } else if (method == QLatin1String("slot.add")) {
        addSlot(c, id, params);
    } else if (method == QLatin1String("slot.retry") || method == QLatin1String("slot.abort")) {
        slotAct(c, id, method, params);
    } else if (method == QLatin1String("operator")) {
        const QString name = printableName(jsonString(params, "name"));
        if (name.isEmpty())
            return fail(c, id, QStringLiteral("bad-request"), QStringLiteral("Give the operator's name."));
        takeOver(c, name);
        reply(c, id, QJsonObject { { QStringLiteral("operator"), m_station.operatorName() } });
    } else if (method == QLatin1String("slot.scan")) {
        scan(c, id, params);
    } else if (method == QLatin1String("sign-in")) {
        signIn(c, id, params);
    } else if (method == QLatin1String("sign-out")) {
        c->role = c->base;
        c->person = c->caller.login;
        reply(c, id, {});
    } else if (method == QLatin1String("run")) {
        runCommand(c, id, params);
    } else if (method == QLatin1String("device.story") || method == QLatin1String("devices.page")
        || method == QLatin1String("audit.verify") || method == QLatin1String("scrap")) {
        qaDesk(c, id, method, params);
    } else if (method == QLatin1String("plant.device") || method == QLatin1String("plant.figures")) {
        // Reading the plant record is the line's, as reading the station's own record is.
        QPointer<QLocalSocket> socket = c->socket;
        auto answer = [this, c, id, socket](core::Result<QJsonObject> r) {
            if (!socket || !m_clients.contains(c))
                return;
            if (!r)
                return failWith(c, id, r.error());
            reply(c, id, *r);
        };
        if (method == QLatin1String("plant.device"))
            m_plantReader.plantDevice(this, jsonString(params, "serial"), answer);
        else
            m_plantReader.plantFigures(this, answer);
    } else {
        fail(c, id, QStringLiteral("unknown-method"), QStringLiteral("There is no method \"%1\".").arg(method));
    }
}

void StationService::lineSnapshot(Client* c, const QJsonValue& id)
{
    QJsonArray jobs;
    for (const core::SlotJob* job : m_station.slotJobs())
        jobs.append(slotJson(*job, m_ctx.config.line));
    reply(c, id,
        QJsonObject { { QStringLiteral("station"), m_ctx.config.stationName },
            { QStringLiteral("operator"), m_station.operatorName() }, { QStringLiteral("lot"), m_ctx.lot },
            { QStringLiteral("ca"), m_ctx.caSubject() }, { QStringLiteral("slots"), jobs } });
}

namespace {

/// The major numbers of the Unix 98 pseudo-terminals' slaves (Documentation/admin-guide/devices.txt).
bool isPseudoTerminal(dev_t device)
{
    return major(device) >= 136 && major(device) <= 143;
}

/// Whether a character device is a terminal (a serial port): the kernel's class for it
/// (pseudo-terminals are terminals too, though sysfs does not list them).
bool isTerminal(dev_t device)
{
    if (isPseudoTerminal(device))
        return true;
    const QString subsystem
        = QFileInfo(QStringLiteral("/sys/dev/char/%1:%2/subsystem").arg(major(device)).arg(minor(device)))
              .symLinkTarget();
    return subsystem.endsWith(QLatin1String("/tty"));
}

} // namespace

QString StationService::portRefusal(const Client* c, const QString& port, QString* checked) const
{
    // The service opens ports the caller may not: only a serial port (a terminal device under
    // /dev) or USB, never a file of the caller's choosing, and never one the caller owns (a
    // pseudo-terminal a program of theirs answers on would be a device of their making).
    // Pseudo-terminals at all only where the service was told to take them (simulated
    // devices); a fixture's ports are real. The slot keeps the path it was checked at, and
    // the check is made again each time the slot starts.
    if (port.startsWith(QLatin1String("usb:"))) {
        *checked = port;
        return {};
    }
    if (port.count(u'@') > 1)
        return QStringLiteral("%1: give a port's settings once, after one @.").arg(port);
    const QString path = port.section(u'@', 0, 0);
    const QString real = QFileInfo(path).canonicalFilePath();
    struct stat st { };
    if (QDir::isRelativePath(path) || real.isEmpty() || !real.startsWith(QLatin1String("/dev/"))
        || ::stat(QFile::encodeName(real).constData(), &st) != 0 || !S_ISCHR(st.st_mode) || !isTerminal(st.st_rdev))
        return QStringLiteral("%1 is not a serial port: give the full path of one under /dev (or usb:VVVV:PPPP).")
            .arg(path);
    if (isPseudoTerminal(st.st_rdev) && !m_options.allowPseudoTerminals)
        return QStringLiteral("%1 is a pseudo-terminal, which no fixture is: this station takes serial ports and USB "
                              "devices (imprintd --allow-pty is for simulated devices).")
            .arg(path);
    if (!c->caller.owner && st.st_uid == c->caller.uid)
        return QStringLiteral("%1 belongs to your own account, so it is no fixture's port: the line takes devices on "
                              "the station's ports.")
            .arg(path);
    *checked = real + (port.contains(u'@') ? u'@' + port.section(u'@', 1) : QString());
    return {};
}

void StationService::addSlot(Client* c, const QJsonValue& id, const QJsonObject& params)
{
    const QString asked = jsonString(params, "port");
    if (auto ok = core::Station::checkPort(asked); !ok)
        return fail(c, id, QStringLiteral("bad-port"), ok.error().message);
    QString port;
    if (const QString why = portRefusal(c, asked, &port); !why.isEmpty())
        return fail(c, id, QStringLiteral("bad-port"), why);
    core::SlotJob* reuse = nullptr;
    for (core::SlotJob* job : m_station.slotJobs()) {
        if (job->port().section(u'@', 0, 0) != port.section(u'@', 0, 0))
            continue;
        if (!job->isFinished())
            return fail(c, id, QStringLiteral("busy"),
                QStringLiteral("Slot %1 is at work on %2.").arg(job->index() + 1).arg(port.section(u'@', 0, 0)));
        reuse = job;
    }
    takeOver(c, printableName(jsonString(params, "operator")));
    // A port is a place in the fixture: the next device there goes on its slot.
    core::SlotJob* job = reuse;
    if (job && job->port() == port)
        job->retry();
    else if (m_station.slotJobs().size() >= maxSlots)
        return fail(c, id, QStringLiteral("bad-port"),
            QStringLiteral("The line has %1 slots, as many as it takes.").arg(maxSlots));
    else
        job = m_station.addSlot(port);
    reply(c, id, QJsonObject { { QStringLiteral("slot"), slotJson(*job, m_ctx.config.line) } });
}

void StationService::takeOver(Client* c, const QString& name)
{
    // Who works the line is recorded when it changes, at most every few seconds an account:
    // names sent in a loop must not fill the log, nor keep the line's record thread busy.
    const QString person = name.isEmpty() || name == c->caller.login
        ? c->caller.login
        : QStringLiteral("%1 (%2)").arg(name, c->caller.login);
    if (person == m_station.operatorName())
        return;
    QElapsedTimer& last = m_operatorChanged[c->caller.uid];
    if (last.isValid() && last.elapsed() < 5000)
        return;
    last.start();
    m_station.setOperator(person);
}

void StationService::slotAct(Client* c, const QJsonValue& id, const QString& method, const QJsonObject& params)
{
    const int slot = params.value(QStringLiteral("slot")).toInt();
    if (slot < 1 || slot > m_station.slotJobs().size())
        return fail(c, id, QStringLiteral("not-found"), QStringLiteral("There is no slot %1.").arg(slot));
    core::SlotJob* job = m_station.slotJobs().at(slot - 1);
    if (method == QLatin1String("slot.retry")) {
        if (!job->isFinished())
            return fail(c, id, QStringLiteral("busy"), QStringLiteral("Slot %1 is still at work.").arg(slot));
        QString checked;
        if (const QString why = portRefusal(c, job->port(), &checked); !why.isEmpty())
            return fail(c, id, QStringLiteral("bad-port"), why);
        job->retry();
    } else {
        if (job->isFinished())
            return fail(c, id, QStringLiteral("finished"), QStringLiteral("Slot %1 has finished already.").arg(slot));
        job->abort(printableName(jsonString(params, "why"), 200));
    }
    reply(c, id, QJsonObject { { QStringLiteral("slot"), slotJson(*job, m_ctx.config.line) } });
}

void StationService::scan(Client* c, const QJsonValue& id, const QJsonObject& params)
{
    const int slot = params.value(QStringLiteral("slot")).toInt();
    core::SlotJob* job = slot >= 1 && slot <= m_station.slotJobs().size() ? m_station.slotJobs().at(slot - 1)
                                                                          : m_station.awaitingSerial();
    if (!job)
        return fail(c, id, QStringLiteral("not-waiting"), QStringLiteral("No slot is waiting for a serial label."));
    if (auto r = job->assignSerial(jsonString(params, "serial")); !r)
        return fail(c, id, QStringLiteral("refused"), r.error().message);
    reply(c, id, QJsonObject { { QStringLiteral("slot"), slotJson(*job, m_ctx.config.line) } });
}

void StationService::failPaused(
    Client* c, const QJsonValue& id, const QString& role, const QDateTime& until, int failures)
{
    send(c,
        QJsonObject { { QStringLiteral("id"), id },
            { QStringLiteral("error"),
                QJsonObject { { QStringLiteral("code"), QStringLiteral("paused") },
                    { QStringLiteral("until"), until.toString(Qt::ISODate) }, { QStringLiteral("failures"), failures },
                    { QStringLiteral("message"),
                        QStringLiteral("Sign-in as %1 is paused until %2 after wrong attempts in a row; nothing was "
                                       "checked.")
                            .arg(role, until.toString(Qt::ISODate)) } } } });
}

void StationService::signIn(Client* c, const QJsonValue& id, const QJsonObject& params)
{
    const QString role = jsonString(params, "role");
    if (role != QLatin1String("qa") && role != QLatin1String("admin"))
        return fail(c, id, QStringLiteral("bad-request"), QStringLiteral("Sign in as \"qa\" or \"admin\"."));
    const QString name = printableName(jsonString(params, "person"));
    const QString person = name.isEmpty() || name == c->caller.login
        ? c->caller.login
        : QStringLiteral("%1 (%2)").arg(name, c->caller.login);
    auto secret = std::make_shared<core::Secret>(params.value(QStringLiteral("secret")).toString().toUtf8());
    // While the account's sign-in is paused the service answers itself: a loop of tries
    // reaches neither the store nor the token, and is recorded as refusals (a few a minute,
    // then as a count).
    const QString throttleKey = QStringLiteral("%1 uid %2").arg(role).arg(c->caller.uid);
    if (const QDateTime until = m_pausedUntil.value(throttleKey);
        until.isValid() && until > QDateTime::currentDateTimeUtc()) {
        secret->wipe();
        refuse(c, QJsonValue(), QStringLiteral("sign-in as %1 while paused").arg(role), role, false);
        return failPaused(c, id, role, until, 0);
    }
    // Unlocking is only for a locked token; with it unlocked the PIN is compared, and counted
    // under the account, like any sign-in.
    const auto token = m_backoffice.wiring().tokenStatus ? m_backoffice.wiring().tokenStatus() : core::TokenStatus {};
    const bool unlocking = params.value(QStringLiteral("unlock")).toBool() && !token.unlocked;
    QPointer<QLocalSocket> socket = c->socket;
    m_backoffice.run<core::SignInOutcome>(
        this,
        [bo = &m_backoffice, role, secret, person, unlocking, throttleKey](core::RecordStore& store) {
            // Counted per account: one account's guesses pause only its own sign-in.
            return bo->checkCredential(store, role, *secret, person, unlocking, throttleKey);
        },
        [this, c, socket, id, role, person, throttleKey, unlocking](core::SignInOutcome o) {
            if (!unlocking)
                m_pausedUntil.insert(throttleKey, o.state.pausedUntil);
            if (!socket || !m_clients.contains(c))
                return;
            if (o.paused)
                return failPaused(c, id, role, o.state.pausedUntil, o.state.failures);
            if (!o.ok)
                return fail(c, id, QStringLiteral("unavailable"), o.ok.error().message);
            if (!*o.ok) {
                QString message = role == QLatin1String("admin") ? QStringLiteral("That is not the token's PIN.")
                                                                 : QStringLiteral("That is not the QA passphrase.");
                if (o.state.pausedUntil.isValid())
                    message += QStringLiteral(" %1 wrong in a row: sign-in as %2 is paused until %3.")
                                   .arg(o.state.failures)
                                   .arg(role, o.state.pausedUntil.toString(Qt::ISODate));
                return fail(c, id, QStringLiteral("wrong-credential"), message);
            }
            const Role granted = role == QLatin1String("admin") ? Role::Admin : Role::Qa;
            c->role = std::max(c->role, granted);
            c->person = person;
            m_backoffice.audit(this, core::AuditKind::Login, person,
                QStringLiteral("signed in as %1 through the station service (uid %2)").arg(role).arg(c->caller.uid),
                person);
            reply(c, id, QJsonObject { { QStringLiteral("role"), role }, { QStringLiteral("person"), person } });
        });
}

void StationService::qaDesk(Client* c, const QJsonValue& id, const QString& method, const QJsonObject& params)
{
    // QA's screen, for a window that is the service's client: reading a device's record is
    // the line's (as imprintctl show is); checking the audit log and scrapping are QA's.
    QPointer<QLocalSocket> socket = c->socket;
    auto alive = [this, c, socket] { return socket && m_clients.contains(c); };
    if (method == QLatin1String("device.story")) {
        m_backoffice.story(this, jsonString(params, "serial"), [this, c, id, alive](core::Result<core::DeviceStory> r) {
            if (!alive())
                return;
            if (!r)
                return failWith(c, id, r.error());
            reply(c, id, storyJson(*r));
        });
    } else if (method == QLatin1String("devices.page")) {
        m_backoffice.devices(this, queryOf(params), [this, c, id, alive](core::Result<QList<core::DeviceRecord>> r) {
            if (!alive())
                return;
            if (!r)
                return fail(c, id, QStringLiteral("unavailable"), r.error().message);
            QJsonArray rows;
            for (const core::DeviceRecord& d : *r)
                rows.append(deviceJson(d));
            reply(c, id, QJsonObject { { QStringLiteral("devices"), rows } });
        });
    } else if (c->role < Role::Qa) {
        refuse(c, id, method, QStringLiteral("qa"));
    } else if (method == QLatin1String("audit.verify")) {
        m_backoffice.checkAudit(this, [this, c, id, alive](core::Result<core::AuditVerdict> r) {
            if (!alive())
                return;
            if (!r)
                return fail(c, id, QStringLiteral("unavailable"), r.error().message);
            reply(c, id, verdictJson(*r));
        });
    } else {
        const QString reason = printableName(jsonString(params, "reason"), 200);
        if (reason.isEmpty())
            return fail(c, id, QStringLiteral("bad-request"), QStringLiteral("Say why the device is scrapped."));
        m_backoffice.scrap(
            this, jsonString(params, "serial"), reason, c->person, [this, c, id, alive](core::Result<QString> r) {
                if (!alive())
                    return;
                if (!r)
                    return fail(c, id,
                        r.error().code == core::ErrorCode::NotFound ? QStringLiteral("not-found")
                                                                    : QStringLiteral("refused"),
                        r.error().message);
                reply(c, id, QJsonObject { { QStringLiteral("done"), *r } });
            });
    }
}

void StationService::runCommand(Client* c, const QJsonValue& id, const QJsonObject& params)
{
    QStringList args;
    for (const QJsonValue& v : params.value(QStringLiteral("args")).toArray()) {
        const QString a = v.toString();
        // Nothing that could end an argument early (a NUL ends it where the program reads
        // it), end the options ("--" would make the data directory below an argument), or
        // carry escape sequences into the records.
        const bool control
            = std::any_of(a.begin(), a.end(), [](QChar ch) { return ch.unicode() < 0x20 || ch.unicode() == 0x7f; });
        if (control || a == QLatin1String("--") || a.size() > 4096 || args.size() >= 64)
            return fail(c, id, QStringLiteral("bad-request"),
                QStringLiteral("A command's arguments are at most 64 plain texts, none of them \"--\"."));
        args << a;
    }
    if (!args.isEmpty() && args.first().contains(u' '))
        return fail(c, id, QStringLiteral("bad-request"), QStringLiteral("Give a command's words one by one."));
    const cli::Command* command = cli::findCommand(args);
    if (!command)
        return fail(
            c, id, QStringLiteral("unknown-command"), QStringLiteral("There is no command \"%1\".").arg(args.value(0)));
    const Role needed = command->reach == cli::Reach::Line ? Role::Operator
        : command->reach == cli::Reach::Qa                 ? Role::Qa
                                                           : Role::Admin;
    if (command->reach == cli::Reach::Direct)
        return refuse(c, id, command->name,
            QStringLiteral("it works on the data directory itself: stop the service and run it as the service's "
                           "user"));
    if (c->role < needed)
        return refuse(c, id, command->name, needed == Role::Qa ? QStringLiteral("qa") : QStringLiteral("admin"));
    if (command->name == QLatin1String("provision"))
        return fail(c, id, QStringLiteral("bad-request"),
            QStringLiteral("The line's devices run on the service's slots: add them with slot.add."));
    // A file named in a command is opened by the service's account, which may read and write
    // what the caller may not: only the PKI admin, who holds the CA's PIN, names files. Others
    // read a command's output from its answer (audit head > FILE).
    if (c->role < Role::Admin) {
        const bool namesFile = std::any_of(args.begin(), args.end(), [&](const QString& a) {
            return a == QLatin1String("--out") || a.startsWith(QLatin1String("--out="))
                || (command->name == QLatin1String("audit verify")
                    && (a == QLatin1String("--since") || a.startsWith(QLatin1String("--since="))));
        });
        if (namesFile)
            return refuse(c, id, command->name + QStringLiteral(" with a file"), QStringLiteral("admin"));
    }
    if (m_queue.size() >= maxQueued)
        return fail(c, id, QStringLiteral("busy"),
            QStringLiteral("The station has %1 commands waiting: try again shortly.").arg(maxQueued));

    // The command runs as the service's account, on the service's data directory, with the
    // caller's name for what it records: whatever the client said of a data directory or a
    // person is replaced.
    QStringList childArgs;
    for (qsizetype i = 0; i < args.size(); ++i) {
        const QString& a = args[i];
        if (a == QLatin1String("--data-dir") || a == QLatin1String("--operator")) {
            ++i;
            continue;
        }
        if (a.startsWith(QLatin1String("--data-dir=")) || a.startsWith(QLatin1String("--operator=")))
            continue;
        childArgs << a;
    }
    // Right after the command's words, as one argument: no option left without its value can
    // take it.
    childArgs.insert(command->name.count(u' ') + 1, QStringLiteral("--data-dir=") + m_options.dataDir);
    m_queue << Queued { c->socket, c, id, childArgs, jsonString(params, "cwd") };
    runNext();
}

void StationService::runNext()
{
    // One command at a time: each opens the store and the token beside the service's own.
    if (m_running || m_queue.isEmpty())
        return;
    const Queued q = m_queue.takeFirst();
    if (!q.socket || !m_clients.contains(q.client))
        return runNext();
    m_running = true;
    Client* c = q.client;
    auto* process = new QProcess(this);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("IMPRINT_SERVICE_CHILD"), QStringLiteral("1"));
    env.insert(QStringLiteral("USER"), c->person);
    env.insert(QStringLiteral("IMPRINT_DATA_DIR"), m_options.dataDir);
    env.remove(QStringLiteral("IMPRINT_SOCKET"));
    process->setProcessEnvironment(env);
    process->setWorkingDirectory(
        !q.cwd.isEmpty() && QFileInfo(q.cwd).isDir() && QFileInfo(q.cwd).isExecutable() ? q.cwd : m_options.dataDir);
    auto* timeout = new QTimer(process);
    timeout->setSingleShot(true);
    connect(timeout, &QTimer::timeout, process, [process] { process->kill(); });
    QPointer<QLocalSocket> socket = q.socket;
    const QJsonValue id = q.id;
    auto finish = [this, process] {
        process->deleteLater();
        m_running = false;
        QTimer::singleShot(0, this, &StationService::runNext);
    };
    connect(process, &QProcess::finished, this,
        [this, process, c, socket, id, finish](int exitCode, QProcess::ExitStatus status) {
            finish();
            if (!socket || !m_clients.contains(c))
                return;
            reply(c, id,
                QJsonObject { { QStringLiteral("exit"), status == QProcess::NormalExit ? exitCode : 1 },
                    { QStringLiteral("stdout"), QString::fromUtf8(process->readAllStandardOutput()) },
                    { QStringLiteral("stderr"), QString::fromUtf8(process->readAllStandardError()) } });
        });
    connect(process, &QProcess::errorOccurred, this, [this, c, socket, id, finish](QProcess::ProcessError e) {
        if (e != QProcess::FailedToStart)
            return;
        finish();
        if (socket && m_clients.contains(c))
            fail(c, id, QStringLiteral("unavailable"),
                QStringLiteral("The station service could not run %1.").arg(m_options.ctlProgram));
    });
    process->start(m_options.ctlProgram, q.args);
    process->closeWriteChannel();
    timeout->start(commandTimeoutMs);
}

void StationService::shiftFigures(std::function<void(QJsonObject)> done)
{
    const auto [since, until] = m_ctx.config.line.shiftAround(QDateTime::currentDateTimeUtc());
    m_backoffice.shift(this, since, until, [done = std::move(done)](core::Result<core::ShiftFigures> f) {
        if (!f)
            return;
        QJsonObject e = shiftJson(*f);
        e.insert(QStringLiteral("event"), QStringLiteral("shift"));
        done(e);
    });
}

void StationService::health(std::function<void(QJsonObject)> done)
{
    m_backoffice.health(this, [done = std::move(done)](core::StationHealth h) {
        done(QJsonObject { { QStringLiteral("event"), QStringLiteral("health") },
            { QStringLiteral("token"),
                QJsonObject { { QStringLiteral("present"), h.token.present },
                    { QStringLiteral("unlocked"), h.token.unlocked },
                    { QStringLiteral("problem"), h.token.problem } } },
            { QStringLiteral("ca"), h.caSubject },
            { QStringLiteral("ca_not_after"), h.caNotAfter.toString(Qt::ISODate) },
            { QStringLiteral("crl_next_update"), optionalTime(h.crlNextUpdate) },
            { QStringLiteral("upstream"),
                QJsonObject { { QStringLiteral("configured"), h.upstreamConfigured },
                    { QStringLiteral("open"), h.upstreamOpen }, { QStringLiteral("rejected"), h.upstreamRejected },
                    { QStringLiteral("oldest_unsynced"), optionalTime(h.oldestUnsynced) },
                    { QStringLiteral("reached"), optionalTime(h.contact.reached) },
                    { QStringLiteral("last_error"), h.contact.lastError } } },
            { QStringLiteral("plant"),
                QJsonObject { { QStringLiteral("configured"), h.plantConfigured },
                    { QStringLiteral("backlog"), h.plantBacklog },
                    { QStringLiteral("attempted"), optionalTime(h.plantContact.attempted) },
                    { QStringLiteral("reached"), optionalTime(h.plantContact.reached) },
                    { QStringLiteral("last_error"), h.plantContact.lastError } } },
            { QStringLiteral("disk_free"), h.diskFree }, { QStringLiteral("interrupted_jobs"), h.interruptedJobs },
            { QStringLiteral("store_problem"), h.storeProblem } });
    });
}

void StationService::pushFigures()
{
    shiftFigures([this](QJsonObject event) {
        if (event != m_lastShift) {
            m_lastShift = event;
            broadcast(event);
        }
    });
    health([this](QJsonObject event) {
        if (event != m_lastHealth) {
            m_lastHealth = event;
            broadcast(event);
        }
    });
}

} // namespace imprint::app
