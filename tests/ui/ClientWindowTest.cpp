// The window as the station service's client: a line screen and a QA desk connected at once,
// each with its own role; QA's credential checked by the service, QA's acts done by it.

#include "DataDir.h"
#include "DeviceListModel.h"
#include "MainWindow.h"
#include "QaScreen.h"
#include "RemoteLine.h"
#include "SlotModel.h"
#include "TestSupport.h"
#include "pki/Passphrase.h"

#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QSignalSpy>
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
        window->setCredentialPrompt(
            [this](ui::MainWindow::Role, const QString&) -> std::optional<ui::MainWindow::Credential> {
                if (answers.isEmpty())
                    return std::nullopt;
                auto [person, secret] = answers.takeFirst();
                return ui::MainWindow::Credential { person, core::Secret(secret) };
            });
    }
};

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
