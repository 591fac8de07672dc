// imprintctl provision: the line, headless: every port (or every USB device as it is plugged in) at once.

#include "SlotReport.h"
#include "StationContext.h"
#include "TerminalPinPrompt.h"
#include "cli/Command.h"
#include "device/UsbTransport.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"

#include <QCoreApplication>
#include <QJsonDocument>
#include <QSocketNotifier>

#include <cerrno>
#include <memory>
#include <unistd.h>

namespace imprint::app::cli {

namespace {

/// provision's options, for the command itself and for its way through the station service.
struct ProvisionOptions {
    CommandLine p { QStringLiteral("Provision the devices on the given ports. Exit status 0 when no device failed "
                                   "(each passed, or had passed before: done earlier), 1 when one failed."),
        CommandLine::DataDirAndJson };
    QCommandLineOption port { QStringLiteral("port"),
        QStringLiteral("A device's port (repeatable): a serial port, with line settings after @, e.g. "
                       "/dev/ttyUSB0@9600,8N1 (default 115200,8N1, no flow control); or a USB device, "
                       "usb:VVVV:PPPP[:SERIAL]."),
        QStringLiteral("PATH") };
    QCommandLineOption op = option::operatorName(QStringLiteral("Operator recorded with every step."));
    QCommandLineOption usb { QStringLiteral("usb"),
        QStringLiteral("Provision every USB device with these ids as it is plugged in (and those already there)."),
        QStringLiteral("VVVV:PPPP") };
    QCommandLineOption count { QStringLiteral("count"),
        QStringLiteral("With --usb: stop after this many devices have finished (default 1)."), QStringLiteral("N"),
        QStringLiteral("1") };
    QCommandLineOption lot { QStringLiteral("lot"),
        QStringLiteral("The lot (work order) being made; its profile is used (imprintctl lot create)."),
        QStringLiteral("LOT") };
    QCommandLineOption scan { QStringLiteral("scan"),
        QStringLiteral("Serial labels arrive on standard input, one per line (a barcode scanner): each goes to the "
                       "first device waiting for its serial. Without it, a device with no serial fails.") };
    QCommandLineOption progress { QStringLiteral("progress"),
        QStringLiteral("Print every slot's step as it changes, one JSON object per line on standard error.") };

