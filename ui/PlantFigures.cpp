#include "PlantFigures.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QDateTimeAxis>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QHorizontalBarSeries>
#include <QJsonArray>
#include <QLabel>
#include <QLineSeries>
#include <QLocale>
#include <QMap>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QValueAxis>

namespace imprint::ui {

namespace {

/// A chart's label for a station's own words: Qt Charts draws labels as rich text, so
/// escaped, and cut short; unique (a category axis drops a repeated one, and every bar after
/// it would stand against the wrong label).
QString label(QString text, const QStringList& taken)
{
    text = text.simplified();
    if (text.size() > 40)
        text = text.left(39) + QStringLiteral("…");
    QString unique = text;
    for (int n = 2; taken.contains(unique.toHtmlEscaped()); ++n)
        unique = QStringLiteral("%1 (%2)").arg(text).arg(n);
    return unique.toHtmlEscaped();
}

QDateTime timeOf(const QJsonValue& v)
{
    return QDateTime::fromString(v.toString(), Qt::ISODate);
}

/// A count's axis from 0 to `top`, a tick on whole numbers only.
QValueAxis* countAxis(qint64 top)
{
    auto* axis = new QValueAxis;
    top = std::max<qint64>(top, 1);
    const qint64 step = std::max<qint64>(1, (top + 3) / 4);
    axis->setRange(0, static_cast<qreal>(((top + step - 1) / step) * step));
    axis->setTickCount(static_cast<int>((top + step - 1) / step) + 1);
    axis->setLabelFormat(QStringLiteral("%d"));
    return axis;
}

} // namespace

PlantFigures::PlantFigures(QWidget* parent)
    : QWidget(parent)
    , m_heading(new QLabel(this))
    , m_yield(new QChartView(this))
    , m_rate(new QChartView(this))
    , m_pareto(new QChartView(this))
    , m_table(new QTableWidget(this))
{
    m_heading->setWordWrap(true);
    m_heading->setTextFormat(Qt::PlainText);
    for (QChartView* v : { m_yield, m_rate, m_pareto }) {
        v->setRenderHint(QPainter::Antialiasing);
        v->setMinimumHeight(180);
        v->setChart(new QChart);
        v->chart()->legend()->setAlignment(Qt::AlignBottom);
    }
    m_table->setColumnCount(7);
    m_table->setHorizontalHeaderLabels(
        { tr("Station"), tr("Line"), tr("Lot"), tr("Shift"), tr("Passed"), tr("Failed"), tr("Yield") });
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setStretchLastSection(true);
    auto* charts = new QHBoxLayout;
    charts->addWidget(m_yield, 1);
    charts->addWidget(m_rate, 2);
    charts->addWidget(m_pareto, 2);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_heading);
    layout->addLayout(charts, 2);
    layout->addWidget(m_table, 1);
    showError(tr("Reading the plant record…"));
}

QString PlantFigures::heading() const
{
    return m_heading->text();
}

void PlantFigures::showError(const QString& message)
{
    m_heading->setText(message);
}

