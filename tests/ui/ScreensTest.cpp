// The three screens on the real window (offscreen): a real store, the real token, simulated
// devices, the real back office thread.

#include "AdminScreen.h"
#include "DeviceListModel.h"
#include "HealthStrip.h"
#include "LineScreen.h"
#include "MainWindow.h"
#include "QaScreen.h"
#include "ShiftPanel.h"
#include "SlotModel.h"
#include "SlotTile.h"
#include "StationContext.h"
#include "StoryJson.h"
#include "TestSupport.h"
#include "engine/Backoffice.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"
#include "pki/Passphrase.h"
#include "store/RecordStore.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QScrollBar>
#include <QSettings>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTranslator>

#include <catch2/catch.hpp>

using namespace imprint;
using Role = ui::MainWindow::Role;
using Screen = ui::MainWindow::Screen;

namespace {

const QByteArray QaPassphrase = "qa-secret-4711";

/// Saves what the window looks like when IMPRINT_TEST_SCREENSHOTS names a directory, at
/// the size IMPRINT_TEST_SCREEN gives (e.g. 1920x1080; default 1280x800).
void keepPicture(QWidget& window, const QString& name)
{
    const QString dir = qEnvironmentVariable("IMPRINT_TEST_SCREENSHOTS");
    if (dir.isEmpty())
        return;
    const QStringList size = qEnvironmentVariable("IMPRINT_TEST_SCREEN", QStringLiteral("1280x800")).split(u'x');
    const QSize was = window.size();
    window.resize(size.value(0).toInt(), size.value(1).toInt());
    QTest::qWait(300);
    window.grab().save(dir + u'/' + name + QStringLiteral(".png"));
    window.resize(was);
}

/// IMPRINT_TEST_LANG=de shows the screens in German (for the screenshots).
struct Language {
    Language()
    {
        if (qEnvironmentVariable("IMPRINT_TEST_LANG") == QLatin1String("de")
            && translator.load(QStringLiteral(IMPRINT_QM_DIR "/imprint_de.qm"))) {
            QCoreApplication::installTranslator(&translator);
            QLocale::setDefault(QLocale(QLocale::German));
        } else if (translator.load(QStringLiteral(IMPRINT_QM_DIR "/imprint_en.qm"))) {
            QCoreApplication::installTranslator(&translator); // English plurals, as the window loads them
        }
    }
    QTranslator translator;
};

/// A working station with its window: the line, the back office, a QA passphrase set.
struct Window {
    explicit Window(const std::function<void(const core::DataDir&)>& prepare = {})
    {
        if (prepare)
            prepare(demo.dir());
        auto opened = app::openStation(demo.path());
        INFO((opened ? QString() : opened.error().text()).toStdString());
        REQUIRE(opened.has_value());
        ctx.emplace(std::move(*opened));
        auto hash = core::hashPassphrase(core::Secret(QaPassphrase));
        REQUIRE(hash.has_value());
        REQUIRE(core::DataDir::writePrivateFile(demo.dir().qaPassphraseFile(), *hash).has_value());
        station = std::make_unique<core::Station>(QStringLiteral("ann"));
        station->setAcceptsScannedSerials(true);
        REQUIRE(station->start(ctx->registrarFactory()).has_value());
        openWindow();
    }
    /// The window (again, after a restart of it): on the same station and store.
    void openWindow()
    {
        window.reset();
        backoffice = std::make_unique<core::Backoffice>(ctx->dir, ctx->config, ctx->chain, ctx->backofficeWiring());
        REQUIRE(backoffice->start().has_value());
        window = std::make_unique<ui::MainWindow>(station.get(), backoffice.get(), ctx->caSubject());
        window->setCredentialPrompt(
            [this](Role role, const QString& what) -> std::optional<ui::MainWindow::Credential> {
                ++prompts;
                lastPrompt = what;
                if (answers.isEmpty())
                    return std::nullopt;
                auto [person, secret] = answers.takeFirst();
                (void)role;
                return ui::MainWindow::Credential { person, core::Secret(secret) };
            });
        window->show();
        REQUIRE(QTest::qWaitForWindowExposed(window.get()));
    }
    ~Window()
    {
        window.reset();
        backoffice.reset();
        station.reset();
    }

    QByteArray pin() const
    {
        auto p = core::DataDir::readSecretFile(demo.dir().pinFile());
        REQUIRE(p.has_value());
        return QByteArray(p->data(), p->size());
    }
    void signInQa()
    {
        answers << std::pair { QStringLiteral("quinn"), QaPassphrase };
        REQUIRE(window->openScreen(Screen::Qa));
        REQUIRE(window->role() == Role::Qa);
    }
    bool waitFinished(int ms = 60000)
    {
        return QTest::qWaitFor([&] { return station->allFinished(); }, ms);
    }
    QList<core::AuditEntry> audit()
    {
        auto store = core::RecordStore::open(demo.dir().database(), true);
        REQUIRE(store.has_value());
        auto entries = store->audit().entries(0, 10000);
        REQUIRE(entries.has_value());
        return *entries;
    }

