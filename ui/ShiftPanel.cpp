#include "ShiftPanel.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QLocale>
#include <QStackedBarSeries>
#include <QVBoxLayout>
#include <QValueAxis>

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
    const double hours
        = std::max(1.0 / 60.0, double(f.since.secsTo(std::min(QDateTime::currentDateTimeUtc(), f.until))) / 3600.0);
    const double yield = f.firstPassYield();
    m_counters->setText(tr("Passed %1    Failed %2    Done earlier %3    First-pass yield %4    %5 devices/h")
                            .arg(f.passed)
                            .arg(f.failed)
                            .arg(f.doneEarlier)
                            .arg(yield < 0 ? QStringLiteral("—") : QStringLiteral("%1 %").arg(100.0 * yield, 0, 'f', 1))
                            .arg(double(f.passed + f.failed) / hours, 0, 'f', 0));

    // Passed and failed per quarter hour, stacked.
    QChart* q = m_perQuarter->chart();
    q->removeAllSeries();
    for (QAbstractAxis* a : q->axes())
        q->removeAxis(a);
    q->setTitle(tr("Devices per 15 minutes"));
    q->setMargins(QMargins(2, 2, 2, 2));
    auto* passed = new QBarSet(tr("Passed"));
    auto* failed = new QBarSet(tr("Failed"));
    passed->setColor(QColor(0x2e, 0x7d, 0x32));
    failed->setColor(QColor(0xc6, 0x28, 0x28));
    QStringList times;
    int top = 1;
    for (const core::ShiftFigures::Bucket& b : f.buckets) {
        *passed << b.passed;
        *failed << b.failed;
        top = std::max(top, b.passed + b.failed);
        times << locale.toString(b.start.toLocalTime().time(), QStringLiteral("HH:mm"));
    }
    auto* stacked = new QStackedBarSeries;
    stacked->append(passed);
    stacked->append(failed);
    q->addSeries(stacked);
    auto* timeAxis = new QBarCategoryAxis;
    timeAxis->append(times);
    auto* countAxis = new QValueAxis;
    countAxis->setRange(0, top);
    countAxis->setTickCount(std::min(top, 4) + 1);
    countAxis->setLabelFormat(QStringLiteral("%d"));
    if (times.size() > 8)
        timeAxis->setLabelsAngle(-90);
    QFont small = timeAxis->labelsFont();
    small.setPointSizeF(small.pointSizeF() * 0.75);
    timeAxis->setLabelsFont(small);
    countAxis->setLabelsFont(small);
    q->addAxis(timeAxis, Qt::AlignBottom);
    q->addAxis(countAxis, Qt::AlignLeft);
    stacked->attachAxis(timeAxis);
    stacked->attachAxis(countAxis);

    // Failures by reason, most first, with the running share (a Pareto).
    QChart* p = m_pareto->chart();
    p->removeAllSeries();
    for (QAbstractAxis* a : p->axes())
        p->removeAxis(a);
    p->setTitle(tr("Failures by reason"));
    p->setMargins(QMargins(2, 2, 2, 2));
    auto* counts = new QBarSet(tr("Failures"));
    counts->setColor(QColor(0xc6, 0x28, 0x28));
    auto* share = new QLineSeries;
    share->setName(tr("Running share %"));
    QStringList reasons;
    int total = 0, most = 1;
    for (const auto& [code, n] : f.failureReasons) {
        total += n;
        most = std::max(most, n);
    }
    int running = 0;
    const qsizetype shown = std::min<qsizetype>(f.failureReasons.size(), 8);
    for (qsizetype i = 0; i < shown; ++i) {
        const auto& [code, n] = f.failureReasons.at(i);
        *counts << n;
        running += n;
        share->append(double(i), total > 0 ? 100.0 * running / total : 0.0);
        reasons << code;
    }
    auto* bars = new QBarSeries;
    bars->append(counts);
    p->addSeries(bars);
    p->addSeries(share);
    auto* reasonAxis = new QBarCategoryAxis;
    reasonAxis->append(reasons.isEmpty() ? QStringList { tr("none") } : reasons);
    auto* nAxis = new QValueAxis;
    nAxis->setRange(0, most);
    nAxis->setTickCount(std::min(most, 4) + 1);
    nAxis->setLabelFormat(QStringLiteral("%d"));
    auto* pctAxis = new QValueAxis;
    pctAxis->setRange(0, 100);
    pctAxis->setTickCount(5);
    QFont smallAxis = pctAxis->labelsFont();
    smallAxis.setPointSizeF(smallAxis.pointSizeF() * 0.75);
    for (QAbstractAxis* a : std::initializer_list<QAbstractAxis*> { reasonAxis, nAxis, pctAxis })
        a->setLabelsFont(smallAxis);
    pctAxis->setLabelFormat(QStringLiteral("%d %%"));
    p->addAxis(reasonAxis, Qt::AlignBottom);
    p->addAxis(nAxis, Qt::AlignLeft);
    p->addAxis(pctAxis, Qt::AlignRight);
    bars->attachAxis(reasonAxis);
    bars->attachAxis(nAxis);
    share->attachAxis(reasonAxis);
    share->attachAxis(pctAxis);
}

} // namespace imprint::ui
