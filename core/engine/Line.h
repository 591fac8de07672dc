#pragma once

// What the window's line screen needs of the line, wherever it runs: in this process
// (LocalLine, over a Station) or in the station service (the window is then its client).

#include "Error.h"
#include "domain/Records.h"
#include "engine/Backoffice.h"
#include "engine/SlotJob.h"

#include <QDateTime>
#include <QObject>

#include <optional>

namespace imprint::core {

class Station;

/// A slot as the screens show it: a value, read from a SlotJob here or from the station
/// service's events.
struct SlotView {
    int index = 0;
    QString name; ///< its name in the fixture, when the service gave it (else LineConfig's)
    QString port;
    SlotJob::Step step = SlotJob::Step::Waiting;
    SlotJob::Step failedStep = SlotJob::Step::Waiting;
    QString serial;
    QString model;
    QString failure; ///< why it failed, in plain words
    QString failureCode;
    QString certificateSerial;
    QDateTime stepStarted; ///< on this machine's clock
    qint64 stepLimitMs = 0;
    QDateTime doneEarlierAt;
    int recentFailures = 0;
    int recentVerdicts = 0;
    QString resultLine; ///< the verdict as imprintctl provision prints it (from the service)

    [[nodiscard]] static SlotView of(const SlotJob& job);
    [[nodiscard]] bool isFinished() const
    {
        return step == SlotJob::Step::Passed || step == SlotJob::Step::Failed || step == SlotJob::Step::DoneEarlier;
    }
    [[nodiscard]] qint64 stepElapsedMs() const;
};

/// The line: its slots, who works it, and the operator's acts on it. Slots are numbered
/// from 0 in the order they were added.
class Line : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;

    [[nodiscard]] virtual int slotCount() const = 0;
    [[nodiscard]] virtual SlotView slotAt(int index) const = 0;
    [[nodiscard]] virtual QString operatorName() const = 0;
    /// The first slot waiting for a scanned serial label, or -1.
    [[nodiscard]] int awaitingSerial() const;
    [[nodiscard]] bool allFinished() const;
    /// Slots asked for and not added yet (the service has not answered).
    [[nodiscard]] virtual int slotsBeingAdded() const { return 0; }
    /// Jobs the station was stopped under, read when it started.
    [[nodiscard]] virtual QList<UnfinishedJob> interruptedJobs() const { return {}; }

    virtual void retry(int index) = 0;
    virtual void abort(int index) = 0;
    /// Hands a scanned serial label to a slot waiting for one. A refusal that only comes
    /// later (from the service) is reported through refused().
    [[nodiscard]] virtual Result<void> assignSerial(int index, const QString& serial) = 0;
    virtual void setOperator(const QString& name) = 0;
    /// Signs in as "qa" or "admin" where the line's credentials are checked elsewhere (the
    /// station service); waits for the answer. Nothing where the window checks them itself.
    [[nodiscard]] virtual std::optional<SignInOutcome> signIn(
        const QString& role, const Secret& secret, const QString& person)
    {
        (void)role, (void)secret, (void)person;
        return std::nullopt;
    }
    /// Ends a signed-in role there.
    virtual void signOut() { }

signals:
    void slotAdded(int index);
    void slotChanged(int index);
    void operatorChanged(const QString& name);
    /// Every slot has a verdict.
    void finished();
    /// An act was refused, in plain words.
    void refused(const QString& message);
    /// The shift's figures and the station's health, when they come pushed (the service).
    void shiftFigures(const core::ShiftFigures& figures);
    void health(const core::StationHealth& health);
    /// The slots are new (the service restarted, or was reached again): read them all again.
    void reset();
    /// The line's source was lost or reached again (the service), with what to tell people.
    void connectionChanged(bool connected, const QString& message);
};

/// The line of a Station in this process.
class LocalLine final : public Line {
    Q_OBJECT
public:
    explicit LocalLine(Station* station, QObject* parent = nullptr);

    int slotCount() const override;
    SlotView slotAt(int index) const override;
    QString operatorName() const override;
    QList<UnfinishedJob> interruptedJobs() const override;
    void retry(int index) override;
    void abort(int index) override;
    Result<void> assignSerial(int index, const QString& serial) override;
    void setOperator(const QString& name) override;

private:
    Station* m_station;
};

} // namespace imprint::core