    Language language;
    test::DemoStation demo;
    std::optional<app::StationContext> ctx;
    std::unique_ptr<core::Station> station;
    std::unique_ptr<core::Backoffice> backoffice;
    std::unique_ptr<ui::MainWindow> window;
    QList<std::pair<QString, QByteArray>> answers;
    int prompts = 0;
    QString lastPrompt;
};

} // namespace

TEST_CASE("32 tiles laid out as the fixture reach PASS, and the shift's figures come from the store")
{
    Window w([](const core::DataDir& dir) {
        QSettings s(dir.configFile(), QSettings::IniFormat);
        s.setValue(QStringLiteral("line/rows"), 4);
        s.setValue(QStringLiteral("line/columns"), 8);
    });
    test::DevSim sim(
        { QStringLiteral("--count"), QStringLiteral("32"), QStringLiteral("--serial-prefix"), QStringLiteral("TILE") });
    for (const QString& port : sim.ports())
        w.station->addSlot(port);
    ui::LineScreen* line = w.window->lineScreen();
    REQUIRE(line->tiles().size() == 32);
    REQUIRE(w.waitFinished());
    QSignalSpy shown(w.window.get(), &ui::MainWindow::shiftShown);
    w.window->refreshShift();
    REQUIRE(shown.wait(10000));
    for (ui::SlotTile* tile : line->tiles()) {
        tile->refresh();
        CHECK(tile->verdictText() == QLatin1String("PASS"));
    }
    // Named as the fixture: row letter, column number.
    CHECK(w.window->slotModel()->index(0, 0).data(ui::SlotModel::NameRole).toString() == QLatin1String("A1"));
    CHECK(w.window->slotModel()->index(9, 0).data(ui::SlotModel::NameRole).toString() == QLatin1String("B2"));
    CHECK(w.window->slotModel()->index(31, 0).data(ui::SlotModel::NameRole).toString() == QLatin1String("D8"));
    CHECK(line->tiles().at(9)->pos().y() > line->tiles().at(0)->pos().y());
    CHECK(line->tiles().at(1)->pos().x() > line->tiles().at(0)->pos().x());
    const core::ShiftFigures& f = line->shiftPanel()->figures();
    CHECK(f.passed == 32);
    CHECK(f.failed == 0);
    CHECK(f.firstPass == 32);
    CHECK(line->shiftPanel()->countersText().contains(QStringLiteral("Passed 32")));
    int bucketed = 0;
    for (const auto& b : f.buckets)
        bucketed += b.passed;
    CHECK(bucketed == 32);
    keepPicture(*w.window, QStringLiteral("line-32"));

    // A restart keeps them: a new back office reads the same from the store.
    core::Backoffice again(w.ctx->dir, w.ctx->config, w.ctx->chain, {});
    REQUIRE(again.start().has_value());
    std::optional<core::Result<core::ShiftFigures>> read;
    const auto [since, until] = w.ctx->config.line.shiftAround(QDateTime::currentDateTimeUtc());
    again.shift(w.window.get(), since, until, [&](core::Result<core::ShiftFigures> r) { read = std::move(r); });
    REQUIRE(QTest::qWaitFor([&] { return read.has_value(); }, 10000));
    REQUIRE(read->has_value());
    CHECK((*read)->passed == 32);
}

TEST_CASE("A device done earlier shows DONE EARLIER, not FAIL, and is counted apart")
{
    Window w;
    test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("BACK-0001") });
    w.station->addSlot(sim.ports().first());
    REQUIRE(w.waitFinished());
    core::SlotJob* job = w.station->slotJobs().first();
    REQUIRE(job->step() == core::SlotJob::Step::Passed);
    const QString certificate = job->certificate().serialHex;
    job->retry(); // the same device, put back on the slot
    REQUIRE(w.waitFinished());
    CHECK(job->step() == core::SlotJob::Step::DoneEarlier);
    ui::SlotTile* tile = w.window->lineScreen()->tiles().first();
    tile->refresh();
    CHECK(tile->verdictText() == QLatin1String("DONE EARLIER"));
    CHECK(tile->detailText().contains(certificate.left(16)));
    CHECK(tile->detailText().contains(QStringLiteral("it is good")));
    QSignalSpy shown(w.window.get(), &ui::MainWindow::shiftShown);
    w.window->refreshShift();
    REQUIRE(shown.wait(10000));
    const core::ShiftFigures& f = w.window->lineScreen()->shiftPanel()->figures();
    CHECK(f.passed == 1);
    CHECK(f.doneEarlier == 1);
    CHECK(f.failed == 0);
    keepPicture(*w.window, QStringLiteral("done-earlier"));
}

