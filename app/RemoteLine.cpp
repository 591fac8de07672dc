#include "RemoteLine.h"

#include "StoryJson.h"

#include <QCoreApplication>
#include <QDeadlineTimer>
#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLocalSocket>
#include <QMetaEnum>
#include <QPointer>
#include <QTimer>

namespace imprint::app {

namespace {

using core::SlotJob;

SlotJob::Step stepNamed(const QString& name)
{
    const QMetaEnum e = QMetaEnum::fromType<SlotJob::Step>();
    for (int i = 0; i < e.keyCount(); ++i) {
        const auto step = static_cast<SlotJob::Step>(e.value(i));
        if (SlotJob::stepName(step) == name)
            return step;
    }
    return SlotJob::Step::Waiting;
}

QDateTime timeOf(const QJsonValue& v)
{
    return v.isString() ? QDateTime::fromString(v.toString(), Qt::ISODateWithMs) : QDateTime();
}

} // namespace

RemoteLine::RemoteLine(QString socketPath, QObject* parent)
    : core::Line(parent)
    , m_path(std::move(socketPath))
    , m_socket(new QLocalSocket(this))
    , m_retry(new QTimer(this))
{
    m_retry->setInterval(1000);
    connect(m_retry, &QTimer::timeout, this, &RemoteLine::connectAgain);
    connect(m_socket, &QLocalSocket::readyRead, this, &RemoteLine::readAll);
    connect(m_socket, &QLocalSocket::connected, this, [this] {
        m_retry->stop();
        request(QStringLiteral("subscribe"), {}, [this](const QJsonObject& result, const QJsonObject& error) {
            if (!error.isEmpty()) {
                emit connectionChanged(false, error.value(QStringLiteral("message")).toString());
                return;
            }
            m_connected = true;
            snapshot(result);
            emit connectionChanged(true, tr("Connected to the station service."));
        });
    });
    connect(m_socket, &QLocalSocket::disconnected, this, [this] {
        m_pending.clear();
        m_adding = 0;
        m_input.clear();
        if (m_connected)
            emit connectionChanged(false,
                tr("The station service is not reachable: the line goes on there; this window shows it again as "
                   "soon as it is back."));
        m_connected = false;
        m_retry->start();
    });
    connect(m_socket, &QLocalSocket::errorOccurred, this, [this](QLocalSocket::LocalSocketError) {
        if (m_socket->state() == QLocalSocket::UnconnectedState && !m_retry->isActive())
            m_retry->start();
    });
}

RemoteLine::~RemoteLine() = default;

core::Result<void> RemoteLine::connectNow(int timeoutMs)
{
    m_socket->connectToServer(m_path);
    QDeadlineTimer deadline(timeoutMs);
    while (!m_haveLine && !deadline.hasExpired()) {
        if (m_socket->state() == QLocalSocket::UnconnectedState && !m_socket->waitForConnected(0))
            break;
        QCoreApplication::processEvents(QEventLoop::WaitForMoreEvents, 50);
    }
    if (!m_haveLine)
        return core::fail(core::ErrorCode::Io, QStringLiteral("The station service at %1 did not answer.").arg(m_path),
            m_socket->errorString());
    return {};
}

void RemoteLine::connectAgain()
{
    if (m_socket->state() == QLocalSocket::UnconnectedState)
        m_socket->connectToServer(m_path);
}

void RemoteLine::request(const QString& method, const QJsonObject& params,
    std::function<void(const QJsonObject& result, const QJsonObject& error)> done)
{
    const qint64 id = m_nextId++;
    if (done)
        m_pending.insert(id, std::move(done));
    m_socket->write(QJsonDocument(QJsonObject { { QStringLiteral("id"), id }, { QStringLiteral("method"), method },
                                      { QStringLiteral("params"), params } })
                        .toJson(QJsonDocument::Compact)
        + '\n');
}

void RemoteLine::readAll()
{
    // What came at once is told at once: a slot that changed three times in the batch is
    // drawn once, in its newest state (a busy line sends bursts; the window must not redraw
    // for each).
    m_input += m_socket->readAll();
    qsizetype newline;
    while ((newline = m_input.indexOf('\n')) >= 0) {
        const QJsonDocument doc = QJsonDocument::fromJson(m_input.left(newline));
        m_input.remove(0, newline + 1);
        if (doc.isObject())
            handle(doc.object());
    }
    const int before = m_announced;
    m_announced = static_cast<int>(m_slots.size());
    for (int i = before; i < m_announced; ++i)
        emit slotAdded(i);
    const QList<int> changed(m_changed.begin(), m_changed.end());
    m_changed.clear();
    for (int index : changed)
        emit slotChanged(index);
    if (std::exchange(m_finishing, false) && allFinished())
        emit finished();
}

void RemoteLine::handle(const QJsonObject& message)
{
    const QString event = message.value(QStringLiteral("event")).toString();
    if (event.isEmpty()) {
        const QJsonValue id = message.value(QStringLiteral("id"));
        if (id.isNull() && message.contains(QStringLiteral("error"))) {
            // Refused outright (not on the line): said once, and tried again later.
            emit connectionChanged(
                false, message.value(QStringLiteral("error")).toObject().value(QStringLiteral("message")).toString());
            return;
        }
        auto done = m_pending.take(id.toInteger());
        if (done)
            done(message.value(QStringLiteral("result")).toObject(), message.value(QStringLiteral("error")).toObject());
        return;
    }
    if (event == QLatin1String("slot"))
        slotEvent(message.value(QStringLiteral("slot")).toObject());
    else if (event == QLatin1String("operator")) {
        m_operator = message.value(QStringLiteral("operator")).toString();
        emit operatorChanged(m_operator);
    } else if (event == QLatin1String("shift")) {
        m_shift = shiftOf(message);
        emit shiftFigures(*m_shift);
    } else if (event == QLatin1String("health")) {
        m_health = healthOf(message);
        emit health(*m_health);
    }
}

void RemoteLine::snapshot(const QJsonObject& line)
{
    m_station = line.value(QStringLiteral("station")).toString();
    m_ca = line.value(QStringLiteral("ca")).toString();
    m_operator = line.value(QStringLiteral("operator")).toString();
    m_slots.clear();
    for (const QJsonValue& v : line.value(QStringLiteral("slots")).toArray())
        m_slots << slotOf(v.toObject());
    m_haveLine = true;
    m_announced = static_cast<int>(m_slots.size());
    m_changed.clear();
    emit reset();
    // A service that restarted has none of this window's slots: ask for them again, and
    // their devices resume where they were.
    for (const QString& port : std::as_const(m_ports)) {
        const bool there
            = std::any_of(m_slots.begin(), m_slots.end(), [&](const core::SlotView& v) { return v.port == port; });
        if (!there)
            requestSlot(port);
    }
    emit operatorChanged(m_operator);
    if (!m_slots.isEmpty() && allFinished())
        emit finished();
}

void RemoteLine::slotEvent(const QJsonObject& slot)
{
    const core::SlotView view = slotOf(slot);
    const int index = view.index;
    if (index < 0 || index > m_slots.size() + 1000)
        return;
    const bool added = index >= m_slots.size();
    while (m_slots.size() <= index) {
        core::SlotView placeholder;
        placeholder.index = static_cast<int>(m_slots.size());
        m_slots << placeholder;
    }
    const bool wasFinished = m_slots.at(index).isFinished();
    m_slots[index] = view;
    (void)added; // told after the batch (readAll)
    m_changed.insert(index);
    if (view.isFinished() && !wasFinished)
        m_finishing = true;
}

core::SlotView RemoteLine::slotOf(const QJsonObject& o)
{
    core::SlotView v;
    v.index = o.value(QStringLiteral("slot")).toInt() - 1;
    v.name = o.value(QStringLiteral("name")).toString();
    v.port = o.value(QStringLiteral("port")).toString();
    v.step = stepNamed(o.value(QStringLiteral("step")).toString());
    v.failedStep = stepNamed(o.value(QStringLiteral("failed_step")).toString());
    v.serial = o.value(QStringLiteral("serial")).toString();
    v.model = o.value(QStringLiteral("model")).toString();
    v.failure = o.value(QStringLiteral("reason")).toString();
    v.failureCode = o.value(QStringLiteral("code")).toString();
    v.certificateSerial = o.value(QStringLiteral("certificate")).toObject().value(QStringLiteral("serial")).toString();
    v.stepStarted = QDateTime::currentDateTimeUtc().addMSecs(-o.value(QStringLiteral("step_elapsed_ms")).toInteger());
    v.stepLimitMs = o.value(QStringLiteral("step_limit_ms")).toInteger();
    v.doneEarlierAt = timeOf(o.value(QStringLiteral("done_earlier_at")));
    v.recentFailures = o.value(QStringLiteral("recent_failures")).toInt();
    v.recentVerdicts = o.value(QStringLiteral("recent_verdicts")).toInt();
    v.resultLine = o.value(QStringLiteral("result_line")).toString();
    return v;
}

core::ShiftFigures RemoteLine::shiftOf(const QJsonObject& e)
{
    return app::shiftOf(e);
}

core::StationHealth RemoteLine::healthOf(const QJsonObject& e)
{
    core::StationHealth h;
    const QJsonObject token = e.value(QStringLiteral("token")).toObject();
    h.token.present = token.value(QStringLiteral("present")).toBool();
    h.token.unlocked = token.value(QStringLiteral("unlocked")).toBool();
    h.token.problem = token.value(QStringLiteral("problem")).toString();
    h.caSubject = e.value(QStringLiteral("ca")).toString();
    h.caNotAfter = timeOf(e.value(QStringLiteral("ca_not_after")));
    if (const QDateTime next = timeOf(e.value(QStringLiteral("crl_next_update"))); next.isValid())
        h.crlNextUpdate = next;
    const QJsonObject up = e.value(QStringLiteral("upstream")).toObject();
    h.upstreamConfigured = up.value(QStringLiteral("configured")).toBool();
    h.upstreamOpen = up.value(QStringLiteral("open")).toInteger();
    h.upstreamRejected = up.value(QStringLiteral("rejected")).toInteger();
    if (const QDateTime oldest = timeOf(up.value(QStringLiteral("oldest_unsynced"))); oldest.isValid())
        h.oldestUnsynced = oldest;
    h.contact.reached = timeOf(up.value(QStringLiteral("reached")));
    h.contact.lastError = up.value(QStringLiteral("last_error")).toString();
    const QJsonObject plant = e.value(QStringLiteral("plant")).toObject();
    h.plantConfigured = plant.value(QStringLiteral("configured")).toBool();
    h.plantBacklog = plant.value(QStringLiteral("backlog")).toInteger();
    h.plantContact.attempted = timeOf(plant.value(QStringLiteral("attempted")));
    h.plantContact.reached = timeOf(plant.value(QStringLiteral("reached")));
    h.plantContact.lastError = plant.value(QStringLiteral("last_error")).toString();
    h.diskFree = e.value(QStringLiteral("disk_free")).toInteger(-1);
    h.interruptedJobs = e.value(QStringLiteral("interrupted_jobs")).toInt();
    h.storeProblem = e.value(QStringLiteral("store_problem")).toString();
    return h;
}

void RemoteLine::replayFigures()
{
    if (m_shift)
        emit shiftFigures(*m_shift);
    if (m_health)
        emit health(*m_health);
}

void RemoteLine::retry(int index)
{
    request(QStringLiteral("slot.retry"), { { QStringLiteral("slot"), index + 1 } },
        [this](const QJsonObject&, const QJsonObject& error) {
            if (!error.isEmpty())
                emit refused(error.value(QStringLiteral("message")).toString());
        });
}

void RemoteLine::abort(int index)
{
    request(QStringLiteral("slot.abort"), { { QStringLiteral("slot"), index + 1 } },
        [this](const QJsonObject&, const QJsonObject& error) {
            if (!error.isEmpty())
                emit refused(error.value(QStringLiteral("message")).toString());
        });
}

core::Result<void> RemoteLine::assignSerial(int index, const QString& serial)
{
    if (!m_connected)
        return core::fail(
            core::ErrorCode::Io, tr("The station service is not reachable: scan the label again when it is back."));
    request(QStringLiteral("slot.scan"),
        { { QStringLiteral("slot"), index + 1 }, { QStringLiteral("serial"), serial } },
        [this](const QJsonObject&, const QJsonObject& error) {
            if (!error.isEmpty())
                emit refused(error.value(QStringLiteral("message")).toString());
        });
    return {};
}

void RemoteLine::setOperator(const QString& name)
{
    m_person = name;
    request(QStringLiteral("operator"), { { QStringLiteral("name"), name } },
        [this](const QJsonObject&, const QJsonObject& error) {
            if (!error.isEmpty())
                emit refused(error.value(QStringLiteral("message")).toString());
        });
}

void RemoteLine::addSlot(const QString& port)
{
    if (!m_ports.contains(port))
        m_ports << port;
    requestSlot(port);
}

void RemoteLine::requestSlot(const QString& port)
{
    ++m_adding;
    request(QStringLiteral("slot.add"), { { QStringLiteral("port"), port }, { QStringLiteral("operator"), m_person } },
        [this](const QJsonObject&, const QJsonObject& error) {
            --m_adding;
            if (!error.isEmpty())
                emit refused(error.value(QStringLiteral("message")).toString());
        });
}

namespace {

/// The service's error as an Error: its words, its code as the reason.
core::Error errorOf(const QJsonObject& e)
{
    const QString code = e.value(QStringLiteral("code")).toString();
    return core::Error { code == QLatin1String("not-found") ? core::ErrorCode::NotFound : core::ErrorCode::BadInput,
        e.value(QStringLiteral("message")).toString(), {}, code };
}

} // namespace

std::optional<core::SignInOutcome> RemoteLine::signIn(
    const QString& role, const core::Secret& secret, const QString& person)
{
    core::SignInOutcome outcome;
    if (!m_connected) {
        outcome.ok = core::fail(core::ErrorCode::Io, tr("The station service is not reachable."));
        return outcome;
    }
    // A person's act: the window waits for the service's answer, as it waits for its own check.
    QEventLoop wait;
    bool answered = false;
    request(QStringLiteral("sign-in"),
        { { QStringLiteral("role"), role },
            { QStringLiteral("secret"), QString::fromUtf8(QByteArray(secret.data(), secret.size())) },
            { QStringLiteral("person"), person } },
        [&](const QJsonObject&, const QJsonObject& error) {
            answered = true;
            const QString code = error.value(QStringLiteral("code")).toString();
            if (error.isEmpty())
                outcome.ok = true;
            else if (code == QLatin1String("wrong-credential"))
                outcome.ok = false;
            else if (code == QLatin1String("paused")) {
                outcome.ok = false;
                outcome.paused = true;
                outcome.state.pausedUntil
                    = QDateTime::fromString(error.value(QStringLiteral("until")).toString(), Qt::ISODate);
                outcome.state.failures = error.value(QStringLiteral("failures")).toInt();
            } else
                outcome.ok = std::unexpected(errorOf(error));
            wait.quit();
        });
    QTimer::singleShot(30000, &wait, &QEventLoop::quit);
    connect(m_socket, &QLocalSocket::disconnected, &wait, &QEventLoop::quit);
    if (!answered)
        wait.exec();
    if (!answered)
        outcome.ok = core::fail(core::ErrorCode::Io, tr("The station service did not answer."));
    return outcome;
}

void RemoteLine::signOut()
{
    request(QStringLiteral("sign-out"), {});
}

template <typename T>
void RemoteLine::read(QObject* context, const QString& method, const QJsonObject& params,
    T (*convert)(const QJsonObject&), std::function<void(core::Result<T>)> done)
{
    QPointer<QObject> guard(context);
    request(
        method, params, [guard, convert, done = std::move(done)](const QJsonObject& result, const QJsonObject& error) {
            if (!guard)
                return;
            if (!error.isEmpty())
                return done(std::unexpected(errorOf(error)));
            done(convert(result));
        });
}

namespace {

QJsonObject asIs(const QJsonObject& o)
{
    return o;
}

} // namespace

void RemoteLine::story(QObject* context, QString serial, std::function<void(core::Result<core::DeviceStory>)> done)
{
    read<core::DeviceStory>(
        context, QStringLiteral("device.story"), { { QStringLiteral("serial"), serial } }, storyOf, std::move(done));
}

void RemoteLine::plantDevice(QObject* context, QString serial, std::function<void(core::Result<QJsonObject>)> done)
{
    read<QJsonObject>(
        context, QStringLiteral("plant.device"), { { QStringLiteral("serial"), serial } }, asIs, std::move(done));
}

void RemoteLine::plantFigures(QObject* context, std::function<void(core::Result<QJsonObject>)> done)
{
    read<QJsonObject>(context, QStringLiteral("plant.figures"), {}, asIs, std::move(done));
}

void RemoteLine::devices(
    QObject* context, core::DeviceQuery query, std::function<void(core::Result<QList<core::DeviceRecord>>)> done)
{
    QPointer<QObject> guard(context);
    request(QStringLiteral("devices.page"), queryJson(query),
        [guard, done = std::move(done)](const QJsonObject& result, const QJsonObject& error) {
            if (!guard)
                return;
            if (!error.isEmpty())
                return done(std::unexpected(errorOf(error)));
            QList<core::DeviceRecord> rows;
            for (const QJsonValue& v : result.value(QStringLiteral("devices")).toArray())
                rows << deviceOf(v.toObject());
            done(rows);
        });
}

void RemoteLine::checkAudit(QObject* context, std::function<void(core::Result<core::AuditVerdict>)> done)
{
    QPointer<QObject> guard(context);
    request(QStringLiteral("audit.verify"), {},
        [guard, done = std::move(done)](const QJsonObject& result, const QJsonObject& error) {
            if (!guard)
                return;
            if (!error.isEmpty())
                return done(std::unexpected(errorOf(error)));
            done(verdictOf(result));
        });
}

void RemoteLine::scrap(
    QObject* context, QString serial, QString reason, QString person, std::function<void(core::Result<QString>)> done)
{
    (void)person; // the service records the person who signed in on this connection
    QPointer<QObject> guard(context);
    request(QStringLiteral("scrap"), { { QStringLiteral("serial"), serial }, { QStringLiteral("reason"), reason } },
        [guard, done = std::move(done)](const QJsonObject& result, const QJsonObject& error) {
            if (!guard)
                return;
            if (!error.isEmpty())
                return done(std::unexpected(errorOf(error)));
            done(result.value(QStringLiteral("done")).toString());
        });
}

} // namespace imprint::app
