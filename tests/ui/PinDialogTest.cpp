#include "PinDialog.h"

#include <QLineEdit>
#include <QTimer>
#include <QtTest/QTest>

#include <catch2/catch.hpp>

using namespace imprint;

TEST_CASE("The PIN dialog hands over what was typed, masked, and clears its field")
{
    ui::PinDialog dialog;
    QTimer::singleShot(0, &dialog, [&] {
        CHECK(dialog.pinField()->echoMode() == QLineEdit::Password);
        QTest::keyClicks(dialog.pinField(), QStringLiteral("4711-pin"));
        QTest::keyClick(dialog.pinField(), Qt::Key_Return);
    });
    auto pin = dialog.askPin(
        { QStringLiteral("Imprint"), QStringLiteral("Careful: one more wrong PIN will lock the token.") });
    REQUIRE(pin.has_value());
    CHECK(QByteArray(pin->data(), pin->size()) == "4711-pin");
    CHECK(dialog.pinField()->text().isEmpty());
}

TEST_CASE("Closing the PIN dialog declines: the station stays locked")
{
    ui::PinDialog dialog;
    QTimer::singleShot(0, &dialog, [&] { dialog.reject(); });
    auto pin = dialog.askPin({ QStringLiteral("Imprint"), {} });
    REQUIRE_FALSE(pin.has_value());
    CHECK(pin.error().code == core::ErrorCode::Cancelled);
}