TEST_CASE("The window's shift figures, list --counts and the service's count the same things for the same shift")
{
    Window w([](const core::DataDir& dir) {
        QSettings s(dir.configFile(), QSettings::IniFormat);
        s.setValue(QStringLiteral("timeouts/identify-ms"), 800);
        s.setValue(QStringLiteral("timeouts/attempts"), 1);
    });
    // With no slot yet, the line screen says how a slot comes.
    const QLabel* empty = w.window->lineScreen()->findChild<QLabel*>(QStringLiteral("emptyLine"));
    REQUIRE(empty);
    CHECK(empty->isVisible());
    CHECK(empty->text().contains(QStringLiteral("--port PATH")));
    test::DevSim good({ QStringLiteral("--serial"), QStringLiteral("FIG-OK") });
    test::DevSim failing({ QStringLiteral("--serial"), QStringLiteral("FIG-FAIL"), QStringLiteral("--fault"),
        QStringLiteral("bad-challenge") });
    test::DevSim silent({ QStringLiteral("--serial"), QStringLiteral("FIG-QUIET"), QStringLiteral("--fault"),
        QStringLiteral("silent") });
    for (const test::DevSim* sim : { &good, &failing, &silent })
        w.station->addSlot(sim->ports().first());
    REQUIRE(w.waitFinished());
    CHECK_FALSE(empty->isVisible());
    w.station->slotJobs().first()->retry(); // the good one again: done earlier
    REQUIRE(w.waitFinished());
    QSignalSpy shown(w.window.get(), &ui::MainWindow::shiftShown);
    w.window->refreshShift();
    REQUIRE(shown.wait(10000));
    const core::ShiftFigures window = w.window->lineScreen()->shiftPanel()->figures();
    CHECK(window.passed == 1);
    CHECK(window.failed == 1);
    CHECK(window.noDevice == 1);
    CHECK(window.doneEarlier == 1);
    CHECK(w.window->lineScreen()->shiftPanel()->countersText().contains(QStringLiteral("No device identified 1")));

    auto counted = test::run(QStringLiteral(IMPRINT_CTL),
        { QStringLiteral("list"), QStringLiteral("--counts"), QStringLiteral("--json"), QStringLiteral("--data-dir"),
            w.demo.path() });
    INFO(counted.err.toStdString());
    REQUIRE(counted.exitCode == 0);
    const QJsonObject cli = QJsonDocument::fromJson(counted.out).object();
    CHECK(cli[QStringLiteral("since")].toString() == window.since.toString(Qt::ISODateWithMs));
    CHECK(cli[QStringLiteral("until")].toString() == window.until.toString(Qt::ISODateWithMs));
    CHECK(cli[QStringLiteral("passed")].toInt() == window.passed);
    CHECK(cli[QStringLiteral("failed")].toInt() == window.failed);
    CHECK(cli[QStringLiteral("no_device")].toInt() == window.noDevice);
    CHECK(cli[QStringLiteral("done_earlier")].toInt() == window.doneEarlier);
    CHECK(cli[QStringLiteral("first_pass")].toInt() == window.firstPass);
    QList<QPair<QString, int>> failures;
    for (const QJsonValue& v : cli[QStringLiteral("failures")].toArray())
        failures << qMakePair(
            v.toObject()[QStringLiteral("code")].toString(), v.toObject()[QStringLiteral("count")].toInt());
    CHECK(failures == window.failureReasons);
    // The QA screen lists the attempt that identified no device, as such.
    w.signInQa();
    ui::DeviceListModel* list = w.window->qaScreen()->deviceList();
    core::DeviceQuery noDevice;
    noDevice.noDevice = true;
    list->setQuery(app::queryOf(app::queryJson(noDevice))); // as the service carries it, too
    REQUIRE(QTest::qWaitFor([&] { return list->rowCount() > 0 && !list->isFetching(); }, 10000));
    CHECK(list->rowCount() == 1);
    CHECK(list->index(0, 0).data().toString() == QLatin1String("(no device identified)"));
    CHECK(list->device(0).firmware == QLatin1String("timeout"));
    CHECK(list->device(0).model == silent.ports().first());
    // What the service sends its window clients reads back as the same figures.
    const core::ShiftFigures carried = app::shiftOf(app::shiftJson(window));
    CHECK(carried.passed == window.passed);
    CHECK(carried.noDevice == window.noDevice);
    CHECK(carried.failureReasons == window.failureReasons);
}

