#include "MainWindow.h"

#include "SlotModel.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
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
    , m_notice(new QLabel(this))
    , m_operator(new QLabel(this))
    , m_scan(new QLineEdit(this))
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
    toolbar->addAction(tr("Abort slot"), this, &MainWindow::abortSelected);
    toolbar->addSeparator();
    // A barcode scanner is a keyboard: it types the label and Enter.
    m_scan->setPlaceholderText(tr("Scan a serial label"));
    m_scan->setClearButtonEnabled(true);
    m_scan->setMaximumWidth(260);
    toolbar->addWidget(new QLabel(tr(" Serial label: "), this));
    toolbar->addWidget(m_scan);
    connect(m_scan, &QLineEdit::returnPressed, this, [this] {
        if (takeScannedSerial(m_scan->text().trimmed()))
            m_scan->clear();
        else
            m_scan->selectAll();
    });
    toolbar->addSeparator();
    toolbar->addAction(tr("Change operator…"), this, &MainWindow::changeOperator);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    QFont big = m_counters->font();
    big.setPointSize(big.pointSize() + 4);
    big.setBold(true);
    m_counters->setFont(big);
    layout->addWidget(m_counters);
    // Jobs the station was stopped under (a crash, a power cut): their devices continue
    // where they were when they are back on a slot.
    const auto& interrupted = station->interruptedJobs();
    if (!interrupted.isEmpty()) {
        QStringList serials;
        for (qsizetype i = 0; i < std::min<qsizetype>(interrupted.size(), 8); ++i)
            serials << interrupted.at(i).deviceSerial;
        if (interrupted.size() > 8)
            serials << tr("and %1 more").arg(interrupted.size() - 8);
        const QString what = interrupted.size() == 1
            ? tr("1 job was interrupted when the station last stopped")
            : tr("%1 jobs were interrupted when the station last stopped").arg(interrupted.size());
        m_notice->setText(tr("%1: %2. Put these devices back on a slot: each one continues where it was "
                             "(imprintctl jobs lists them).")
                              .arg(what, serials.join(QStringLiteral(", "))));
        m_notice->setWordWrap(true);
        m_notice->setStyleSheet(QStringLiteral("QLabel { background: #fff3cd; color: #664d03; padding: 8px; "
                                               "border: 1px solid #ffe69c; }"));
    }
    m_notice->setVisible(!interrupted.isEmpty());
    layout->addWidget(m_notice);
    layout->addWidget(m_table);
    setCentralWidget(central);

    statusBar()->addWidget(new QLabel(tr("Issuing CA: %1").arg(caSubject), this));
    statusBar()->addPermanentWidget(m_operator);
    m_operator->setText(tr("Operator: %1").arg(station->operatorName()));
    connect(station, &core::Station::operatorChanged, this,
        [this](const QString& name) { m_operator->setText(tr("Operator: %1").arg(name)); });

    connect(station, &core::Station::slotChanged, this, &MainWindow::updateCounters);
    connect(station, &core::Station::slotAdded, this, &MainWindow::updateCounters);
    connect(station, &core::Station::slotChanged, this, [this](int index) {
        // A device waiting for its label: the scanner's field is where the next scan goes.
        if (m_station->slotJobs().at(index)->step() == core::SlotJob::Step::AwaitingSerial)
            m_scan->setFocus();
    });
    updateCounters();
    resize(1100, 440);
}

void MainWindow::updateCounters()
{
    int passed = 0, failed = 0, busy = 0, waiting = 0;
    for (const core::SlotJob* job : m_station->slotJobs()) {
        if (job->step() == core::SlotJob::Step::Passed)
            ++passed;
        else if (job->step() == core::SlotJob::Step::Failed)
            ++failed;
        else
            ++busy;
        waiting += job->step() == core::SlotJob::Step::AwaitingSerial;
    }
    const int done = passed + failed;
    const QString yield = done > 0 ? QStringLiteral("%1 %").arg(100.0 * passed / done, 0, 'f', 1) : QStringLiteral("—");
    QString text
        = tr("Passed %1    Failed %2    In progress %3    Yield %4").arg(passed).arg(failed).arg(busy).arg(yield);
    if (waiting > 0)
        text += tr("    Waiting for a label: %1").arg(waiting);
    m_counters->setText(text);
}

core::SlotJob* MainWindow::selectedJob() const
{
    const auto rows = m_table->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return nullptr;
    return m_station->slotJobs().at(rows.first().row());
}

bool MainWindow::takeScannedSerial(const QString& label)
{
    if (label.isEmpty())
        return false;
    core::SlotJob* job = selectedJob();
    if (!job || job->step() != core::SlotJob::Step::AwaitingSerial)
        job = m_station->awaitingSerial();
    if (!job) {
        statusBar()->showMessage(tr("No device is waiting for a serial label."), 8000);
        return false;
    }
    if (auto r = job->assignSerial(label); !r) {
        statusBar()->showMessage(r.error().message, 8000);
        return false;
    }
    statusBar()->showMessage(tr("Serial %1 given to slot %2.").arg(label).arg(job->index() + 1), 5000);
    return true;
}

void MainWindow::retrySelected()
{
    if (core::SlotJob* job = selectedJob())
        job->retry();
}

void MainWindow::abortSelected()
{
    if (core::SlotJob* job = selectedJob())
        job->abort();
}

void MainWindow::changeOperator()
{
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Change operator"),
        tr("The operator taking over (scan your badge or type your name):"), QLineEdit::Normal, QString(), &ok)
                             .trimmed();
    if (ok && !name.isEmpty())
        m_station->setOperator(name);
}

} // namespace imprint::ui
