#include "ShiftPanel.h"

#include "FailureWords.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QHorizontalBarSeries>
#include <QLabel>
#include <QLineSeries>
#include <QLocale>
#include <QStackedBarSeries>
#include <QVBoxLayout>

#include <QValueAxis>
#include <algorithm>

namespace imprint::ui {

ShiftPanel::ShiftPanel(QWidget* parent)
    : QWidget(parent)
    , m_title(new QLabel(this))
    , m_counters(new QLabel(this))
    , m_perQuarter(new QChartView(this))
    , m_pareto(new QChartView(this))
{
    QFont big = m_counters->font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    big.setBold(true);
    m_counters->setFont(big);
    m_counters->setWordWrap(true);
    for (QChartView* v : { m_perQuarter, m_pareto }) {
        v->setRenderHint(QPainter::Antialiasing);
        v->setMinimumHeight(150);
        v->setChart(new QChart);
        v->chart()->legend()->setAlignment(Qt::AlignBottom);
        QFont small = v->chart()->legend()->font();
        small.setPointSizeF(small.pointSizeF() * 0.8);
        v->chart()->legend()->setFont(small);
        QFont title = v->chart()->titleFont();
        title.setPointSizeF(title.pointSizeF() * 0.9);
        v->chart()->setTitleFont(title);
    }
    auto* charts = new QHBoxLayout;
    charts->addWidget(m_perQuarter, 3);
    charts->addWidget(m_pareto, 2);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_title);
    layout->addWidget(m_counters);
    layout->addLayout(charts, 1);
}

QString ShiftPanel::countersText() const
{
    return m_counters->text();
}