TEST_CASE("A slot that fails 3 of its last 5 devices says: check slot")
{
    Window w;
    test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("PIN-0001"), QStringLiteral("--fault"),
        QStringLiteral("bad-challenge") });
    w.station->addSlot(sim.ports().first());
    ui::SlotModel* model = w.window->slotModel();
    for (int run = 1; run <= 3; ++run) {
        REQUIRE(w.waitFinished());
        REQUIRE(w.station->slotJobs().first()->step() == core::SlotJob::Step::Failed);
        const QString warning = model->index(0, 0).data(ui::SlotModel::CheckSlotRole).toString();
        if (run < 3)
            CHECK(warning.isEmpty());
        else
            CHECK(warning.contains(QStringLiteral("Check slot A1: 3 of its last 3")));
        if (run < 3)
            w.station->slotJobs().first()->retry();
    }
    ui::SlotTile* tile = w.window->lineScreen()->tiles().first();
    tile->refresh();
    CHECK(tile->warningText().contains(QStringLiteral("Check slot")));
    CHECK(tile->verdictText() == QLatin1String("FAIL"));
}

TEST_CASE("A serial scanned while a tile has focus opens its record on the QA screen, with its timeline")
{
    Window w;
    test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("SCAN-0042") });
    w.station->addSlot(sim.ports().first());
    REQUIRE(w.waitFinished());

    // An operator's scan with no slot waiting: not QA's screen, which stays shut.
    ui::SlotTile* tile = w.window->lineScreen()->tiles().first();
    tile->setFocus();
    QTest::keyClicks(tile, QStringLiteral("SCAN-0042"));
    QTest::keyClick(tile, Qt::Key_Return);
    CHECK(w.window->screen() == Screen::Line);
    CHECK(w.window->statusText().contains(QStringLiteral("no slot is waiting")));

    w.signInQa();
    REQUIRE(w.window->openScreen(Screen::Line));
    tile->setFocus();
    REQUIRE(QApplication::focusWidget() == tile);
    QSignalSpy shown(w.window->qaScreen(), &ui::QaScreen::storyShown);
    QTest::keyClicks(tile, QStringLiteral("SCAN-0042"));
    QTest::keyClick(tile, Qt::Key_Return);
    REQUIRE(shown.wait(10000));
    CHECK(w.window->screen() == Screen::Qa);
    REQUIRE(w.window->qaScreen()->story().has_value());
    const core::DeviceStory& story = *w.window->qaScreen()->story();
    CHECK(story.device.serial == QLatin1String("SCAN-0042"));
    CHECK(story.device.status == core::DeviceStatus::Passed);
    REQUIRE(story.certificates.size() == 1);
    CHECK(story.certificates.first().chainVerified);
    CHECK(story.timeline.size() >= 5);
    CHECK(!story.audit.isEmpty());
    const QString text = w.window->qaScreen()->storyText();
    CHECK(text.contains(QStringLiteral("Timeline")));
    CHECK(text.contains(QStringLiteral("ann"))); // the operator on every step
    CHECK(text.contains(QStringLiteral("chain verifies")));
    keepPicture(*w.window, QStringLiteral("qa-story"));

    // The report prints (PDF through Qt's printing support).
    QTemporaryDir tmp;
    const QString pdf = tmp.filePath(QStringLiteral("report.pdf"));
    REQUIRE(w.window->qaScreen()->writeReport(pdf));
    QFile f(pdf);
    REQUIRE(f.open(QIODevice::ReadOnly));
    CHECK(f.read(5) == "%PDF-");
}

