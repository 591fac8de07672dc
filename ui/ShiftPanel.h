#pragma once

#include "DataDir.h"
#include "domain/Records.h"

#include <QWidget>

class QLabel;
class QChartView;

namespace imprint::ui {

/// The shift in figures and two charts: passed and failed per 15 minutes, and the failures by
/// reason as a Pareto (most first, with the running share). The figures come from the store.
class ShiftPanel : public QWidget {
    Q_OBJECT
public:
    explicit ShiftPanel(QWidget* parent = nullptr);

    void show(const core::ShiftFigures& figures);
    const core::ShiftFigures& figures() const { return m_figures; }
    QString countersText() const;

private:
    core::ShiftFigures m_figures;
    QLabel* m_title;
    QLabel* m_counters;
    QChartView* m_perQuarter;
    QChartView* m_pareto;
};

} // namespace imprint::ui
