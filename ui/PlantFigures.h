#pragma once

#include <QJsonObject>
#include <QWidget>

class QChartView;
class QLabel;
class QTableWidget;

namespace imprint::ui {

/// The plant's figures for QA and admins, from the plant record: yield by line, the passed
/// devices per hour of each line (the last 24 hours), the failure Pareto, and the yield by
/// station, line, lot and shift as a table.
class PlantFigures : public QWidget {
    Q_OBJECT
public:
    explicit PlantFigures(QWidget* parent = nullptr);

    /// Shows plantFigures' JSON.
    void setFigures(const QJsonObject& figures);
    /// Says why there are none to show.
    void showError(const QString& message);

    QChartView* yieldChart() const { return m_yield; }
    QChartView* rateChart() const { return m_rate; }
    QChartView* paretoChart() const { return m_pareto; }
    QTableWidget* table() const { return m_table; }
    QString heading() const;

private:
    QLabel* m_heading;
    QChartView* m_yield;
    QChartView* m_rate;
    QChartView* m_pareto;
    QTableWidget* m_table;
};

} // namespace imprint::ui