TEST_CASE("Scrap from the QA screen asks for the QA passphrase, queues the revocation and shows on the record")
{
    Window w;
    test::DevSim sim({ QStringLiteral("--serial"), QStringLiteral("SCRAP-0001") });
    w.station->addSlot(sim.ports().first());
    REQUIRE(w.waitFinished());
    w.signInQa();
    ui::QaScreen* qa = w.window->qaScreen();
    QSignalSpy shown(qa, &ui::QaScreen::storyShown);
    qa->showDevice(QStringLiteral("SCRAP-0001"));
    REQUIRE(shown.wait(10000));

    // A wrong passphrase scraps nothing.
    const int before = w.prompts;
    w.answers << std::pair { QStringLiteral("quinn"), QByteArray("not-it") };
    qa->scrapShown(QStringLiteral("cracked housing"));
    CHECK(w.prompts == before + 1);
    QTest::qWait(300);
    CHECK(qa->story()->device.status == core::DeviceStatus::Passed);

    w.answers << std::pair { QStringLiteral("quinn"), QaPassphrase };
    qa->scrapShown(QStringLiteral("cracked housing"));
    CHECK(w.prompts == before + 2);
    REQUIRE(QTest::qWaitFor(
        [&] { return qa->story() && qa->story()->device.status == core::DeviceStatus::Scrapped; }, 10000));
    CHECK(qa->story()->device.statusReason.contains(QStringLiteral("cracked housing")));
    REQUIRE(qa->story()->certificates.size() == 1);
    CHECK(qa->story()->certificates.first().record.state == core::CertificateState::Revoked);
    CHECK(qa->story()->certificates.first().crlState.contains(QStringLiteral("revoked: listed on the CRL")));
    bool queued = false;
    for (const core::OutboxEntry& e : qa->story()->certificates.first().upstream)
        queued = queued || e.kind == core::OutboxKind::Revocation;
    CHECK(queued);
    // The person is on the record, and the refused try is audited.
    bool scrappedBy = false, refused = false, signedIn = false;
    for (const core::AuditEntry& e : w.audit()) {
        scrappedBy = scrappedBy || (e.kind == QLatin1String("scrapped") && e.operatorName == QLatin1String("quinn"));
        refused = refused || (e.kind == QLatin1String("login") && e.detail.contains(QStringLiteral("refused")));
        signedIn
            = signedIn || (e.kind == QLatin1String("login") && e.detail.contains(QStringLiteral("signed in as QA")));
    }
    CHECK(scrappedBy);
    CHECK(refused);
    CHECK(signedIn);
}

TEST_CASE("An operator cannot open the admin screen, the token's PIN opens it, and the role ends idle")
{
    Window w([](const core::DataDir& dir) {
        QSettings s(dir.configFile(), QSettings::IniFormat);
        s.setValue(QStringLiteral("roles/idle-minutes"), 1);
    });
    CHECK_FALSE(w.window->openScreen(Screen::Admin)); // declined
    CHECK(w.window->screen() == Screen::Line);
    w.answers << std::pair { QStringLiteral("pat"), QByteArray("0000") };
    CHECK_FALSE(w.window->openScreen(Screen::Admin)); // a wrong PIN
    CHECK(w.window->screen() == Screen::Line);
    CHECK(w.window->role() == Role::Operator);
    // QA's passphrase does not open the admin screen.
    w.answers << std::pair { QStringLiteral("quinn"), QaPassphrase };
    CHECK_FALSE(w.window->openScreen(Screen::Admin));
    w.answers << std::pair { QStringLiteral("pat"), w.pin() };
    REQUIRE(w.window->openScreen(Screen::Admin));
    CHECK(w.window->role() == Role::Admin);
    CHECK(w.window->screen() == Screen::Admin);
    QTest::qWait(500); // the CA, lots and audit pages come in
    keepPicture(*w.window, QStringLiteral("admin"));
    {
        // A lot closed from the admin screen takes no more devices, in the admin's name.
        auto store = core::RecordStore::open(w.demo.dir().database());
        REQUIRE(store.has_value());
        REQUIRE(store->lots()
                    .create(core::Lot { QStringLiteral("WO-7"), QStringLiteral("idevid"), 10, {}, {},
                        QStringLiteral("st"), QStringLiteral("pat"), {} })
                    .has_value());
        QSignalSpy done(w.window->adminScreen(), &ui::AdminScreen::finishedWork);
        w.window->adminScreen()->closeLotNamed(QStringLiteral("WO-7"));
        REQUIRE(done.wait(10000));
        auto lot = store->lots().find(QStringLiteral("WO-7"));
        REQUIRE(lot.has_value());
        REQUIRE(lot->has_value());
        CHECK((*lot)->closed.isValid());
        CHECK_FALSE(app::openStation(w.demo.path(), nullptr, {}, QStringLiteral("WO-7")).has_value());
    }
    // The admin may see the QA screen too, without another credential.
    const int prompts = w.prompts;
    CHECK(w.window->openScreen(Screen::Qa));
    CHECK(w.prompts == prompts);
    // The token is still unlocked and signing (checking the PIN did not lock it out).
    auto status = w.ctx->caKey.service->health();
    CHECK(status.unlocked);

    // A minute with no touch: back to the operator's line screen.
    REQUIRE(QTest::qWaitFor([&] { return w.window->role() == Role::Operator; }, 75000));
    CHECK(w.window->screen() == Screen::Line);
    CHECK(QTest::qWaitFor(
        [&] {
            for (const core::AuditEntry& e : w.audit()) {
                if (e.kind == QLatin1String("login") && e.detail.contains(QStringLiteral("idle")))
                    return true;
            }
            return false;
        },
        5000));
}

