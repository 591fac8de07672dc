// imprint: the operator's provisioning station window.

#include "MainWindow.h"
#include "PinDialog.h"
#include "PlantReader.h"
#include "PlantWorker.h"
#include "RemoteLine.h"
#include "ServiceClient.h"
#include "SlotReport.h"
#include "StationContext.h"
#include "UpstreamWorker.h"
#include "device/SerialTransport.h"
#include "device/UsbTransport.h"
#include "engine/Backoffice.h"
#include "engine/Line.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QInputDialog>
#include <QLibraryInfo>
#include <QLineEdit>
#include <QMessageBox>
#include <QScreen>
#include <QTextStream>
#include <QTimer>
#include <QTranslator>

using namespace imprint;

namespace {

/// The window's command line, in one place: the parser that answers --help and --version
/// before any window exists and the one the window reads are both made by this.
struct WindowOptions {
    QCommandLineOption dataDir { QStringLiteral("data-dir"), QStringLiteral("Station data directory."),
        QStringLiteral("DIR") };
    QCommandLineOption port { QStringLiteral("port"), QStringLiteral("Serial port of a fixture slot (repeatable)."),
        QStringLiteral("PATH") };
    QCommandLineOption op { QStringLiteral("operator"),
        QStringLiteral("Operator recorded with every step (default: asked at start; offscreen: $USER)."),
        QStringLiteral("NAME") };
    QCommandLineOption lot { QStringLiteral("lot"),
        QStringLiteral("The lot (work order) being made; its profile is used (imprintctl lot create)."),
        QStringLiteral("LOT") };
    QCommandLineOption exitWhenDone { QStringLiteral("exit-when-done"),
        QStringLiteral("Quit once every slot has passed or failed; print a summary.") };
    QCommandLineOption screenshot { QStringLiteral("screenshot"),
        QStringLiteral("Save a picture of the window to FILE when the line is done."), QStringLiteral("FILE") };
    QCommandLineOption screenshotAfter { QStringLiteral("screenshot-after"),
        QStringLiteral("With --screenshot: take the picture MS milliseconds after the start instead, as the line is "
                       "(devices mid-step included), then quit."),
        QStringLiteral("MS") };
    QCommandLineOption profile { QStringLiteral("profile"),
        QStringLiteral("Certificate profile: idevid (built in), NAME in DATA_DIR/profiles, or a file."),
        QStringLiteral("NAME") };
    QCommandLineOption usb { QStringLiteral("usb"),
        QStringLiteral("Give every USB device with these ids a slot as it is plugged in (and those already there)."),
        QStringLiteral("VVVV:PPPP") };
    QCommandLineOption lang { QStringLiteral("lang"),
        QStringLiteral("The window's language: en or de (default: the system's locale)."), QStringLiteral("LANG") };

    explicit WindowOptions(QCommandLineParser& p)
    {
        p.setApplicationDescription(QStringLiteral("Imprint provisioning station."));
        p.addHelpOption();
        p.addVersionOption();
        p.addOptions({ dataDir, port, op, exitWhenDone, screenshot, screenshotAfter, profile, usb, lot, lang });
    }
};

void setApplicationNames()
{
    QCoreApplication::setApplicationName(QStringLiteral("imprint"));
    QCoreApplication::setApplicationVersion(QStringLiteral(IMPRINT_VERSION));
}

/// Answers --help and --version without starting the window: QApplication loads the platform
/// plugin first, which aborts where there is no display (a plant's terminal over ssh, a package
/// build making the manual page). Returns only when the window should start. Anything else the
/// command line holds is for the window's own parser, after Qt has taken its options (-platform,
/// -style); --help-all stays with the window too, since Qt's platform options belong to it.
void answerWithoutDisplay(int argc, char** argv)
{
    QStringList args;
    for (int i = 0; i < argc; ++i)
        args << QString::fromLocal8Bit(argv[i]);
    QCommandLineParser p;
    const WindowOptions options(p);
    (void)p.parse(args); // a mistake is reported by the window's parser
    const bool version = p.isSet(QStringLiteral("version"));
    if (!version && !p.isSet(QStringLiteral("help")))
        return;
    QCoreApplication app(argc, argv);
    setApplicationNames();
    if (version)
        p.showVersion(); // exits
    p.showHelp(0); // exits
}

} // namespace

