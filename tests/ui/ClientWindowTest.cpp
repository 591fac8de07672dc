// The window as the station service's client: a line screen and a QA desk connected at once,
// each with its own role; QA's credential checked by the service, QA's acts done by it; and
// QA's reads of the plant record, made by the service (whose account holds the password).

#include "DataDir.h"
#include "DeviceListModel.h"
#include "MainWindow.h"
#include "PlantFigures.h"
#include "QaScreen.h"
#include "RemoteLine.h"
#include "SlotModel.h"
#include "TestPostgres.h"
#include "TestSupport.h"
#include "pki/Passphrase.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QElapsedTimer>
#include <QFile>
#include <QHorizontalBarSeries>
#include <QLineEdit>
#include <QProcess>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QByteArray QaPassphrase("qa-desk-passphrase");

/// A window on the service's line, with the credentials a test gives it.
struct ClientWindow {
    app::RemoteLine line;
    std::unique_ptr<ui::MainWindow> window;
    QList<std::pair<QString, QByteArray>> answers;

    explicit ClientWindow(const QString& socket)
        : line(socket)
    {
        REQUIRE(line.connectNow(10000).has_value());
        line.setOperator(QStringLiteral("desk"));
        window = std::make_unique<ui::MainWindow>(&line, nullptr, line.caSubject());
        window->setPlantDesk(&line);
        window->setCredentialPrompt(
            [this](ui::MainWindow::Role, const QString&) -> std::optional<ui::MainWindow::Credential> {
                if (answers.isEmpty())
                    return std::nullopt;
                auto [person, secret] = answers.takeFirst();
                return ui::MainWindow::Credential { person, core::Secret(secret) };
            });
    }
};

/// Saves a picture of `widget` where IMPRINT_TEST_SCREENSHOTS says, once its charts are drawn.
void keepPicture(QWidget& widget, const QString& name)
{
    const QString dir = qEnvironmentVariable("IMPRINT_TEST_SCREENSHOTS");
    if (dir.isEmpty())
        return;
    QTest::qWait(500);
    widget.grab().save(dir + u'/' + name + QStringLiteral(".png"));
}

} // namespace

TEST_CASE(
    "A line screen and a QA desk on one station service: QA signs in with the service, sees a device and scraps it")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    const QString socket = tmp.filePath(QStringLiteral("station.sock"));
    test::initQuickStation(dataDir);
    auto hash = core::hashPassphrase(core::Secret(QaPassphrase));
    REQUIRE(hash.has_value());
    REQUIRE(core::DataDir::writePrivateFile(core::DataDir(dataDir).qaPassphraseFile(), *hash).has_value());
    QProcess service;
    service.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    service.start(QStringLiteral(IMPRINT_DAEMON),
        { QStringLiteral("--data-dir"), dataDir, QStringLiteral("--socket"), socket, QStringLiteral("--allow-pty") });
    REQUIRE(service.waitForStarted(10000));
    REQUIRE(QTest::qWaitFor([&] { return QFile::exists(socket); }, 30000));

    ClientWindow lineScreen(socket);
    ClientWindow desk(socket);
    lineScreen.window->show();
    desk.window->show();

    // The line screen runs a device; the desk sees the same line.
    test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("DESK-0001") });
    lineScreen.line.addSlot(sim.ports().first());
    REQUIRE(QTest::qWaitFor([&] { return lineScreen.line.slotCount() == 1 && lineScreen.line.allFinished(); }, 60000));
    REQUIRE(
        QTest::qWaitFor([&] { return desk.window->slotModel()->rowCount() == 1 && desk.line.allFinished(); }, 30000));
    CHECK(desk.line.slotAt(0).step == core::SlotJob::Step::Passed);

    // A wrong passphrase opens nothing; the right one opens the desk's QA screen, and only its.
    desk.answers << std::pair { QStringLiteral("quinn"), QByteArray("not-it") };
    CHECK_FALSE(desk.window->openScreen(ui::MainWindow::Screen::Qa));
    CHECK(desk.window->role() == ui::MainWindow::Role::Operator);
    desk.answers << std::pair { QStringLiteral("quinn"), QaPassphrase };
    REQUIRE(desk.window->openScreen(ui::MainWindow::Screen::Qa));
    CHECK(desk.window->role() == ui::MainWindow::Role::Qa);
    CHECK(lineScreen.window->role() == ui::MainWindow::Role::Operator);
    CHECK_FALSE(desk.window->adminScreen()); // the admin works through imprintctl here

    ui::QaScreen* qa = desk.window->qaScreen();
    QSignalSpy shown(qa, &ui::QaScreen::storyShown);
    qa->showDevice(QStringLiteral("DESK-0001"));
    const bool storyCame = shown.wait(30000);
    INFO(desk.window->statusText().toStdString());
    REQUIRE(storyCame);
    REQUIRE(qa->story()->certificates.size() == 1);
    CHECK(qa->story()->certificates.first().chainVerified);
    CHECK(qa->storyText().contains(QStringLiteral("DESK-0001")));
    // The device list pages through the service.
    REQUIRE(QTest::qWaitFor([&] { return qa->deviceList()->rowCount() >= 1; }, 30000));

    desk.answers << std::pair { QStringLiteral("quinn"), QaPassphrase };
    qa->scrapShown(QStringLiteral("cracked housing"));
    REQUIRE(QTest::qWaitFor(
        [&] { return qa->story() && qa->story()->device.status == core::DeviceStatus::Scrapped; }, 30000));
    CHECK(qa->story()->certificates.first().record.state == core::CertificateState::Revoked);
    bool scrappedBy = false;
    for (const core::AuditEntry& e : qa->story()->audit)
        scrappedBy
            = scrappedBy || (e.kind == QLatin1String("scrapped") && e.operatorName.startsWith(QLatin1String("quinn")));
    CHECK(scrappedBy);

    service.terminate();
    REQUIRE(service.waitForFinished(20000));
    CHECK(service.exitCode() == 0);
}