TEST_CASE(
    "Export from the admin screen writes a batch openssl cms -verify accepts, and the audit log verifies with progress")
{
    const Language language; // English plurals, as the window has them
    QTemporaryDir tmp;
    test::UpstreamPki pki(tmp.path());
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::enrollStation(dataDir, pki, QStringLiteral("http://127.0.0.1:9/pkix/")); // never reached
    auto opened = app::openStation(dataDir);
    REQUIRE(opened.has_value());
    core::Station station(QStringLiteral("ann"));
    REQUIRE(station.start(opened->registrarFactory()).has_value());
    core::Backoffice backoffice(opened->dir, opened->config, opened->chain, opened->backofficeWiring());
    REQUIRE(backoffice.start().has_value());
    ui::MainWindow window(&station, &backoffice, opened->caSubject());
    window.show();
    test::DevSim sim(
        { QStringLiteral("--count"), QStringLiteral("3"), QStringLiteral("--serial-prefix"), QStringLiteral("EXP") });
    for (const QString& port : sim.ports())
        station.addSlot(port);
    REQUIRE(QTest::qWaitFor([&] { return station.allFinished(); }, 60000));

    ui::AdminScreen* admin = window.adminScreen();
    admin->person = [] { return QStringLiteral("pat"); };
    QSignalSpy done(admin, &ui::AdminScreen::finishedWork);
    const QString batch = tmp.filePath(QStringLiteral("usb-stick/batch"));
    QDir().mkpath(tmp.filePath(QStringLiteral("usb-stick")));
    admin->exportTo(batch);
    CHECK(admin->isBusy());
    REQUIRE(done.wait(30000));
    CHECK(done.takeFirst().first().toString() == QLatin1String("export"));
    CHECK(window.statusText().contains(QStringLiteral("3 certificate requests")));
    // The bar counted the rows as they were written.
    bool counted = false;
    for (const QProgressBar* bar : admin->findChildren<QProgressBar*>())
        counted = counted || (bar->maximum() == 3 && bar->value() == 3);
    CHECK(counted);
    CHECK(test::batchVerifies(batch, pki.cert()));
    {
        auto store = core::RecordStore::open(opened->dir.database(), true);
        REQUIRE(store.has_value());
        auto entries = store->audit().entries(0, 10000);
        REQUIRE(entries.has_value());
        bool byPat = false;
        for (const core::AuditEntry& e : *entries)
            byPat = byPat || (e.kind == QLatin1String("exported") && e.operatorName == QLatin1String("pat"));
        CHECK(byPat);
    }

    admin->verifyAudit();
    REQUIRE(done.wait(30000));
    CHECK(admin->auditVerdictText().contains(QStringLiteral("intact")));
}

TEST_CASE("The health strip turns red when the token is pulled and green when it is back")
{
    QTemporaryDir unplug;
    const QString unplugFile = unplug.filePath(QStringLiteral("unplugged"));
    qputenv("IMPRINT_UNPLUG_FILE", QFile::encodeName(unplugFile));
    Window w([](const core::DataDir& dir) {
        QSettings s(dir.configFile(), QSettings::IniFormat);
        s.setValue(QStringLiteral("hsm/module"), QStringLiteral(IMPRINT_UNPLUG_MODULE));
    });
    auto hsmLevel = [&] {
        QSignalSpy shown(w.window.get(), &ui::MainWindow::healthShown);
        w.window->refreshHealth();
        REQUIRE(shown.wait(10000));
        return w.window->healthStrip()->items().first();
    };
    REQUIRE(w.ctx->config.modulePath == QLatin1String(IMPRINT_UNPLUG_MODULE));
    CHECK(hsmLevel().level == ui::HealthItem::Level::Good);
    QFile(unplugFile).open(QIODevice::WriteOnly);
    const ui::HealthItem gone = hsmLevel();
    CHECK(gone.level == ui::HealthItem::Level::Alarm);
    CHECK(gone.sentence.contains(QStringLiteral("not there")));
    keepPicture(*w.window, QStringLiteral("health-token-pulled"));
    QFile::remove(unplugFile);
    CHECK(hsmLevel().level == ui::HealthItem::Level::Good);
    qunsetenv("IMPRINT_UNPLUG_FILE");
}