    explicit ProvisionOptions(const QStringList& args)
    {
        p.addOptions({ port, op, option::profile, usb, count, lot, scan, progress });
        p.parse(args);
    }
};

} // namespace

void parseProvisionOptions(const QStringList& args)
{
    ProvisionOptions parsed(args);
}

int provision(const QStringList& args)
{
    ProvisionOptions o(args);
    CommandLine& p = o.p;
    const QCommandLineOption& port = o.port;
    const QCommandLineOption& op = o.op;
    const QCommandLineOption& usb = o.usb;
    const QCommandLineOption& count = o.count;
    const QCommandLineOption& lot = o.lot;
    const QCommandLineOption& scan = o.scan;
    const QCommandLineOption& progress = o.progress;
    const QStringList ports = p.values(port);
    if (ports.isEmpty() && !p.isSet(usb)) {
        return usageError(args, QStringLiteral("give at least one --port PATH, or --usb VVVV:PPPP"));
    }
    std::optional<core::UsbAddress> watch;
    if (p.isSet(usb)) {
        auto parsed = core::UsbAddress::parse(QStringLiteral("usb:") + p.value(usb));
        if (!parsed)
            return report(parsed.error());
        watch = *parsed;
    }
    const int wanted = std::max(1, p.value(count).toInt());
    for (const QString& spec : ports) {
        if (auto ok = core::Station::checkPort(spec); !ok)
            return report(ok.error());
    }

    app::TerminalPinPrompt prompt;
    auto ctx = app::openStation(p.value(option::dataDir), &prompt,
        p.isSet(option::profile) ? p.value(option::profile) : QString(), p.value(lot));
    if (!ctx)
        return report(ctx.error());
    core::Station station(p.value(op));
    station.setTimeouts(ctx->config.timeouts);
    if (auto r = station.start(ctx->registrarFactory()); !r)
        return report(r.error());
    // Jobs the station was stopped under: each continues when its device is back on a slot.
    if (!station.interruptedJobs().isEmpty()) {
        err() << station.interruptedJobs().size()
              << " job(s) were interrupted when the station last stopped; each device continues where it was when "
                 "it is back on a slot (imprintctl jobs lists them):"
              << Qt::endl;
        for (const core::UnfinishedJob& j : station.interruptedJobs().mid(0, 20))
            err() << "  " << app::unfinishedJobLine(j) << Qt::endl;
    }

    // Scanned labels: queued until a device waits for one; at the end of the input, a
    // device still waiting is stopped.
    QStringList scanned;
    QByteArray partialLine;
    bool scanEnded = false;
    auto handOut = [&] {
        while (core::SlotJob* job = station.awaitingSerial()) {
            if (scanned.isEmpty()) {
                if (!scanEnded)
                    return;
                job->abort(QStringLiteral("No serial label was scanned for it (the input ended)."));
                continue;
            }
            const QString label = scanned.takeFirst();
            if (auto r = job->assignSerial(label); !r)
                err() << "imprintctl: " << r.error().message << Qt::endl;
        }
    };
    std::unique_ptr<QSocketNotifier> scanner;
    if (p.isSet(scan)) {
        station.setAcceptsScannedSerials(true);
        scanner = std::make_unique<QSocketNotifier>(STDIN_FILENO, QSocketNotifier::Read);
        QObject::connect(scanner.get(), &QSocketNotifier::activated, &station, [&] {
            char buffer[4096];
            const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return; // not the end: read again when told
            if (n <= 0) {
                scanner->setEnabled(false);
                scanEnded = true;
                if (!partialLine.trimmed().isEmpty())
                    scanned << QString::fromUtf8(partialLine.trimmed());
            } else {
                partialLine.append(buffer, n);
                qsizetype nl;
                while ((nl = partialLine.indexOf('\n')) >= 0) {
                    const QString label = QString::fromUtf8(partialLine.left(nl).trimmed());
                    partialLine.remove(0, nl + 1);
                    if (!label.isEmpty())
                        scanned << label;
                }
            }
            handOut();
        });
    }

    const bool json = p.json();
    app::ProvisionTally tally;
    QObject::connect(&station, &core::Station::slotChanged, &station, [&](int index) {
        // Later, not from inside this change: handing out may stop a slot, which reports again.
        if (station.slotJobs().at(index)->step() == core::SlotJob::Step::AwaitingSerial)
            QMetaObject::invokeMethod(&station, handOut, Qt::QueuedConnection);
        const core::SlotJob* job = station.slotJobs().at(index);
        if (!job->isFinished()) {
            // Every slot's state as it changes, on stderr (stdout keeps one result per device).
            if (p.isSet(progress))
                err() << QJsonDocument(
                    QJsonObject { { QStringLiteral("slot"), job->index() + 1 }, { QStringLiteral("port"), job->port() },
                        { QStringLiteral("serial"), job->device().serial },
                        { QStringLiteral("step"), core::SlotJob::stepName(job->step()) },
                        { QStringLiteral("elapsed_ms"), job->elapsedMs() } })
                             .toJson(QJsonDocument::Compact)
                      << Qt::endl;
            return;
        }
        tally.add(app::slotResultJson(*job).value(QStringLiteral("status")).toString(), job->failureCode());
        if (json)
            out() << QJsonDocument(app::slotResultJson(*job)).toJson(QJsonDocument::Compact) << Qt::endl;
        else
            out() << app::slotResultLine(*job) << Qt::endl;
    });
    QObject::connect(&station, &core::Station::finished, qApp, [&] {
        // Watching USB, the line goes on until enough devices have come and finished.
        if (!watch || station.slotJobs().size() >= wanted)
            QCoreApplication::exit(0);
    });
    for (const QString& path : ports)
        station.addSlot(path);
    if (watch) {
        if (auto r = station.watchUsb(watch->vendorId, watch->productId); !r)
            return report(r.error());
        err() << "Waiting for USB devices " << watch->toString() << " ..." << Qt::endl;
    }
    if (watch || !station.allFinished())
        QCoreApplication::exec();
    // The run in one line: on stdout for people, on stderr beside --json's one object per device.
    (json ? err() : out()) << tally.line() << Qt::endl;
    return tally.failed == 0 ? 0 : 1;
}

} // namespace imprint::app::cli
