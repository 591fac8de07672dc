// The real window, offscreen, driving a simulated device through the real engine.

#include "MainWindow.h"
#include "SlotModel.h"
#include "StationContext.h"
#include "TestSupport.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QAbstractItemModelTester>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

#include <catch2/catch.hpp>

using namespace imprint;

TEST_CASE("The window shows a simulated device's slot reaching PASS")
{
    test::DemoStation demo;
    auto ctx = app::openStation(demo.path());
    INFO((ctx ? QString() : ctx.error().text()).toStdString());
    REQUIRE(ctx.has_value());
    core::Station station(QStringLiteral("gui-test"));
    REQUIRE(station.start(ctx->registrarFactory()).has_value());

    ui::MainWindow window(&station, nullptr, ctx->caSubject());
    QAbstractItemModelTester tester(window.slotModel(), QAbstractItemModelTester::FailureReportingMode::Fatal);
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));

    test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("GUI-0001"), QStringLiteral("--keygen-delay-ms"),
        QStringLiteral("200") });
    station.addSlot(sim.ports().first());
    ui::SlotModel* model = window.slotModel();
    REQUIRE(model->rowCount() == 1);

    // While the device works, the slot shows a step in progress, not a verdict.
    CHECK(model->index(0, ui::SlotModel::Result).data().toString().isEmpty());

    REQUIRE(QTest::qWaitFor([&] { return station.allFinished(); }, 30000));
    CHECK(model->index(0, ui::SlotModel::Result).data().toString() == QLatin1String("PASS"));
    CHECK(model->index(0, ui::SlotModel::Device).data().toString() == QLatin1String("GUI-0001"));
    CHECK(model->index(0, ui::SlotModel::Detail).data().toString().contains(QStringLiteral("Remove the device")));

    const QImage shot = window.grab().toImage();
    CHECK_FALSE(shot.isNull());
}

TEST_CASE("The window shows a failing device's slot as FAIL with the reason and what to do")
{
    test::DemoStation demo;
    auto ctx = app::openStation(demo.path());
    REQUIRE(ctx.has_value());
    core::Station station(QStringLiteral("gui-test"));
    REQUIRE(station.start(ctx->registrarFactory()).has_value());
    ui::MainWindow window(&station, nullptr, ctx->caSubject());
    window.show();

    test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("GUI-BAD"), QStringLiteral("--fault"),
        QStringLiteral("bad-challenge") });
    station.addSlot(sim.ports().first());
    REQUIRE(QTest::qWaitFor([&] { return station.allFinished(); }, 30000));
    ui::SlotModel* model = window.slotModel();
    CHECK(model->index(0, ui::SlotModel::Result).data().toString() == QLatin1String("FAIL"));
    const QString detail = model->index(0, ui::SlotModel::Detail).data().toString();
    CHECK(detail.contains(QStringLiteral("could not prove")));
    CHECK(detail.contains(QStringLiteral("Retry")));
}

namespace {
/// Saves what the window looks like when IMPRINT_TEST_SCREENSHOTS names a directory.
void keepPicture(QWidget& window, const char* name)
{
    const QString dir = qEnvironmentVariable("IMPRINT_TEST_SCREENSHOTS");
    if (!dir.isEmpty())
        window.grab().save(dir + u'/' + QLatin1String(name) + QStringLiteral(".png"));
}
} // namespace

TEST_CASE("A device with no serial waits for its label, the scanned serial is given to it and it passes")
{
    test::DemoStation demo;
    auto ctx = app::openStation(demo.path());
    REQUIRE(ctx.has_value());
    core::Station station(QStringLiteral("gui-test"));
    station.setAcceptsScannedSerials(true);
    REQUIRE(station.start(ctx->registrarFactory()).has_value());
    ui::MainWindow window(&station, nullptr, ctx->caSubject());
    window.show();

    QTemporaryDir links;
    test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--unassigned"),
        QStringLiteral("--link-dir"), links.path() });
    for (const QString& port : sim.ports())
        station.addSlot(port);
    ui::SlotModel* model = window.slotModel();
    REQUIRE(QTest::qWaitFor([&] { return station.awaitingSerial() != nullptr; }, 15000));
    REQUIRE(QTest::qWaitFor(
        [&] {
            return station.slotJobs().at(0)->step() == core::SlotJob::Step::AwaitingSerial
                && station.slotJobs().at(1)->step() == core::SlotJob::Step::AwaitingSerial;
        },
        15000));
    CHECK(model->index(0, ui::SlotModel::Detail).data().toString().contains(QStringLiteral("scan the label")));
    keepPicture(window, "awaiting-serial");

    // A label with characters no serial has is refused and stays in the field.
    QTest::keyClicks(window.scanField(), QStringLiteral("BAD LABEL"));
    QTest::keyClick(window.scanField(), Qt::Key_Return);
    CHECK(window.scanField()->text() == QLatin1String("BAD LABEL"));
    CHECK(station.slotJobs().at(0)->step() == core::SlotJob::Step::AwaitingSerial);

    // The scanner types a label and Enter: the first waiting device takes it.
    window.scanField()->clear();
    QTest::keyClicks(window.scanField(), QStringLiteral("LBL-0001"));
    QTest::keyClick(window.scanField(), Qt::Key_Return);
    CHECK(window.scanField()->text().isEmpty());
    // The second device is stopped by the operator instead.
    station.slotJobs().at(1)->abort();
    REQUIRE(QTest::qWaitFor([&] { return station.allFinished(); }, 30000));
    CHECK(model->index(0, ui::SlotModel::Result).data().toString() == QLatin1String("PASS"));
    CHECK(model->index(0, ui::SlotModel::Device).data().toString() == QLatin1String("LBL-0001"));
    CHECK(model->index(1, ui::SlotModel::Result).data().toString() == QLatin1String("FAIL"));
    CHECK(station.slotJobs().at(1)->failureCode() == QLatin1String("aborted"));
    CHECK_FALSE(window.takeScannedSerial(QStringLiteral("LBL-0002"))); // no one waits any more
}

TEST_CASE("Jobs a stopped station left are shown in a notice, and a new operator takes over")
{
    test::DemoStation demo;
    auto ctx = app::openStation(demo.path());
    REQUIRE(ctx.has_value());
    {
        // A job the station never finished, as a kill leaves it.
        auto store = core::RecordStore::open(demo.dir().database());
        REQUIRE(store.has_value());
        core::DeviceIdentity d;
        d.serial = QStringLiteral("CUT-0007");
        d.state = QStringLiteral("keyed");
        REQUIRE(store->jobs()
                    .begin(d, QStringLiteral("/dev/ttyUSB3"), QStringLiteral("st"), QStringLiteral("ann"))
                    .has_value());
    }
    core::Station station(QStringLiteral("ann"));
    REQUIRE(station.start(ctx->registrarFactory()).has_value());
    ui::MainWindow window(&station, nullptr, ctx->caSubject());
    window.show();
    REQUIRE(QTest::qWaitForWindowExposed(&window));
    CHECK(window.notice()->isVisible());
    CHECK(window.notice()->text().contains(QStringLiteral("CUT-0007")));
    keepPicture(window, "interrupted-notice");

    station.setOperator(QStringLiteral("bob"));
    CHECK(station.operatorName() == QLatin1String("bob"));
    REQUIRE(QTest::qWaitFor(
        [&] {
            auto store = core::RecordStore::open(demo.dir().database(), true);
            auto entries = store->audit().entries(0, 100);
            for (const auto& e : *entries) {
                if (e.kind == QLatin1String("login") && e.subject == QLatin1String("bob"))
                    return true;
            }
            return false;
        },
        5000));
}
