#include "engine/Station.h"

#include "device/SerialTransport.h"
#include "device/Transports.h"
#include "device/UsbTransport.h"
#include "engine/SlotJob.h"

namespace imprint::core {

Station::Station(QString operatorName, QObject* parent)
    : QObject(parent)
    , m_operator(std::move(operatorName))
{
    m_thread.setObjectName(QStringLiteral("registrar"));
    m_worker = new QObject;
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.start();
}

Station::~Station()
{
    qDeleteAll(m_slots);
    m_slots.clear();
    // The registrar's store connection must be closed on its own thread; the audit log is
    // sealed with a signed checkpoint first.
    QMetaObject::invokeMethod(
        m_worker,
        [this] {
            if (m_registrar) {
                if (auto r = m_registrar->sealAudit(); !r)
                    qWarning(
                        "imprint: the audit log could not be sealed at shutdown: %s", qPrintable(r.error().text()));
            }
            m_registrar.reset();
        },
        Qt::BlockingQueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

Result<void> Station::start(const RegistrarFactory& factory)
{
    Result<void> outcome;
    QMetaObject::invokeMethod(
        m_worker,
        [&] {
            auto r = factory();
            if (!r) {
                outcome = std::unexpected(r.error());
                return;
            }
            // Before any slot runs: the jobs a previous run left unfinished.
            auto unfinished = (*r)->store().jobs().unfinished();
            if (!unfinished) {
                outcome = std::unexpected(unfinished.error());
                return;
            }
            m_interrupted = *unfinished;
            if (auto a = (*r)->audit(AuditKind::Login, m_operator,
                    QStringLiteral("station started, token unlocked; %1 interrupted jobs").arg(m_interrupted.size()),
                    m_operator);
                !a) {
                outcome = std::unexpected(a.error());
                return;
            }
            m_registrar = std::move(*r);
        },
        Qt::BlockingQueuedConnection);
    return outcome;
}

void Station::submitIssue(QObject* context, IssueRequest request, std::function<void(Result<Issuance>)> done)
{
    bool post = false;
    {
        std::lock_guard lock(m_issueMutex);
        m_issueQueue.append(QueuedIssue { QPointer<QObject>(context), std::move(request), std::move(done) });
        post = !std::exchange(m_drainPosted, true);
    }
    if (post)
        QMetaObject::invokeMethod(m_worker, [this] { drainIssues(); });
}

void Station::drainIssues()
{
    QList<QueuedIssue> group;
    {
        std::lock_guard lock(m_issueMutex);
        group.swap(m_issueQueue);
        m_drainPosted = false;
    }
    QList<IssueRequest> requests;
    requests.reserve(group.size());
    for (const QueuedIssue& q : std::as_const(group))
        requests.append(q.request);
    QList<Result<Issuance>> results = m_registrar->issue(requests);
    for (qsizetype i = 0; i < group.size(); ++i) {
        QMetaObject::invokeMethod(
            this, [guard = group[i].guard, done = std::move(group[i].done), result = std::move(results[i])]() mutable {
                if (guard)
                    done(std::move(result));
            });
    }
}

Result<void> Station::checkPort(const QString& port)
{
    if (UsbAddress::looksLikeUsb(port)) {
        if (auto a = UsbAddress::parse(port); !a)
            return std::unexpected(a.error());
        return {};
    }
    if (auto s = SerialPortSpec::parse(port); !s)
        return std::unexpected(s.error());
    return {};
}

Result<void> Station::watchUsb(quint16 vendorId, quint16 productId)
{
    auto* watcher = new UsbWatcher(vendorId, productId, this);
    connect(watcher, &UsbWatcher::arrived, this, [this](const UsbAddress& address) {
        const QString port = address.toString();
        for (const SlotJob* job : std::as_const(m_slots)) {
            if (job->port() == port && !job->isFinished())
                return; // its slot is waiting for it, or working with it
        }
        addSlot(port);
    });
    if (auto r = watcher->start(); !r) {
        delete watcher;
        return r;
    }
    return {};
}

SlotJob* Station::addSlot(const QString& port)
{
    // Callers check the text first (checkPort); what does not parse here is taken as a path.
    const int index = static_cast<int>(m_slots.size());
    QString name;
    SlotJob::TransportFactory factory = transportFactory(port, &name);
    auto* job = new SlotJob(this, index, name, std::move(factory), m_timeouts);
    m_slots.append(job);
    connect(job, &SlotJob::changed, this, [this, index] {
        emit slotChanged(index);
        if (allFinished())
            emit finished();
    });
    emit slotAdded(index);
    job->start();
    return job;
}

SlotJob* Station::awaitingSerial() const
{
    for (SlotJob* job : m_slots) {
        if (job->step() == SlotJob::Step::AwaitingSerial)
            return job;
    }
    return nullptr;
}

void Station::setOperator(const QString& name)
{
    if (name.isEmpty() || name == m_operator)
        return;
    const QString previous = std::exchange(m_operator, name);
    submit<Result<void>>(
        this,
        [=](Registrar& r) {
            return r.audit(AuditKind::Login, name, QStringLiteral("takes over from %1").arg(previous), name);
        },
        [](Result<void> r) {
            if (!r)
                qWarning("imprint: the operator change could not be audited: %s", qPrintable(r.error().text()));
        });
    emit operatorChanged(name);
}

bool Station::allFinished() const
{
    for (const SlotJob* job : m_slots) {
        if (!job->isFinished())
            return false;
    }
    return true;
}

} // namespace imprint::core
