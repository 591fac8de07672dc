#include "MainWindow.h"

#include "SlotModel.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QHeaderView>
#include <QLabel>
#include <QStatusBar>
#include <QTableView>
#include <QToolBar>
#include <QVBoxLayout>

namespace imprint::ui {

MainWindow::MainWindow(core::Station* station, const QString& caSubject, QWidget* parent)
    : QMainWindow(parent)
    , m_station(station)
    , m_model(new SlotModel(station, this))
    , m_table(new QTableView(this))
    , m_counters(new QLabel(this))
{
    setWindowTitle(tr("Imprint — provisioning station"));
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setColumnWidth(SlotModel::Slot, 160);
    m_table->setColumnWidth(SlotModel::Device, 150);
    m_table->setColumnWidth(SlotModel::Step, 170);
    m_table->setColumnWidth(SlotModel::Result, 80);
    m_table->verticalHeader()->setDefaultSectionSize(36);

    auto* toolbar = addToolBar(tr("Slot"));
    toolbar->setMovable(false);
    toolbar->addAction(tr("Retry slot"), this, &MainWindow::retrySelected);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    QFont big = m_counters->font();
    big.setPointSize(big.pointSize() + 4);
    big.setBold(true);
    m_counters->setFont(big);
    layout->addWidget(m_counters);
    layout->addWidget(m_table);
    setCentralWidget(central);

    statusBar()->addWidget(new QLabel(tr("Issuing CA: %1").arg(caSubject), this));
    statusBar()->addPermanentWidget(new QLabel(tr("Operator: %1").arg(station->operatorName()), this));

    connect(station, &core::Station::slotChanged, this, &MainWindow::updateCounters);
    connect(station, &core::Station::slotAdded, this, &MainWindow::updateCounters);
    updateCounters();
    resize(980, 420);
}

void MainWindow::updateCounters()
{
    int passed = 0, failed = 0, busy = 0;
    for (const core::SlotJob* job : m_station->slotJobs()) {
        if (job->step() == core::SlotJob::Step::Passed)
            ++passed;
        else if (job->step() == core::SlotJob::Step::Failed)
            ++failed;
        else
            ++busy;
    }
    const int done = passed + failed;
    const QString yield = done > 0 ? QStringLiteral("%1 %").arg(100.0 * passed / done, 0, 'f', 1) : QStringLiteral("—");
    m_counters->setText(
        tr("Passed %1    Failed %2    In progress %3    Yield %4").arg(passed).arg(failed).arg(busy).arg(yield));
}

void MainWindow::retrySelected()
{
    const auto rows = m_table->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return;
    m_station->slotJobs().at(rows.first().row())->retry();
}

} // namespace imprint::ui
