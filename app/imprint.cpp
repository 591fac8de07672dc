// imprint: the operator's provisioning station window.

#include "MainWindow.h"
#include "PinDialog.h"
#include "SlotReport.h"
#include "StationContext.h"
#include "UpstreamWorker.h"
#include "device/SerialTransport.h"
#include "device/UsbTransport.h"
#include "engine/Backoffice.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QApplication>
#include <QCommandLineParser>
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
        p.addOptions({ dataDir, port, op, exitWhenDone, screenshot, profile, usb, lot, lang });
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
    }
    QLocale::setDefault(locale);

    QTextStream out(stdout);
    QTextStream err(stderr);

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
    // Who works the line: every step carries the name (a badge scan types it here).
    QString operatorName = p.value(options.op).trimmed();
    if (operatorName.isEmpty() && QGuiApplication::platformName() == QLatin1String("offscreen"))
        operatorName = qEnvironmentVariable("USER", QStringLiteral("operator"));
    while (operatorName.isEmpty()) {
        bool ok = false;
        operatorName = QInputDialog::getText(nullptr, QStringLiteral("Imprint"),
            QStringLiteral("Operator (scan your badge or type your name):"), QLineEdit::Normal, QString(), &ok)
                           .trimmed();
        if (!ok)
            return 2;
    }
    core::Station station(operatorName);
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
    ui::MainWindow window(&station, &backoffice, ctx->caSubject());
    // A station's screen is the window's: as large as the screen allows.
    if (const QScreen* screen = QGuiApplication::primaryScreen())
        window.resize(screen->availableSize());
    window.show();

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

    QObject::connect(&station, &core::Station::finished, &window, [&] {
        // The picture shows the shift's figures as the store has them now.
        window.refreshShift();
    });
    QObject::connect(&window, &ui::MainWindow::shiftShown, &window, [&] {
        if (!station.allFinished() || station.slotJobs().isEmpty())
            return;
        // Let the last repaint happen before the picture is taken.
        QTimer::singleShot(300, &window, [&] {
            if (p.isSet(options.screenshot)) {
                if (!window.grab().save(p.value(options.screenshot)))
                    err << "imprint: could not save the screenshot to " << p.value(options.screenshot) << Qt::endl;
            }
            if (!p.isSet(options.exitWhenDone))
                return;
            int failed = 0;
            for (const core::SlotJob* job : station.slotJobs()) {
                out << app::slotResultLine(*job) << Qt::endl;
                if (job->step() == core::SlotJob::Step::Failed)
                    ++failed;
            }
            QApplication::exit(failed == 0 ? 0 : 1);
        });
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
