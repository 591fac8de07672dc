// imprint-devcheck: a conformance check of a device against core/device/PROTOCOL.md, for
// device makers. It plays the station's side through every operation, state and repeat rule
// and prints one line per rule with its section of the document.

#include "DeviceCheck.h"

#include <QCborValue>
#include <QCommandLineParser>
#include <QCoreApplication>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTextStream>

using namespace imprint;

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("imprint-devcheck"));
    QCoreApplication::setApplicationVersion(QStringLiteral(IMPRINT_VERSION));
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral(
        "Checks a device against the Imprint device protocol (PROTOCOL.md), rule by rule, and prints a pass/fail "
        "table with the document's section numbers. It makes keys on the device, installs a certificate of a "
        "throwaway CA made in memory for this run, and resets the device; with --lock it also locks it, which is "
        "final.\n\nExit status: 0 every rule that ran passed, 1 a rule failed, 2 the port could not be used."));
    p.addHelpOption();
    p.addVersionOption();
    QCommandLineOption port(QStringLiteral("port"),
        QStringLiteral("The device: a serial port (/dev/ttyACM0, with @115200,8N1 if it needs line settings) or "
                       "usb:VVVV:PPPP[:SERIAL]."),
        QStringLiteral("PATH"));
    QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the results as one JSON document."));
    QCommandLineOption lock(QStringLiteral("lock"),
        QStringLiteral("Also check lock and the locked state. Locking is final: the device stays locked."));
    QCommandLineOption serial(QStringLiteral("serial"),
        QStringLiteral("For a device with no serial yet: the serial to give it (set-serial; once, for good)."),
        QStringLiteral("SERIAL"));
    QCommandLineOption timeout(QStringLiteral("timeout-ms"),
        QStringLiteral("How long to wait for an answer (default 3000)."), QStringLiteral("MS"), QStringLiteral("3000"));
    QCommandLineOption keygenTimeout(QStringLiteral("keygen-timeout-ms"),
        QStringLiteral("How long to wait for generate-key (default 60000)."), QStringLiteral("MS"),
        QStringLiteral("60000"));
    QCommandLineOption quiet(QStringLiteral("quiet-ms"),
        QStringLiteral("How long to listen before taking silence for \"no answer\" (default 1000)."),
        QStringLiteral("MS"), QStringLiteral("1000"));
    QCommandLineOption identifyOnly(QStringLiteral("identify"),
        QStringLiteral("Only ask the device to identify and print its answer as JSON; change nothing."));
    p.addOptions({ port, json, lock, serial, timeout, keygenTimeout, quiet, identifyOnly });
    p.process(app);

    QTextStream out(stdout);
    QTextStream err(stderr);
    if (!p.isSet(port)) {
        err << "imprint-devcheck: --port is needed (see --help)" << Qt::endl;
        return 2;
    }
    devcheck::Options o;
    o.port = p.value(port);
    o.lock = p.isSet(lock);
    o.serial = p.value(serial);
    o.timeoutMs = std::max(100, p.value(timeout).toInt());
    o.keygenTimeoutMs = std::max(100, p.value(keygenTimeout).toInt());
    o.quietMs = std::max(50, p.value(quiet).toInt());
    devcheck::DeviceCheck check(o);
    QString error;

    if (p.isSet(identifyOnly)) {
        auto body = check.identifyOnly(&error);
        if (!body) {
            err << "imprint-devcheck: " << error << Qt::endl;
            return 2;
        }
        out << QJsonDocument(body->toJsonObject()).toJson(QJsonDocument::Compact) << Qt::endl;
        return 0;
    }
    if (!check.run(&error)) {
        err << "imprint-devcheck: " << error << Qt::endl;
        return 2;
    }
    if (p.isSet(json)) {
        QJsonArray rules;
        for (const auto& r : check.rules()) {
            rules.append(QJsonObject { { QStringLiteral("section"), r.section }, { QStringLiteral("id"), r.id },
                { QStringLiteral("rule"), r.text },
                { QStringLiteral("result"),
                    r.verdict == devcheck::Verdict::Pass          ? QStringLiteral("pass")
                        : r.verdict == devcheck::Verdict::Fail    ? QStringLiteral("fail")
                        : r.verdict == devcheck::Verdict::Skipped ? QStringLiteral("skipped")
                                                                  : QStringLiteral("not-run") },
                { QStringLiteral("detail"), r.detail } });
        }
        out << QJsonDocument(QJsonObject { { QStringLiteral("port"), o.port },
                                 { QStringLiteral("passed"), check.passed() }, { QStringLiteral("rules"), rules } })
                   .toJson(QJsonDocument::Indented);
    } else {
        int counts[4] = {};
        for (const auto& r : check.rules()) {
            ++counts[static_cast<int>(r.verdict)];
            out << QStringLiteral("%1 %2 %3  %4")
                       .arg(devcheck::verdictName(r.verdict), -7)
                       .arg(QStringLiteral("§") + r.section, -5)
                       .arg(r.id, -18)
                       .arg(r.text)
                << Qt::endl;
            if (!r.detail.isEmpty())
                out << QString(34, u' ') << r.detail << Qt::endl;
        }
        out << Qt::endl
            << counts[0] << " passed, " << counts[1] << " failed, " << counts[2] << " not run, " << counts[3]
            << " skipped" << Qt::endl;
    }
    return check.passed() ? 0 : 1;
}
