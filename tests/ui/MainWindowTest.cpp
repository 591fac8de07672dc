// The real window, offscreen, driving a simulated device through the real engine.

#include "MainWindow.h"
#include "SlotModel.h"
#include "StationContext.h"
#include "TestSupport.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
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

    ui::MainWindow window(&station, ctx->caSubject());
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
    ui::MainWindow window(&station, ctx->caSubject());
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
