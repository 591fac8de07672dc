#pragma once

#include "engine/Line.h"
#include "engine/PlantDesk.h"

#include <QHash>
#include <QJsonObject>
#include <QSet>

#include <functional>
#include <optional>

class QLocalSocket;
class QTimer;

namespace imprint::app {

/// The station service's line, for the window as its client: the slots as the service's
/// events say, the operator's acts sent to it. When the service goes away the window keeps
/// what it last saw, says so, and connects again; the line itself never waited for it.
class RemoteLine final : public core::Line, public core::QaDesk, public core::PlantDesk {
    Q_OBJECT
public:
    RemoteLine(QString socketPath, QObject* parent = nullptr);
    ~RemoteLine() override;

    /// Connects and waits up to `timeoutMs` for the line's first picture.
    [[nodiscard]] core::Result<void> connectNow(int timeoutMs);

    int slotCount() const override { return static_cast<int>(m_slots.size()); }
    core::SlotView slotAt(int index) const override { return m_slots.at(index); }
    QString operatorName() const override { return m_operator; }
    void retry(int index) override;
    void abort(int index) override;
    core::Result<void> assignSerial(int index, const QString& serial) override;
    void setOperator(const QString& name) override;
    std::optional<core::SignInOutcome> signIn(
        const QString& role, const core::Secret& secret, const QString& person) override;
    void signOut() override;

    // QA's screen, through the service.
    void story(QObject* context, QString serial, std::function<void(core::Result<core::DeviceStory>)> done) override;
    void plantDevice(QObject* context, QString serial, std::function<void(core::Result<QJsonObject>)> done) override;
    void plantFigures(QObject* context, std::function<void(core::Result<QJsonObject>)> done) override;
    void devices(QObject* context, core::DeviceQuery query,
        std::function<void(core::Result<QList<core::DeviceRecord>>)> done) override;
    void checkAudit(QObject* context, std::function<void(core::Result<core::AuditVerdict>)> done) override;
    void scrap(QObject* context, QString serial, QString reason, QString person,
        std::function<void(core::Result<QString>)> done) override;

    /// Asks the service for a slot on `port` (the window's --port); asked again when the
    /// service restarts without it, so that its device resumes there.
    void addSlot(const QString& port);
    int slotsBeingAdded() const override { return m_adding; }
    /// Says the shift's figures and the health again (for a window built after they came).
    void replayFigures();
    const QString& stationName() const { return m_station; }
    const QString& caSubject() const { return m_ca; }

    [[nodiscard]] static core::SlotView slotOf(const QJsonObject& slot);
    [[nodiscard]] static core::ShiftFigures shiftOf(const QJsonObject& event);
    [[nodiscard]] static core::StationHealth healthOf(const QJsonObject& event);

private:
    void request(const QString& method, const QJsonObject& params,
        std::function<void(const QJsonObject& result, const QJsonObject& error)> done = {});
    /// A read answered by the service: its result converted, or its error, while `context` lives.
    template <typename T>
    void read(QObject* context, const QString& method, const QJsonObject& params, T (*convert)(const QJsonObject&),
        std::function<void(core::Result<T>)> done);
    void readAll();
    void handle(const QJsonObject& message);
    void snapshot(const QJsonObject& line);
    void slotEvent(const QJsonObject& slot);
    void connectAgain();
    void requestSlot(const QString& port);

    QString m_path;
    QLocalSocket* m_socket;
    QTimer* m_retry;
    QByteArray m_input;
    QList<core::SlotView> m_slots;
    QString m_operator;
    QString m_person; ///< who works at this window (recorded with the slots it adds)
    QStringList m_ports; ///< the slots this window asked for
    QString m_station;
    QString m_ca;
    bool m_haveLine = false;
    bool m_connected = false;
    int m_adding = 0;
    int m_announced = 0; ///< slots the window has been told of
    QSet<int> m_changed; ///< slots changed in the batch being read
    bool m_finishing = false; ///< a slot finished in the batch being read
    std::optional<core::ShiftFigures> m_shift;
    std::optional<core::StationHealth> m_health;
    qint64 m_nextId = 1;
    QHash<qint64, std::function<void(const QJsonObject&, const QJsonObject&)>> m_pending;
};

} // namespace imprint::app
