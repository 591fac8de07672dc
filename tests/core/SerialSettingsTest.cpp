#include "device/SerialTransport.h"

#include <catch2/catch.hpp>

using namespace imprint::core;

TEST_CASE("Serial line settings are read from the usual short form")
{
    auto plain = SerialPortSpec::parse(QStringLiteral("/dev/ttyUSB0"));
    REQUIRE(plain.has_value());
    CHECK(plain->path == QLatin1String("/dev/ttyUSB0"));
    CHECK(plain->settings.baudRate == 115200);
    CHECK(plain->settings.parity == QSerialPort::NoParity);

    auto full = SerialPortSpec::parse(QStringLiteral("/dev/ttyS1@9600,7E2,rtscts"));
    REQUIRE(full.has_value());
    CHECK(full->path == QLatin1String("/dev/ttyS1"));
    CHECK(full->settings.baudRate == 9600);
    CHECK(full->settings.dataBits == QSerialPort::Data7);
    CHECK(full->settings.parity == QSerialPort::EvenParity);
    CHECK(full->settings.stopBits == QSerialPort::TwoStop);
    CHECK(full->settings.flowControl == QSerialPort::HardwareControl);

    auto xon = SerialSettings::parse(QStringLiteral("57600,8o1,xonxoff"));
    REQUIRE(xon.has_value());
    CHECK(xon->parity == QSerialPort::OddParity);
    CHECK(xon->flowControl == QSerialPort::SoftwareControl);

    for (const char* bad : { "fast", "9600,9N1", "9600,8X1", "9600,8N3", "9600,8N1,maybe", "9600,8N1,none,x", "10" }) {
        INFO(bad);
        auto r = SerialSettings::parse(QString::fromLatin1(bad));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::BadInput);
        CHECK(r.error().message.contains(QStringLiteral("115200,8N1")));
    }
    CHECK_FALSE(SerialPortSpec::parse(QStringLiteral("@9600")).has_value());
}
