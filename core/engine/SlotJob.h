#pragma once

#include "Error.h"
#include "domain/DeviceIdentity.h"
#include "engine/Registrar.h"
#include "engine/StepTimeouts.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QObject>
#include <QTimer>

#include <functional>

namespace imprint::core {

class DeviceLink;
class DeviceTransport;
class Station;

/// One fixture slot working through the pipeline for the device on it:
/// connect -> identify -> key -> check and issue -> inject -> verify -> lock.
/// A device that goes away mid-way is waited for (StepTimeouts::reconnectMs); when the same
/// device comes back the job resumes where the device is: a certificate it already holds is
/// verified, one issued for the key it still has is installed again, and one for a key it
/// no longer has is marked superseded and a new key is made.
class SlotJob : public QObject {
    Q_OBJECT
public:
    enum class Step {
        Waiting,
        Connecting,
        Identifying,
        AwaitingSerial,
        Keying,
        Issuing,
        Injecting,
        Verifying,
        Locking,
        Reconnecting,
        Passed,
        Failed,
        DoneEarlier ///< passed on an earlier job, back on a slot holding its certificate: nothing done
    };
    Q_ENUM(Step)

    using TransportFactory = std::function<DeviceTransport*()>;

    using Timeouts = StepTimeouts;

    SlotJob(Station* station, int index, QString port, TransportFactory transport, Timeouts timeouts = {},
        QObject* parent = nullptr);
    ~SlotJob() override;

    void start();
    /// Operator action: run the whole pipeline again on this slot.
    void retry();
    /// Operator action: stop the slot now. Whatever was issued stays on record and is
    /// continued when the device is next on a slot.
    void abort(const QString& why = {});
    /// Operator action: the serial scanned from the device's label, for a device that has
    /// none yet (step AwaitingSerial). Refused, with a plain reason, otherwise.
    [[nodiscard]] Result<void> assignSerial(const QString& serial);

    int index() const { return m_index; }
    const QString& port() const { return m_port; }
    Step step() const { return m_step; }
    bool isFinished() const { return m_step == Step::Passed || m_step == Step::Failed || m_step == Step::DoneEarlier; }
    const DeviceIdentity& device() const { return m_device; }
    /// Why the slot failed, in plain words, or empty.
    const QString& failure() const { return m_failure; }
    const QString& failureCode() const { return m_failureCode; }
    /// The step that was running when the slot failed.
    Step failedStep() const { return m_failedStep; }
    const IssuedCertificate& certificate() const { return m_issued.certificate; }
    qint64 elapsedMs() const { return m_elapsed.isValid() ? m_elapsed.elapsed() : 0; }
    /// What the station itself added: from the device's request arriving to its certificate
    /// going out (check, sign, durable record), in nanoseconds; -1 until then.
    qint64 stationLatencyNs() const { return m_stationNs; }

    /// Plain name of a step for screens and logs.
    static QString stepName(Step step);
    /// Where a step is in the pipeline (1..pipelineSteps()), 0 for waiting and the verdicts.
    static int pipelinePosition(Step step);
    static constexpr int pipelineSteps() { return 7; }

