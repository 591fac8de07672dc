#pragma once

#include <QMainWindow>

class QLabel;
class QTableView;

namespace imprint::core {
class Station;
}

namespace imprint::ui {

class SlotModel;

/// The operator's station window: one row per slot, counters, and the CA in use.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    MainWindow(core::Station* station, const QString& caSubject, QWidget* parent = nullptr);

    SlotModel* slotModel() const { return m_model; }

private:
    void updateCounters();
    void retrySelected();

    core::Station* m_station;
    SlotModel* m_model;
    QTableView* m_table;
    QLabel* m_counters;
};

} // namespace imprint::ui
