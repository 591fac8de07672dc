#pragma once

#include "Error.h"
#include "engine/Registrar.h"
#include "engine/SlotJob.h"

#include <QList>
#include <QObject>
#include <QPointer>
#include <QThread>

#include <functional>
#include <memory>
#include <mutex>

namespace imprint::core {

class SlotJob;

/// The provisioning engine: slots on the GUI (or CLI) thread, each driven
/// asynchronously, and one Registrar on its own thread for checks, signing and records.
class Station : public QObject {
    Q_OBJECT
public:
    using RegistrarFactory = std::function<Result<std::unique_ptr<Registrar>>()>;

    explicit Station(QString operatorName, QObject* parent = nullptr);
    ~Station() override;

    /// Builds the Registrar on its thread (the store connection belongs to that thread).
    /// Blocks until it is ready; call once, before the event loop is busy.
    [[nodiscard]] Result<void> start(const RegistrarFactory& factory);

    /// Adds a slot and starts provisioning on it. `port` is a serial port ("PATH" or
    /// "PATH@115200,8N1", see SerialPortSpec) or a USB device ("usb:VVVV:PPPP[:SERIAL]").
    SlotJob* addSlot(const QString& port);
    /// Whether `port` is a port addSlot understands, with a plain reason if not.
    [[nodiscard]] static Result<void> checkPort(const QString& port);

    /// Adds a slot for every USB device with these ids that is plugged in (and those already
    /// there). A device that comes back while its slot waits for it is left to that slot.
    [[nodiscard]] Result<void> watchUsb(quint16 vendorId, quint16 productId);

    const QList<SlotJob*>& slotJobs() const { return m_slots; }
    /// The first slot waiting for a scanned serial, or nullptr.
    [[nodiscard]] SlotJob* awaitingSerial() const;
    /// Whether someone scans serial labels here (the window, provision --scan): a device
    /// with no serial then waits for one instead of failing.
    void setAcceptsScannedSerials(bool yes) { m_scanner = yes; }
    bool acceptsScannedSerials() const { return m_scanner; }
    /// A new operator takes over (shift change): recorded in the audit log; jobs started
    /// from now on carry the name.
    void setOperator(const QString& name);
    /// Jobs an earlier run left unfinished (read at start): each device is resumed when it
    /// comes back, and stays flagged in-progress until then.
    const QList<UnfinishedJob>& interruptedJobs() const { return m_interrupted; }
    const QString& operatorName() const { return m_operator; }
    /// Timeouts and repeats for the slots added from now on.
    void setTimeouts(const SlotJob::Timeouts& timeouts) { m_timeouts = timeouts; }

    /// Runs `work` on the Registrar's thread, then `done` on this thread, but only while
    /// `context` is alive. The one way slots reach the HSM and the store.
    template <typename T> void submit(QObject* context, std::function<T(Registrar&)> work, std::function<void(T)> done)
    {
        QPointer<QObject> guard(context);
        QMetaObject::invokeMethod(m_worker, [this, guard, work = std::move(work), done = std::move(done)]() mutable {
            auto result = std::make_shared<T>(work(*m_registrar));
            QMetaObject::invokeMethod(this, [guard, result, done = std::move(done)] {
                if (guard)
                    done(std::move(*result));
            });
        });
    }

    /// Has a request issued on the Registrar's thread, then `done` called on this thread
    /// (while `context` lives). Requests that arrive while the Registrar is busy are issued
    /// together: one commit for their intents, one synced commit for their certificates.
    void submitIssue(QObject* context, IssueRequest request, std::function<void(Result<Issuance>)> done);

    /// True when every slot has passed or failed.
    [[nodiscard]] bool allFinished() const;

signals:
    void slotChanged(int index);
    void operatorChanged(const QString& name);
    void slotAdded(int index);
    void finished();

private:
    QString m_operator;
    SlotJob::Timeouts m_timeouts;
    QThread m_thread;
    QObject* m_worker = nullptr; ///< lives on m_thread; context for queued work
    std::unique_ptr<Registrar> m_registrar;
    QList<SlotJob*> m_slots;
    QList<UnfinishedJob> m_interrupted;
    bool m_scanner = false;

    struct QueuedIssue {
        QPointer<QObject> guard;
        IssueRequest request;
        std::function<void(Result<Issuance>)> done;
    };
    void drainIssues(); ///< on the Registrar's thread
    std::mutex m_issueMutex;
    QList<QueuedIssue> m_issueQueue;
    bool m_drainPosted = false;
};

} // namespace imprint::core