int main(int argc, char** argv)
{
    answerWithoutDisplay(argc, argv);
    QApplication app(argc, argv);
    setApplicationNames();
    QApplication::setApplicationDisplayName(QStringLiteral("Imprint"));

    QCommandLineParser p;
    const WindowOptions options(p);
    p.process(app);

    // The window speaks the system's language when it has it (German or English), or the
    // one asked for.
    QTranslator translator;
    QTranslator qtTranslator; // Qt's own words: the dialogs' buttons
    const QLocale locale = p.isSet(options.lang) ? QLocale(p.value(options.lang)) : QLocale::system();
    if (locale.language() != QLocale::English) {
        if (qtTranslator.load(locale, QStringLiteral("qtbase"), QStringLiteral("_"),
                QLibraryInfo::path(QLibraryInfo::TranslationsPath)))
            QApplication::installTranslator(&qtTranslator);
        if (translator.load(locale, QStringLiteral("imprint"), QStringLiteral("_"), QStringLiteral(":/i18n")))
            QApplication::installTranslator(&translator);
        else if (p.isSet(options.lang))
            QTextStream(stderr) << "imprint: no translation for \"" << p.value(options.lang)
                                << "\"; the window stays in English." << Qt::endl;
    } else if (translator.load(QStringLiteral("imprint_en"), QStringLiteral(":/i18n"))) {
        // English needs its plurals only ("1 record", not "1 record(s)").
        QApplication::installTranslator(&translator);
    }
    QLocale::setDefault(locale);

    QTextStream out(stdout);
    QTextStream err(stderr);

    // Who works the line: every step carries the name (a badge scan types it here).
    auto askOperator = [&]() -> std::optional<QString> {
        QString name = p.value(options.op).trimmed();
        if (name.isEmpty() && QGuiApplication::platformName() == QLatin1String("offscreen"))
            name = qEnvironmentVariable("USER", QStringLiteral("operator"));
        while (name.isEmpty()) {
            bool ok = false;
            name = QInputDialog::getText(nullptr, QStringLiteral("Imprint"),
                QStringLiteral("Operator (scan your badge or type your name):"), QLineEdit::Normal, QString(), &ok)
                       .trimmed();
            if (!ok)
                return std::nullopt;
        }
        return name;
    };
    // When the line is done: the picture, and with --exit-when-done one line per device.
    auto whenDone = [&](ui::MainWindow& window, core::Line& line, std::function<QStringList()> results) {
        if (p.isSet(options.screenshot) && p.isSet(options.screenshotAfter)) {
            // The line as it is at that moment, then the end.
            QTimer::singleShot(
                std::max(0, p.value(options.screenshotAfter).toInt()), &window, [&window, &p, &options, &err] {
                    if (!window.grab().save(p.value(options.screenshot)))
                        err << "imprint: could not save the screenshot to " << p.value(options.screenshot) << Qt::endl;
                    QApplication::exit(0);
                });
            return;
        }
        auto done = std::make_shared<bool>(false);
        auto check = [&window, &line, &p, &options, &err, &out, results, done] {
            if (!*done && line.slotCount() == 0 && line.slotsBeingAdded() == 0 && p.isSet(options.exitWhenDone)
                && !p.isSet(options.usb)) {
                // Nothing to wait for: no slot, and none coming.
                *done = true;
                err << "imprint: the line has no slot, so there is nothing to wait for (give --port PATH or --usb "
                       "VVVV:PPPP)."
                    << Qt::endl;
                QApplication::exit(0);
                return;
            }
            if (*done || !line.allFinished() || line.slotCount() == 0 || line.slotsBeingAdded() > 0)
                return;
            *done = true;
            // Let the last repaint happen before the picture is taken.
            QTimer::singleShot(300, &window, [&window, &p, &options, &err, &out, results] {
                if (p.isSet(options.screenshot)) {
                    if (!window.grab().save(p.value(options.screenshot)))
                        err << "imprint: could not save the screenshot to " << p.value(options.screenshot) << Qt::endl;
                }
                if (!p.isSet(options.exitWhenDone))
                    return;
                int failed = 0;
                for (const QString& r : results()) {
                    out << r << Qt::endl;
                    failed += r.startsWith(QLatin1String("FAIL")) ? 1 : 0;
                }
                QApplication::exit(failed == 0 ? 0 : 1);
            });
        };
        // The picture shows the shift's figures with the last device in them; should they
        // not change (a device that failed before anything was recorded), the line's end is
        // enough.
        QObject::connect(&window, &ui::MainWindow::shiftShown, &window, check);
        QObject::connect(
            &line, &core::Line::finished, &window, [&window, check] { QTimer::singleShot(2000, &window, check); });
        // A line that had finished before this window came (the service's, seen as it is).
        QTimer::singleShot(2000, &window, check);
    };
    auto sizeWindow = [](ui::MainWindow& window) {
        // A station's screen is the window's: as large as the screen allows. Drawn off screen
        // (a screenshot, a test), the size of a small station screen, not the platform's square.
        if (QGuiApplication::platformName() == QLatin1String("offscreen"))
            window.resize(1280, 800);
        else if (const QScreen* screen = QGuiApplication::primaryScreen())
            window.resize(screen->availableSize());
        window.show();
    };

    // With the station service running, the window is its client: the line, the token and
    // the records are the service's, and closing the window stops no device.
    const QString socketPath = app::serviceSocketPath();
    if (QFileInfo::exists(socketPath)) {
        auto remote = std::make_unique<app::RemoteLine>(socketPath);
        if (remote->connectNow(5000)) {
            if (p.isSet(options.usb) || p.isSet(options.lot) || p.isSet(options.profile)) {
                err << "imprint: --usb, --lot and --profile are the station service's own settings (imprintd); the "
                       "window as its client takes --port only."
                    << Qt::endl;
                return 2;
            }
            const auto name = askOperator();
            if (!name)
                return 2;
            remote->setOperator(*name);
            ui::MainWindow window(remote.get(), nullptr, remote->caSubject());
            window.setPlantDesk(remote.get());
            sizeWindow(window);
            app::RemoteLine* line = remote.get();
            whenDone(window, *line, [line] {
                QStringList lines;
                for (int i = 0; i < line->slotCount(); ++i)
                    lines << line->slotAt(i).resultLine;
                return lines;
            });
            for (const QString& spec : p.values(options.port)) {
                const QString path = spec.section(u'@', 0, 0);
                line->addSlot(spec.startsWith(QLatin1String("usb:")) || QDir::isAbsolutePath(path)
                        ? spec
                        : QFileInfo(path).absoluteFilePath()
                            + (spec.contains(u'@') ? u'@' + spec.section(u'@', 1) : QString()));
            }
            // The figures that came before the window was there, once its slots are asked for
            // (a line that had finished is not this window's end).
            line->replayFigures();
            return QApplication::exec();
        }
    }

    // In this process: only while no station service runs on the data directory.
    if (auto held = core::DataDir(core::DataDir::resolve(p.value(options.dataDir))).holdDirectly(); !held) {
        err << "imprint: " << held.error().message << Qt::endl;
        if (QGuiApplication::platformName() != QLatin1String("offscreen"))
            QMessageBox::critical(nullptr, QStringLiteral("Imprint"), held.error().message);
        return 2;
    }
    // Unlocking is a person's act: a refused PIN is shown with the token's PIN state, and
    // asked again only if the person chooses to try again.
    ui::PinDialog pinDialog;
    auto ctx = app::openStation(p.value(options.dataDir), &pinDialog, p.value(options.profile), p.value(options.lot));
    while (!ctx && ctx.error().code == core::ErrorCode::PinRejected
        && QGuiApplication::platformName() != QLatin1String("offscreen")
        && QMessageBox::warning(
               nullptr, QStringLiteral("Imprint"), ctx.error().message, QMessageBox::Retry | QMessageBox::Close)
            == QMessageBox::Retry)
        ctx = app::openStation(p.value(options.dataDir), &pinDialog, p.value(options.profile), p.value(options.lot));
    if (!ctx) {
        err << "imprint: " << ctx.error().text() << Qt::endl;
        if (QGuiApplication::platformName() != QLatin1String("offscreen"))
            QMessageBox::critical(nullptr, QStringLiteral("Imprint"), ctx.error().message);
        return 2;
    }
    const auto operatorName = askOperator();
    if (!operatorName)
        return 2;
    core::Station station(*operatorName);
    station.setAcceptsScannedSerials(true);
    station.setTimeouts(ctx->config.timeouts);
    if (auto r = station.start(ctx->registrarFactory()); !r) {
        err << "imprint: " << r.error().text() << Qt::endl;
        return 2;
    }

    // The QA and admin screens and the health strip work on a store connection and a thread
    // of their own.
    core::Backoffice backoffice(ctx->dir, ctx->config, ctx->chain, ctx->backofficeWiring());
    if (auto r = backoffice.start(); !r) {
        err << "imprint: " << r.error().text() << Qt::endl;
        return 2;
    }
    core::LocalLine line(&station);
    ui::MainWindow window(&line, &backoffice, ctx->caSubject());
    app::PlantReader plantReader(ctx->config, ctx->chain);
    if (plantReader.configured())
        window.setPlantDesk(&plantReader);
    sizeWindow(window);

    // The window's process syncs the outbox upstream, on a thread of its own.
    app::UpstreamWorker upstream(ctx->dir, ctx->config, ctx->caKey);
    if (ctx->config.upstream.configured()) {
        QObject::connect(&upstream, &app::UpstreamWorker::roundDone, &window,
            [&err](const QString& summary) { err << "imprint: " << summary << Qt::endl; });
        QObject::connect(&upstream, &app::UpstreamWorker::failed, &window,
            [&err](const QString& message) { err << "imprint: upstream: " << message << Qt::endl; });
        if (auto r = upstream.start(); !r)
            err << "imprint: " << r.error().text() << Qt::endl;
        QObject::connect(&station, &core::Station::finished, &upstream, &app::UpstreamWorker::syncNow);
        window.syncNow = [&upstream] { upstream.syncNow(); };
    }
    // And pushes to the plant record, on another.
    app::PlantWorker plant(ctx->dir, ctx->config);
    if (ctx->config.plant.configured()) {
        QObject::connect(&plant, &app::PlantWorker::pushed, &window,
            [&err](const QString& summary) { err << "imprint: " << summary << Qt::endl; });
        QObject::connect(&plant, &app::PlantWorker::failed, &window,
            [&err](const QString& message) { err << "imprint: plant record: " << message << Qt::endl; });
        if (auto r = plant.start(); !r)
            err << "imprint: " << r.error().text() << Qt::endl;
        QObject::connect(&station, &core::Station::finished, &plant, &app::PlantWorker::pushNow);
    }

    QObject::connect(&station, &core::Station::finished, &window, [&] {
        // The picture shows the shift's figures as the store has them now.
        window.refreshShift();
    });
    whenDone(window, line, [&station] {
        QStringList lines;
        for (const core::SlotJob* job : station.slotJobs())
            lines << app::slotResultLine(*job);
        return lines;
    });
    for (const QString& spec : p.values(options.port)) {
        if (auto ok = core::Station::checkPort(spec); !ok) {
            err << "imprint: " << ok.error().text() << Qt::endl;
            return 2;
        }
    }
    for (const QString& spec : p.values(options.port))
        station.addSlot(spec);
    if (p.isSet(options.usb)) {
        auto ids = core::UsbAddress::parse(QStringLiteral("usb:") + p.value(options.usb));
        auto watching
            = ids ? station.watchUsb(ids->vendorId, ids->productId) : core::Result<void>(std::unexpected(ids.error()));
        if (!watching) {
            err << "imprint: " << watching.error().text() << Qt::endl;
            return 2;
        }
    }
    return QApplication::exec();
}