TEST_CASE("QA at a service's window finds a device made on another line in the plant record, and reads the plant's "
          "figures")
{
    test::TestPostgres pg;
    REQUIRE(pg.ok());
    QTemporaryDir tmp;
    test::migrate(pg);
    // Station C, on line L3, made two devices; a shift's failures on it too (no answer twice,
    // a refused request once). It pushes its line to the plant.
    const test::PlantStation c = test::plantStation(tmp, pg, QStringLiteral("C"), QStringLiteral("L3"));
    test::issue(tmp, c, QStringLiteral("C"), 2);
    const QString now = QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
    test::tamper(c.dataDir + QStringLiteral("/imprint.sqlite"),
        QStringLiteral("INSERT INTO jobs(device_serial, port, station, operator, started, finished, result, reason) "
                       "VALUES ('C-000001', 'p1', 'C', 'op', '%1', '%1', 'failed', 'no answer'), ('C-000002', 'p2', "
                       "'C', 'op', '%1', '%1', 'failed', 'no answer'), ('C-000002', 'p3', 'C', 'op', '%1', '%1', "
                       "'failed', 'request refused'), ('C-000001', 'p1', 'C', 'op', '%1', '%1', 'passed', NULL), "
                       // A station's own words (markup in a reason) and an impossible time.
                       "('C-000002', 'p4', 'C', 'op', '%1', '%1', 'failed', '<b>ALL LINES OK</b>'), ('C-000002', "
                       "'p4', 'C', 'op', 'infinity', 'infinity', 'failed', 'no answer')")
            .arg(now));
    auto pushed = test::push(c);
    INFO(pushed.err.toStdString());
    REQUIRE(pushed.exitCode == 0);
    // Station D, on line L5, records C-000002 too (a label printed twice, or a station lying).
    const test::PlantStation d = test::plantStation(tmp, pg, QStringLiteral("D"), QStringLiteral("L5"));
    {
        const QString dir = tmp.filePath(QStringLiteral("dup"));
        REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                    { QStringLiteral("--out"), dir, QStringLiteral("--count"), QStringLiteral("2"),
                        QStringLiteral("--serial-prefix"), QStringLiteral("C") })
                    .exitCode
            == 0);
        REQUIRE(test::ctl(d.dataDir,
                    { QStringLiteral("issue"), QStringLiteral("--csr"), dir + QStringLiteral("/C-000002.der"),
                        QStringLiteral("--device-serial"), QStringLiteral("C-000002"), QStringLiteral("--out"),
                        dir + QStringLiteral("/x.pem") })
                    .exitCode
            == 0);
        REQUIRE(test::push(d).exitCode == 0);
    }

    // Station A, on line L1, runs as the service; its window is the service's client.
    const test::PlantStation a = test::plantStation(tmp, pg, QStringLiteral("A"), QStringLiteral("L1"));
    auto hash = core::hashPassphrase(core::Secret(QaPassphrase));
    REQUIRE(hash.has_value());
    REQUIRE(core::DataDir::writePrivateFile(core::DataDir(a.dataDir).qaPassphraseFile(), *hash).has_value());
    // A trusts C's root (as a plant whose stations share a corporate root would).
    REQUIRE(test::ctl(a.dataDir,
                { QStringLiteral("upstream"), QStringLiteral("configure"), QStringLiteral("--url"),
                    QStringLiteral("http://127.0.0.1:9/"), QStringLiteral("--trusted"),
                    c.dataDir + QStringLiteral("/ca/root.pem") })
                .exitCode
        == 0);
    const QString socket = tmp.filePath(QStringLiteral("a.sock"));
    QProcess service;
    service.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    service.start(QStringLiteral(IMPRINT_DAEMON),
        { QStringLiteral("--data-dir"), a.dataDir, QStringLiteral("--socket"), socket, QStringLiteral("--allow-pty") });
    REQUIRE(service.waitForStarted(10000));
    REQUIRE(QTest::qWaitFor([&] { return QFile::exists(socket); }, 30000));

    ClientWindow desk(socket);
    desk.window->show();
    desk.answers << std::pair { QStringLiteral("quinn"), QaPassphrase };
    REQUIRE(desk.window->openScreen(ui::MainWindow::Screen::Qa));
    ui::QaScreen* qa = desk.window->qaScreen();
    QSignalSpy shown(qa, &ui::QaScreen::storyShown);
    qa->searchField()->setText(QStringLiteral("C-000001"));
    QTest::keyClick(qa->searchField(), Qt::Key_Return);
    const bool came = shown.wait(30000);
    INFO(qa->verdictText().toStdString());
    REQUIRE(came);
    CHECK_FALSE(qa->story().has_value()); // not recorded at this station
    REQUIRE(qa->plantRecord().has_value());
    CHECK(qa->verdictText().contains(QStringLiteral("From the plant record, as of")));
    CHECK(qa->verdictText().contains(QStringLiteral("made on station %1 (line L3)").arg(c.id)));
    CHECK(qa->verdictText().contains(QStringLiteral("Every certificate verifies here")));
    const QString text = qa->storyText();
    CHECK(text.contains(QStringLiteral("Read from the plant record")));
    CHECK(text.contains(QStringLiteral("chain verifies here")));
    CHECK(text.contains(QStringLiteral("no answer"))); // its timeline's failed job
    keepPicture(*desk.window, QStringLiteral("qa-plant-record"));

    // A serial two stations hold: the verdict says so, and ticks nothing.
    qa->searchField()->setText(QStringLiteral("C-000002"));
    QTest::keyClick(qa->searchField(), Qt::Key_Return);
    REQUIRE(QTest::qWaitFor(
        [&] { return qa->verdictText().contains(QStringLiteral("2 stations hold a record of this serial")); }, 30000));
    CHECK_FALSE(qa->verdictText().contains(QStringLiteral("✔")));

    // A serial no station holds: said in plain words.
    qa->searchField()->setText(QStringLiteral("NOWHERE-1"));
    QTest::keyClick(qa->searchField(), Qt::Key_Return);
    REQUIRE(QTest::qWaitFor(
        [&] { return qa->verdictText().contains(QStringLiteral("here or in the plant record")); }, 30000));
    CHECK_FALSE(qa->plantRecord().has_value());

    // The plant's figures, as the plant's own views count them.
    qa->showPlantFigures();
    ui::PlantFigures* figures = qa->plantFigures();
    REQUIRE(figures);
    REQUIRE(
        QTest::qWaitFor([&] { return figures->heading().startsWith(QStringLiteral("From the plant record")); }, 30000));
    auto* pareto = qobject_cast<QHorizontalBarSeries*>(figures->paretoChart()->chart()->series().value(0));
    REQUIRE(pareto);
    auto* reasons = qobject_cast<QBarCategoryAxis*>(figures->paretoChart()->chart()->axes(Qt::Vertical).value(0));
    REQUIRE(reasons);
    // The most at the top (a horizontal bar chart's last category); a station's markup is
    // shown as text (Qt Charts draws labels as rich text).
    CHECK(reasons->categories().last() == QStringLiteral("no answer"));
    CHECK(reasons->categories().contains(QStringLiteral("&lt;b&gt;ALL LINES OK&lt;/b&gt;")));
    CHECK(pareto->barSets().first()->at(static_cast<int>(reasons->count()) - 1)
        == static_cast<qreal>(plantCount(pg,
            QStringLiteral(
                "SELECT sum(jobs) FROM imprint.failures WHERE reason = 'no answer' AND shift IS NOT NULL"))));
    CHECK(pareto->barSets().first()->at(static_cast<int>(reasons->count()) - 1) == 2.0);
    auto* yield = qobject_cast<QBarSeries*>(figures->yieldChart()->chart()->series().value(0));
    auto* lines = qobject_cast<QBarCategoryAxis*>(figures->yieldChart()->chart()->axes(Qt::Horizontal).value(0));
    REQUIRE(yield);
    REQUIRE(lines);
    const int l3 = static_cast<int>(lines->categories().indexOf(QStringLiteral("L3")));
    REQUIRE(l3 >= 0);
    const qint64 passed = plantCount(pg, QStringLiteral("SELECT sum(passed) FROM imprint.yield WHERE line = 'L3'"));
    const qint64 failed = plantCount(pg, QStringLiteral("SELECT sum(failed) FROM imprint.yield WHERE line = 'L3'"));
    REQUIRE(failed == 4); // the job that finished at "infinity" is in no shift
    CHECK(yield->barSets().first()->at(l3)
        == Approx(100.0 * static_cast<double>(passed) / static_cast<double>(passed + failed)));
    CHECK(figures->table()->rowCount() == plantCount(pg, QStringLiteral("SELECT count(*) FROM imprint.yield")));
    keepPicture(*figures, QStringLiteral("plant-figures"));

    service.terminate();
    REQUIRE(service.waitForFinished(20000));
    CHECK(service.exitCode() == 0);
}