TEST_CASE("Guessing the admin PIN or the QA passphrase is paused, the pause outlives the window, and no guess "
          "reaches the token")
{
    QTemporaryDir tmp;
    const QString logins = tmp.filePath(QStringLiteral("logins"));
    qputenv("IMPRINT_LOGIN_COUNT_FILE", QFile::encodeName(logins));
    Window w([](const core::DataDir& dir) {
        QSettings s(dir.configFile(), QSettings::IniFormat);
        s.setValue(QStringLiteral("hsm/module"), QStringLiteral(IMPRINT_UNPLUG_MODULE));
    });
    auto loginCount = [&] {
        QFile f(logins);
        return f.open(QIODevice::ReadOnly) ? f.readAll().count('\n') : 0;
    };
    const qsizetype atStart = loginCount();
    CHECK(atStart >= 1); // the station's own unlock at start
    auto attempt = [&](Screen screen, const QString& person, const QByteArray& secret) {
        w.answers << std::pair { person, secret };
        return w.window->openScreen(screen);
    };
    auto state = [&](const QString& role) {
        auto store = core::RecordStore::open(w.demo.dir().database());
        REQUIRE(store.has_value());
        auto s = store->signIns().state(role);
        REQUIRE(s.has_value());
        return *s;
    };
    for (int i = 0; i < 3; ++i)
        CHECK_FALSE(attempt(Screen::Admin, QStringLiteral("mallory"), QByteArray("guess-") + QByteArray::number(i)));
    CHECK(state(QStringLiteral("admin")).failures == 3);
    CHECK(state(QStringLiteral("admin")).pausedUntil > QDateTime::currentDateTimeUtc());
    // Paused: even the right PIN is not looked at.
    CHECK_FALSE(attempt(Screen::Admin, QStringLiteral("mallory"), w.pin()));
    CHECK(w.window->role() == Role::Operator);
    // The token saw none of it: the window compares with the PIN it was unlocked with.
    CHECK(loginCount() == atStart);

    // QA's passphrase likewise.
    for (int i = 0; i < 3; ++i)
        CHECK_FALSE(attempt(Screen::Qa, QStringLiteral("mallory"), QByteArray("qa-guess-") + QByteArray::number(i)));
    CHECK_FALSE(attempt(Screen::Qa, QStringLiteral("mallory"), QaPassphrase));
    CHECK(w.window->role() == Role::Operator);

    // Closing the window (or restarting the station) does not reset the count.
    w.openWindow();
    CHECK_FALSE(attempt(Screen::Admin, QStringLiteral("mallory"), w.pin()));
    CHECK_FALSE(attempt(Screen::Qa, QStringLiteral("mallory"), QaPassphrase));
    int refusals = 0, unchecked = 0;
    for (const core::AuditEntry& e : w.audit()) {
        refusals += e.kind == QLatin1String("login") && e.detail.startsWith(QStringLiteral("refused: wrong"));
        unchecked += e.kind == QLatin1String("login") && e.detail.contains(QStringLiteral("was not checked"));
    }
    CHECK(refusals == 6);
    CHECK(unchecked == 4);

    // The pause over (as if an hour had passed), with the token locked: signing in is the
    // explicit act of unlocking it, said as such, and only that reaches the token.
    test::tamper(
        w.demo.dir().database(), QStringLiteral("UPDATE sign_in_attempts SET last = '2000-01-01T00:00:00.000Z'"));
    w.ctx->caKey.service->lock();
    REQUIRE(attempt(Screen::Admin, QStringLiteral("pat"), w.pin()));
    CHECK(w.lastPrompt.contains(QStringLiteral("unlocks it")));
    CHECK(loginCount() == atStart + 1);
    CHECK(w.window->role() == Role::Admin);
    CHECK(w.ctx->caKey.service->health().unlocked);
    CHECK(state(QStringLiteral("admin")).failures == 0);
    // A wrong PIN in that act costs one try at the token, and counts.
    w.window->signOut(QStringLiteral("end of shift"));
    w.ctx->caKey.service->lock();
    CHECK_FALSE(attempt(Screen::Admin, QStringLiteral("pat"), QByteArray("still-wrong")));
    CHECK(loginCount() == atStart + 2);
    CHECK(state(QStringLiteral("admin")).failures == 1);
    qunsetenv("IMPRINT_LOGIN_COUNT_FILE");
}