void ShiftPanel::show(const core::ShiftFigures& f)
{
    m_figures = f;
    const QLocale locale;
    m_title->setText(tr("Shift of %1, %2 – %3")
                         .arg(locale.toString(f.since.toLocalTime().date(), QLocale::ShortFormat),
                             f.since.toLocalTime().toString(QStringLiteral("HH:mm")),
                             f.until.toLocalTime().toString(QStringLiteral("HH:mm"))));
    // The same figures as imprintctl list --counts (one computation, DeviceRecords::shift).
    const double yield = f.firstPassYield();
    const QString percent
        = yield < 0 ? QStringLiteral("—") : locale.toString(100.0 * yield, 'f', 1) + QChar(0x202F) + locale.percent();
    const QStringList parts { tr("Passed %L1").arg(f.passed), tr("Failed %L1").arg(f.failed),
        tr("No device identified %L1").arg(f.noDevice), tr("Done earlier %L1").arg(f.doneEarlier),
        tr("First-pass yield %1").arg(percent), tr("%n device(s)/h", nullptr, qRound(f.perHour())) };
    m_counters->setText(parts.join(QStringLiteral("    ")));

    // Passed and failed per quarter hour, stacked.
    QChart* q = m_perQuarter->chart();
    q->removeAllSeries();
    for (QAbstractAxis* a : q->axes())
        q->removeAxis(a);
    q->setTitle(tr("Devices per 15 minutes"));
    q->setMargins(QMargins(2, 2, 2, 2));
    auto* passed = new QBarSet(tr("Passed"));
    auto* failed = new QBarSet(tr("Failed"));
    auto* noDevice = new QBarSet(tr("No device identified"));
    passed->setColor(QColor(0x2e, 0x7d, 0x32));
    failed->setColor(QColor(0xc6, 0x28, 0x28));
    noDevice->setColor(QColor(0x75, 0x75, 0x75));
    // The time axis is labelled on the hour (every quarter for a short span), at the bars'
    // own positions: a label per bar does not fit a long shift.
    auto* timeAxis = new QCategoryAxis;
    timeAxis->setLabelsPosition(QCategoryAxis::AxisLabelsPositionOnValue);
    int top = 1;
    const bool many = f.buckets.size() > 12;
    for (qsizetype i = 0; i < f.buckets.size(); ++i) {
        const core::ShiftFigures::Bucket& b = f.buckets.at(i);
        *passed << b.passed;
        *failed << b.failed;
        *noDevice << b.noDevice;
        top = std::max(top, b.passed + b.failed + b.noDevice);
        const QTime t = b.start.toLocalTime().time();
        if (!many || t.minute() == 0)
            timeAxis->append(locale.toString(t, QStringLiteral("HH:mm")), double(i) - 0.5);
    }
    timeAxis->setRange(-0.5, std::max<double>(0.5, double(f.buckets.size()) - 0.5));
    auto* stacked = new QStackedBarSeries;
    stacked->append(passed);
    stacked->append(failed);
    stacked->append(noDevice);
    q->addSeries(stacked);
    auto* countAxis = new QValueAxis;
    countAxis->setRange(0, top);
    // As many ticks as the chart's height has room for: crowded labels are drawn as "…".
    const int room = std::clamp(m_perQuarter->height() / 40, 1, 4);
    countAxis->setTickCount(std::min(top, room) + 1);
    countAxis->setLabelFormat(QStringLiteral("%d"));
    QFont small = timeAxis->labelsFont();
    small.setPointSizeF(small.pointSizeF() * 0.75);
    timeAxis->setLabelsFont(small);
    countAxis->setLabelsFont(small);
    q->addAxis(timeAxis, Qt::AlignBottom);
    q->addAxis(countAxis, Qt::AlignLeft);
    stacked->attachAxis(timeAxis);
    stacked->attachAxis(countAxis);

    // Failures by reason, most first, each with the running share (a Pareto), as plain words:
    // horizontal bars, so that the words have the width.
    QChart* p = m_pareto->chart();
    p->removeAllSeries();
    for (QAbstractAxis* a : p->axes())
        p->removeAxis(a);
    p->setTitle(tr("Failures by reason"));
    p->setMargins(QMargins(2, 2, 2, 2));
    p->legend()->hide();
    auto* counts = new QBarSet(tr("Failures"));
    counts->setColor(QColor(0xc6, 0x28, 0x28));
    QStringList reasons;
    int total = 0, most = 1;
    for (const auto& [code, n] : f.failureReasons) {
        total += n;
        most = std::max(most, n);
    }
    // The five biggest, then the rest together.
    QList<QPair<QString, int>> shownReasons = f.failureReasons.mid(0, 5);
    int rest = 0;
    for (qsizetype i = 5; i < f.failureReasons.size(); ++i)
        rest += f.failureReasons.at(i).second;
    int running = 0;
    for (const auto& [code, n] : shownReasons) {
        running += n;
        reasons << tr("%1 · %2").arg(FailureWords::label(code),
            locale.toString(total > 0 ? 100.0 * running / total : 0.0, 'f', 0) + QChar(0x202F) + locale.percent());
        *counts << n;
    }
    if (rest > 0) {
        reasons << tr("other · %1").arg(locale.toString(100.0, 'f', 0) + QChar(0x202F) + locale.percent());
        *counts << rest;
    }
    // Qt draws the first category at the bottom: the biggest goes on top.
    std::reverse(reasons.begin(), reasons.end());
    QList<qreal> values;
    for (int k = 0; k < counts->count(); ++k)
        values.prepend(counts->at(k));
    counts->remove(0, static_cast<int>(values.size()));
    counts->append(values);
    auto* bars = new QHorizontalBarSeries;
    bars->append(counts);
    p->addSeries(bars);
    auto* reasonAxis = new QBarCategoryAxis;
    reasonAxis->append(reasons.isEmpty() ? QStringList { tr("none") } : reasons);
    auto* nAxis = new QValueAxis;
    nAxis->setRange(0, most);
    nAxis->setTickCount(std::min(most, std::clamp(m_pareto->width() / 80, 1, 4)) + 1);
    nAxis->setLabelFormat(QStringLiteral("%d"));
    QFont smallAxis = nAxis->labelsFont();
    smallAxis.setPointSizeF(smallAxis.pointSizeF() * 0.8);
    reasonAxis->setLabelsFont(smallAxis);
    nAxis->setLabelsFont(smallAxis);
    p->addAxis(reasonAxis, Qt::AlignLeft);
    p->addAxis(nAxis, Qt::AlignBottom);
    bars->attachAxis(reasonAxis);
    bars->attachAxis(nAxis);
}

} // namespace imprint::ui