    /// How long the current step has been running.
    qint64 stepElapsedMs() const { return m_stepTimer.isValid() ? m_stepTimer.elapsed() : 0; }
    /// How long the current step may take before it times out (every attempt counted);
    /// 0 when it has no limit of its own (the station's work, a label to be scanned).
    qint64 stepLimitMs() const;
    /// A device done earlier: when it passed (its certificate is certificate()).
    const QDateTime& doneEarlierAt() const { return m_doneEarlierAt; }
    /// Of this slot's last five verdicts (an operator's abort not counted), how many failed:
    /// a slot that fails again and again usually has a bent pin or a bad cable.
    int recentFailures() const;
    int recentVerdicts() const { return static_cast<int>(m_recent.size()); }

signals:
    void changed();

private:
    void setStep(Step step);
    void failWith(const Error& error);
    void failNow(const Error& error);
    /// Records this run as an attempt with no job (see Attempt), unless an operator stopped it.
    void recordAttempt();
    void openLink();
    void waitForReturn(const Error& why);
    void resume();
    /// Goes on from where the device is, with the certificate it was issued (if any).
    void continueFromDevice(const QString& blankWhy);
    void rekey();
    void supersede(const QString& why);
    void identify();
    /// The device has no serial: wait for the operator's scan, or fail when no one scans.
    void awaitSerial();
    /// identify, offering the station's protocol versions; `then` gets the parsed identity.
    void callIdentify(std::function<void(DeviceIdentity)> then);
    void generateKey();
    void injectKey();
    void issue(const QByteArray& csr, const QByteArray& expectedKey = {});
    void inject();
    /// install-cert with `args`: the certificate and chain, or {staged: true} after a transfer in parts.
    void install(const QCborMap& args);
    /// Version 3: the install-cert arguments sent in parts (stage-begin, stage-chunk), then installed.
    void stage(const QByteArray& staged);
    void stagePart(const QByteArray& staged, qsizetype offset);
    void readBack();
    /// read-cert: in one answer, or in parts for a device of version 3; `then` gets the whole.
    void readCertificate(std::function<void(QByteArray)> then);
    void readPart(QByteArray sofar, std::function<void(QByteArray)> then);
    /// Requests the current step makes (more than one for a transfer in parts): its time limit.
    int m_stepCalls = 1;
    void challenge();
    void lock();
    /// Records what the device just did (`write`, on the registrar's thread), then goes on
    /// with `next` unless the record failed (the slot fails), or the slot stopped or the
    /// device went away meanwhile (the record stands; the job went on without waiting).
    void recordThen(std::function<Result<void>(Registrar&)> write, std::function<void()> next);
    /// The device is locked and passed before: it must hold the certificate on record.
    void checkDoneEarlier(const CertificateRecord& record);
    void recordDoneEarlier();

    Station* m_station;
    int m_index;
    QString m_port;
    TransportFactory m_transportFactory;
    DeviceLink* m_link = nullptr;
    Timeouts m_timeouts;

    Step m_step = Step::Waiting;
    DeviceIdentity m_device;
    qint64 m_jobId = 0;
    Issuance m_issued;
    QString m_failure;
    QString m_failureCode;
    Step m_failedStep = Step::Waiting;
    QElapsedTimer m_elapsed;
    QElapsedTimer m_stepTimer;
    QDateTime m_doneEarlierAt;
    bool m_checkingDoneEarlier = false; ///< the challenge is a done-earlier device's
    QList<bool> m_recent; ///< the last verdicts, oldest first: true for a failure
    QElapsedTimer m_away; ///< since the device went away
    Error m_awayReason { ErrorCode::Disconnected, {}, {}, {} };
    QTimer* m_returnPoll = nullptr;
    bool m_resuming = false;
    /// m_issued may be for a key the device no longer has (it came from the record, or the
    /// device went away and came back): a refusal to install it means supersede, once.
    bool m_mayBeStale = false;
    bool m_continueWhenJob = false; ///< resume() found no job yet; its answer goes on
    bool m_beginInFlight = false; ///< the job is being recorded: a failure meanwhile ends it
    QDateTime m_startedAt; ///< when this run of the slot started
    quint64 m_run = 0; ///< which run of the slot (start() counts); older answers are dropped

    /// `f`, for this run only: a registrar answer that arrives after the slot was stopped
    /// and started again is dropped.
    template <typename T> std::function<void(T)> thisRun(std::function<void(T)> f)
    {
        return [this, run = m_run, f = std::move(f)](T value) {
            if (run == m_run)
                f(std::move(value));
        };
    }
    qint64 m_csrInNs = -1; ///< when the request arrived (m_elapsed)
    qint64 m_stationNs = -1; ///< see stationLatencyNs()
};

} // namespace imprint::core