TEST_CASE("The device list passes the model tester and reads no more than a page and a half ahead of the view")
{
    Window w;
    {
        // Many devices, written as the line writes them.
        auto store = core::RecordStore::open(w.demo.dir().database());
        REQUIRE(store.has_value());
        for (int i = 0; i < 1000; ++i) {
            core::DeviceIdentity d;
            d.serial = QStringLiteral("LIST-%1").arg(i, 5, 10, QLatin1Char('0'));
            d.model = QStringLiteral("m");
            auto job = store->jobs().begin(d, QStringLiteral("p"), QStringLiteral("st"), QStringLiteral("ann"));
            REQUIRE(job.has_value());
            REQUIRE(store->jobs()
                        .finish(*job, d.serial, core::JobOutcome::Failed, QStringLiteral("timeout: x"))
                        .has_value());
        }
    }
    w.signInQa();
    ui::DeviceListModel* model = w.window->qaScreen()->deviceList();
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    QTableView* view = w.window->qaScreen()->deviceView();
    w.window->qaScreen()->refreshList();
    REQUIRE(QTest::qWaitFor([&] { return model->rowCount() > 0 && !model->isFetching(); }, 10000));
    auto ahead = [&] {
        const int lastVisible = view->rowAt(view->viewport()->height() - 1);
        const int shown = lastVisible < 0 ? model->rowCount() : lastVisible + 1;
        return model->rowCount() - shown;
    };
    CHECK(model->rowCount() < 1000);
    CHECK(ahead() <= ui::DeviceListModel::PageSize * 3 / 2);
    for (int step = 0; step < 40 && model->rowCount() < 1000; ++step) {
        view->verticalScrollBar()->setValue(view->verticalScrollBar()->maximum());
        QTest::qWait(50);
        REQUIRE(QTest::qWaitFor([&] { return !model->isFetching(); }, 10000));
        CHECK(ahead() <= ui::DeviceListModel::PageSize * 3 / 2);
    }
    CHECK(model->rowCount() == 1000);
    CHECK(model->pagesRead() == 1000 / ui::DeviceListModel::PageSize + 1);
    // Filters start over: a serial prefix.
    core::DeviceQuery q;
    q.serialPrefix = QStringLiteral("LIST-0099");
    model->setQuery(q);
    view->scrollToTop();
    REQUIRE(QTest::qWaitFor([&] { return model->rowCount() == 10 && !model->isFetching(); }, 10000));
}

TEST_CASE("The health reads amber and red with a plain sentence when someone is needed")
{
    core::StationHealth h;
    h.token = { true, true, {} };
    const QDateTime now = QDateTime::currentDateTimeUtc();
    h.caNotAfter = now.addDays(400);
    h.crlNextUpdate = now.addDays(5);
    h.upstreamConfigured = true;
    h.contact.attempted = now.addSecs(-30);
    h.contact.reached = now.addSecs(-30);
    h.diskFree = 50ll << 30;
    h.diskTotal = 100ll << 30;
    auto levels = [&] {
        QList<ui::HealthItem::Level> l;
        for (const auto& i : ui::assessHealth(h, now))
            l << i.level;
        return l;
    };
    using L = ui::HealthItem::Level;
    CHECK(levels() == QList<L> { L::Good, L::Good, L::Good, L::Good });
    h.crlNextUpdate = now.addSecs(-60);
    CHECK(levels().at(0) == L::Alarm);
    CHECK(ui::assessHealth(h, now).at(0).sentence.contains(QStringLiteral("issue one")));
    h.crlNextUpdate = now.addDays(5);
    h.contact.attempted = now.addSecs(-10);
    h.contact.reached = now.addSecs(-7200);
    h.contact.lastError = QStringLiteral("connection refused\nerror:10000067:BIO routines::connect error");
    h.upstreamOpen = 4;
    h.oldestUnsynced = now.addSecs(-7200);
    CHECK(levels().at(1) == L::Attention);
    CHECK(ui::assessHealth(h, now).at(1).sentence.contains(QStringLiteral("connection refused")));
    // OpenSSL's own text stays off the strip (the Admin screen shows it as a detail).
    CHECK_FALSE(ui::assessHealth(h, now).at(1).sentence.contains(QStringLiteral("BIO routines")));
    h.oldestUnsynced = now.addDays(-2);
    CHECK(levels().at(1) == L::Alarm);
    h.diskFree = 100ll << 20;
    CHECK(levels().at(2) == L::Alarm);
    h.interruptedJobs = 2;
    CHECK(levels().at(3) == L::Attention);

    // The plant record, once configured: green while pushes get through, amber with the
    // plain words when they do not (the line does not wait), red after a day without one.
    CHECK(levels().size() == 4);
    h.plantConfigured = true;
    h.plantContact.attempted = now.addSecs(-20);
    h.plantContact.reached = now.addSecs(-20);
    h.plantBacklog = 0;
    CHECK(levels().at(2) == L::Good);
    CHECK(ui::assessHealth(h, now).at(2).name == QStringLiteral("Plant record"));
    h.plantContact.attempted = now.addSecs(-5);
    h.plantContact.lastError = QStringLiteral("The plant database could not be reached (db:5432/plant as st).\n"
                                              "connection to server failed: Connection refused");
    h.plantBacklog = 12;
    CHECK(levels().at(2) == L::Attention);
    const QString sentence = ui::assessHealth(h, now).at(2).sentence;
    CHECK(sentence.contains(QStringLiteral("12 change")));
    CHECK(sentence.contains(QStringLiteral("could not be reached")));
    CHECK_FALSE(sentence.contains(QStringLiteral("Connection refused")));
    h.plantContact.reached = now.addDays(-2);
    CHECK(levels().at(2) == L::Alarm);
}
