// The device link over USB: libusb in this process really opens /dev/bus/usb/001/001,
// which umockdev emulates (the test runs with its preload library), and the simulated
// device answers the URBs. The same scenarios as over ptys (DeviceFaultTest).

#include "SimulatedDevice.h"
#include "StationContext.h"
#include "TestSupport.h"
#include "UsbGadget.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"
#include "store/RecordStore.h"

#include <QtTest/QTest>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

fixtures::DeviceOptions deviceOptions(const QString& serial, const QString& fault)
{
    fixtures::DeviceOptions o;
    o.identity.serial = serial;
    o.identity.model = QStringLiteral("Imprint Sim USB");
    o.identity.firmware = QStringLiteral("1.0.0-sim");
    o.identity.state = QStringLiteral("blank");
    o.identity.keyTypes = { QStringLiteral("p256") };
    o.identity.canGenerateKey = true;
    o.identity.maxFrame = 65536;
    o.fault = *fixtures::faultFromName(fault);
    if (o.fault == fixtures::Fault::Disconnect)
        o.faultOp = fault.section(QLatin1Char(':'), 1);
    return o;
}

} // namespace

TEST_CASE("Devices on emulated USB go through the same scenarios as on a serial line")
{
    fixtures::UsbGadget::testbed();
    fixtures::UsbGadget::testbed();
    REQUIRE(fixtures::UsbGadget::emulationActive());
    test::DemoStation demo;
    auto ctx = app::openStation(demo.path());
    REQUIRE(ctx.has_value());

    // The shared scenarios, and one more: unplugged, plugged in again, resumed.
    QList<test::DeviceScenario> scenarios = test::deviceScenarios();
    scenarios.append({ "disconnect-at:install-cert", "", 1, "verified" });
    int n = 0;
    for (const test::DeviceScenario& c : scenarios) {
        ++n;
        const bool comesBack = n == scenarios.size();
        DYNAMIC_SECTION(c.name().toStdString() << (comesBack ? " (comes back)" : ""))
        {
            const QString serial = QStringLiteral("USB-%1").arg(n, 4, 10, QLatin1Char('0'));
            fixtures::DeviceOptions options = deviceOptions(serial, QString::fromLatin1(c.fault));
            options.identity.maxFrame = c.maxFrame;
            options.maxProtocol = c.protocol;
            options.comeBackMs = comesBack ? 300 : -1;
            fixtures::SimulatedDevice device(options);
            fixtures::UsbGadget gadget(&device, 0x1209, 0x0001);
            QString error;
            REQUIRE(gadget.plug(&error));

            core::Station station(QStringLiteral("usb-test"));
            core::StepTimeouts timeouts;
            timeouts.identifyMs = 1500;
            timeouts.keygenMs = 3000;
            timeouts.exchangeMs = 1500;
            timeouts.attempts = 2;
            timeouts.reconnectMs = 3000;
            station.setTimeouts(timeouts);
            REQUIRE(station.start(ctx->registrarFactory()).has_value());
            // The serial is matched against the device's string descriptor.
            core::SlotJob* job = station.addSlot(QStringLiteral("usb:1209:0001:") + serial);
            REQUIRE(QTest::qWaitFor([&] { return station.allFinished(); }, 30000));
            INFO(job->failure().toStdString());
            const bool passes = QByteArray(c.code).isEmpty();
            if (passes) {
                CHECK(job->step() == core::SlotJob::Step::Passed);
            } else {
                CHECK(job->step() == core::SlotJob::Step::Failed);
                CHECK(job->failureCode() == QLatin1String(c.code));
            }
            // What the store holds for the device, as over ptys.
            auto store = core::RecordStore::open(demo.dir().database(), true);
            REQUIRE(store.has_value());
            auto certs = store->ledger().ofDevice(serial);
            REQUIRE(certs.has_value());
            CHECK(certs->size() == c.certificates);
            for (const auto& cert : *certs)
                CHECK(text(cert.state) == QLatin1String(c.certificateState));
        }
    }
}

TEST_CASE("A USB address that names no connected device fails the slot in plain words")
{
    fixtures::UsbGadget::testbed();
    REQUIRE(fixtures::UsbGadget::emulationActive());
    test::DemoStation demo;
    auto ctx = app::openStation(demo.path());
    REQUIRE(ctx.has_value());
    core::Station station(QStringLiteral("usb-test"));
    REQUIRE(station.start(ctx->registrarFactory()).has_value());
    core::SlotJob* job = station.addSlot(QStringLiteral("usb:1209:0001:NOBODY"));
    REQUIRE(QTest::qWaitFor([&] { return station.allFinished(); }, 10000));
    CHECK(job->step() == core::SlotJob::Step::Failed);
    CHECK(job->failure().contains(QStringLiteral("usb:1209:0001:NOBODY")));
    CHECK_FALSE(core::Station::checkPort(QStringLiteral("usb:12:0001")).has_value());
}

TEST_CASE("A watched USB id: each device plugged in gets a slot of its own, named by its serial")
{
    fixtures::UsbGadget::testbed();
    REQUIRE(fixtures::UsbGadget::emulationActive());
    test::DemoStation demo;
    auto ctx = app::openStation(demo.path());
    REQUIRE(ctx.has_value());
    core::Station station(QStringLiteral("usb-test"));
    REQUIRE(station.start(ctx->registrarFactory()).has_value());
    REQUIRE(station.watchUsb(0x1209, 0x0001).has_value());
    CHECK(station.slotJobs().isEmpty());

    fixtures::SimulatedDevice device(deviceOptions(QStringLiteral("HOT-0001"), QStringLiteral("none")));
    fixtures::UsbGadget gadget(&device, 0x1209, 0x0001);
    QString error;
    REQUIRE(gadget.plug(&error)); // the add event reaches libusb's hotplug
    REQUIRE(QTest::qWaitFor([&] { return station.slotJobs().size() == 1 && station.allFinished(); }, 20000));
    const core::SlotJob* job = station.slotJobs().first();
    CHECK(job->port() == QLatin1String("usb:1209:0001:HOT-0001"));
    INFO(job->failure().toStdString());
    CHECK(job->step() == core::SlotJob::Step::Passed);
}
