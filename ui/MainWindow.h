#pragma once

#include <QMainWindow>

class QLabel;
class QLineEdit;
class QTableView;

namespace imprint::core {
class Station;
class SlotJob;
} // namespace imprint::core

namespace imprint::ui {

class SlotModel;

/// The operator's station window: one row per slot, counters, the CA in use, the slot
/// actions (retry, abort, a scanned serial label for a device that has none), the
/// operator on shift, and a notice of the jobs the station was stopped under.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow(core::Station* station, const QString& caSubject, QWidget* parent = nullptr);

    SlotModel* slotModel() const { return m_model; }
    /// The field a barcode scanner types serial labels into (Enter hands one over).
    QLineEdit* scanField() const { return m_scan; }
    /// The notice of interrupted jobs (hidden when there are none).
    QLabel* notice() const { return m_notice; }

    /// Hands a scanned serial label to the selected slot, or else to the first slot
    /// waiting for one; a refusal is shown in the status bar. Returns whether it was taken.
    bool takeScannedSerial(const QString& label);

private:
    void updateCounters();
    core::SlotJob* selectedJob() const;
    void retrySelected();
    void abortSelected();
    void changeOperator();

    core::Station* m_station;
    SlotModel* m_model;
    QTableView* m_table;
    QLabel* m_counters;
    QLabel* m_notice;
    QLabel* m_operator;
    QLineEdit* m_scan;
};

} // namespace imprint::ui