void PlantFigures::setFigures(const QJsonObject& figures)
{
    const QLocale locale;
    m_heading->setText(tr("From the plant record, as of %1: every station's jobs of the last 7 days.")
                           .arg(locale.toString(timeOf(figures[QStringLiteral("as_of")]).toLocalTime(),
                               QStringLiteral("yyyy-MM-dd HH:mm"))));
    const QJsonArray yield = figures[QStringLiteral("yield")].toArray();

    // Yield by line: passed of those that ended (each line's totals, counted by the plant).
    {
        QChart* chart = m_yield->chart();
        chart->removeAllSeries();
        for (QAbstractAxis* a : chart->axes())
            chart->removeAxis(a);
        chart->setTitle(tr("Yield by line (%)"));
        auto* set = new QBarSet(tr("yield"));
        QStringList lines;
        for (const QJsonValue& v : figures[QStringLiteral("lines")].toArray()) {
            const QJsonObject o = v.toObject();
            const qint64 passed = o[QStringLiteral("passed")].toInteger();
            const qint64 ended = passed + o[QStringLiteral("failed")].toInteger();
            const QString line = o[QStringLiteral("line")].toString();
            lines << label(line.isEmpty() ? tr("(no line)") : line, lines);
            *set << (ended ? 100.0 * static_cast<double>(passed) / static_cast<double>(ended) : 0.0);
        }
        auto* series = new QBarSeries;
        series->append(set);
        chart->addSeries(series);
        auto* x = new QBarCategoryAxis;
        x->append(lines);
        auto* y = new QValueAxis;
        y->setRange(0, 100);
        y->setLabelFormat(QStringLiteral("%d"));
        chart->addAxis(x, Qt::AlignBottom);
        chart->addAxis(y, Qt::AlignLeft);
        series->attachAxis(x);
        series->attachAxis(y);
        chart->legend()->hide();
    }

    // Rate: passed devices per hour, a line each.
    {
        QChart* chart = m_rate->chart();
        chart->removeAllSeries();
        for (QAbstractAxis* a : chart->axes())
            chart->removeAxis(a);
        chart->setTitle(tr("Passed per hour, last 24 hours"));
        QMap<QString, QLineSeries*> series;
        qint64 top = 1;
        for (const QJsonValue& v : figures[QStringLiteral("rate")].toArray()) {
            const QJsonObject o = v.toObject();
            const QString line = o[QStringLiteral("line")].toString();
            QLineSeries*& s = series[line];
            if (!s) {
                s = new QLineSeries;
                s->setPointsVisible(true);
                s->setName(label(line.isEmpty() ? tr("(no line)") : line, {}));
            }
            const qint64 passed = o[QStringLiteral("passed")].toInteger();
            top = std::max(top, passed);
            s->append(
                static_cast<qreal>(timeOf(o[QStringLiteral("hour")]).toMSecsSinceEpoch()), static_cast<qreal>(passed));
        }
        auto* x = new QDateTimeAxis;
        x->setFormat(QStringLiteral("HH:mm"));
        const QDateTime now = QDateTime::currentDateTime();
        x->setRange(now.addSecs(-24 * 3600), now);
        QValueAxis* y = countAxis(top);
        chart->addAxis(x, Qt::AlignBottom);
        chart->addAxis(y, Qt::AlignLeft);
        for (QLineSeries* s : series) {
            chart->addSeries(s);
            s->attachAxis(x);
            s->attachAxis(y);
        }
    }

    // The failure Pareto: reasons, most first.
    {
        QChart* chart = m_pareto->chart();
        chart->removeAllSeries();
        for (QAbstractAxis* a : chart->axes())
            chart->removeAxis(a);
        chart->setTitle(tr("Failures by reason"));
        auto* set = new QBarSet(tr("jobs"));
        QStringList reasons;
        qint64 most = 1;
        const QJsonArray failures = figures[QStringLiteral("failures")].toArray();
        // A horizontal bar chart draws its first category at the bottom: the most at the top.
        for (auto i = failures.size(); i-- > 0;) {
            const QJsonObject o = failures[i].toObject();
            const QString reason = o[QStringLiteral("reason")].toString();
            reasons << label(reason.isEmpty() ? tr("(no reason)") : reason, reasons);
            *set << static_cast<qreal>(o[QStringLiteral("jobs")].toInteger());
            most = std::max(most, o[QStringLiteral("jobs")].toInteger());
        }
        auto* series = new QHorizontalBarSeries;
        series->append(set);
        chart->addSeries(series);
        auto* y = new QBarCategoryAxis;
        y->append(reasons);
        QValueAxis* x = countAxis(most);
        chart->addAxis(y, Qt::AlignLeft);
        chart->addAxis(x, Qt::AlignBottom);
        series->attachAxis(x);
        series->attachAxis(y);
        chart->legend()->hide();
    }

    m_table->setRowCount(static_cast<int>(yield.size()));
    for (int r = 0; r < yield.size(); ++r) {
        const QJsonObject o = yield[r].toObject();
        const qint64 passed = o[QStringLiteral("passed")].toInteger();
        const qint64 failed = o[QStringLiteral("failed")].toInteger();
        const QStringList cells { o[QStringLiteral("station_id")].toString(), o[QStringLiteral("line")].toString(),
            o[QStringLiteral("lot")].toString(),
            locale.toString(timeOf(o[QStringLiteral("shift")]).toLocalTime(), QStringLiteral("yyyy-MM-dd HH:mm")),
            QString::number(passed), QString::number(failed),
            passed + failed
                ? locale.toString(100.0 * static_cast<double>(passed) / static_cast<double>(passed + failed), 'f', 1)
                    + QStringLiteral(" %")
                : QStringLiteral("–") };
        for (int c = 0; c < cells.size(); ++c)
            m_table->setItem(r, c, new QTableWidgetItem(cells[c]));
    }
    m_table->resizeColumnsToContents();
}

} // namespace imprint::ui
