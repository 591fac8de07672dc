// imprintctl as a client of the station service: when the service runs, a command goes to
// it, which decides by who is calling (the kernel says) and the credential given whether it
// runs; its output and exit status are the command's own.

#include "ServiceClient.h"
#include "SlotReport.h"
#include "TerminalPinPrompt.h"
#include "cli/Command.h"
#include "device/SerialTransport.h"
#include "engine/SlotJob.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSet>

#include <cstdio>
#include <unistd.h>

namespace imprint::app::cli {

namespace {

/// The value of `--name VALUE` or `--name=VALUE` in `args`, or empty.
QStringList optionValues(const QStringList& args, const QString& name)
{
    QStringList values;
    const QString flag = QStringLiteral("--") + name;
    for (qsizetype i = 1; i < args.size(); ++i) {
        if (args[i] == flag && i + 1 < args.size())
            values << args[++i];
        else if (args[i].startsWith(flag + u'='))
            values << args[i].mid(flag.size() + 1);
    }
    return values;
}

bool hasFlag(const QStringList& args, const QString& name)
{
    return args.contains(QStringLiteral("--") + name);
}

int refused(const core::Error& e)
{
    err() << "imprintctl: " << e.message << Qt::endl;
    return notAllowedStatus;
}

/// The credential the service asked for: typed at the terminal, or the first line of
/// standard input when there is no terminal (a script: never on the command line).
core::Result<core::Secret> askCredential(const QString& role)
{
    const bool admin = role == QLatin1String("admin");
    if (isatty(STDIN_FILENO))
        return askOnTerminal(
            admin ? QByteArrayLiteral("Token PIN (PKI admin): ") : QByteArrayLiteral("QA passphrase: "),
            QStringLiteral("No terminal to ask for the credential on."), QStringLiteral("Nothing was typed."));
    QByteArray line;
    char ch;
    while (line.size() < 4096 && ::read(STDIN_FILENO, &ch, 1) == 1 && ch != '\n')
        line.append(ch);
    core::Secret secret(line.trimmed());
    std::fill(line.begin(), line.end(), '\0');
    if (secret.size() == 0)
        return core::fail(core::ErrorCode::PinRejected,
            admin ? QStringLiteral("Only the PKI admin may do that: type the token's PIN at a terminal, or give it "
                                   "on standard input.")
                  : QStringLiteral("Only QA may do that: type the QA passphrase at a terminal, or give it on "
                                   "standard input."));
    return secret;
}

/// Signs in as the role the service asked for; an error says why not, in plain words.
core::Result<void> signIn(ServiceClient& client, const QString& role, const QStringList& args)
{
    auto secret = askCredential(role);
    if (!secret)
        return std::unexpected(secret.error());
    QJsonObject params { { QStringLiteral("role"), role },
        { QStringLiteral("secret"), QString::fromUtf8(QByteArray(secret->data(), secret->size())) } };
    const QStringList person = optionValues(args, QStringLiteral("operator"));
    if (!person.isEmpty())
        params[QStringLiteral("person")] = person.last();
    auto answer = client.call(QStringLiteral("sign-in"), params);
    if (!answer)
        return std::unexpected(answer.error());
    return {};
}

/// provision through the service: the service's slots run the devices; this prints each
/// one's outcome as provision does.
int provisionThroughService(ServiceClient& client, const QStringList& args)
{
    parseProvisionOptions(args); // a mistyped option is said here too (exit 2)
    for (const char* own : { "lot", "profile", "usb", "count" }) {
        if (!optionValues(args, QLatin1String(own)).isEmpty())
            return usageError(args,
                QStringLiteral("--%1 is the station service's own setting here (its line runs one lot and profile, and "
                               "watches USB itself); give only --port")
                    .arg(QLatin1String(own)));
    }
    const QStringList ports = optionValues(args, QStringLiteral("port"));
    if (ports.isEmpty())
        return usageError(args, QStringLiteral("give at least one --port PATH"));
    const bool json = hasFlag(args, QStringLiteral("json"));
    const bool scan = hasFlag(args, QStringLiteral("scan"));
    const bool progress = hasFlag(args, QStringLiteral("progress"));
    const QStringList person = optionValues(args, QStringLiteral("operator"));
    if (auto r = client.call(QStringLiteral("subscribe")); !r)
        return ServiceClient::codeOf(r.error()) == QLatin1String("forbidden") ? refused(r.error()) : report(r.error());
    QSet<int> mine;
    QSet<int> done;
    for (const QString& port : ports) {
        // The service does not share this shell's working directory.
        QString spec = port;
        if (!port.startsWith(QLatin1String("usb:")))
            spec = core::absolutePortPath(port.section(u'@', 0, 0))
                + (port.contains(u'@') ? u'@' + port.section(u'@', 1) : QString());
        QJsonObject params { { QStringLiteral("port"), spec } };
        if (!person.isEmpty())
            params[QStringLiteral("operator")] = person.last();
        auto added = client.call(QStringLiteral("slot.add"), params);
        if (!added)
            return report(added.error());
        mine << added->value(QStringLiteral("slot")).toObject().value(QStringLiteral("slot")).toInt();
    }
    ProvisionTally tally;
    while (done.size() < mine.size()) {
        auto event = client.nextEvent(-1);
        if (!event) {
            err() << "imprintctl: the station service went away; its slots go on when it is back (imprintctl jobs)."
                  << Qt::endl;
            return 1;
        }
        if (event->value(QStringLiteral("event")).toString() != QLatin1String("slot"))
            continue;
        const QJsonObject slot = event->value(QStringLiteral("slot")).toObject();
        const int number = slot.value(QStringLiteral("slot")).toInt();
        if (!mine.contains(number) || done.contains(number))
            continue;
        const QString step = slot.value(QStringLiteral("step")).toString();
        if (!slot.value(QStringLiteral("finished")).toBool()) {
            if (progress)
                err() << QJsonDocument(QJsonObject { { QStringLiteral("slot"), number },
                                           { QStringLiteral("port"), slot.value(QStringLiteral("port")) },
                                           { QStringLiteral("serial"), slot.value(QStringLiteral("serial")) },
                                           { QStringLiteral("step"), step },
                                           { QStringLiteral("elapsed_ms"), slot.value(QStringLiteral("elapsed_ms")) } })
                             .toJson(QJsonDocument::Compact)
                      << Qt::endl;
            if (step == core::SlotJob::stepName(core::SlotJob::Step::AwaitingSerial)) {
                QByteArray label;
                if (scan) {
                    char ch;
                    while (::read(STDIN_FILENO, &ch, 1) == 1 && ch != '\n')
                        label.append(ch);
                }
                auto r = label.trimmed().isEmpty()
                    ? client.call(QStringLiteral("slot.abort"),
                        { { QStringLiteral("slot"), number },
                            { QStringLiteral("why"),
                                QStringLiteral("No serial label was scanned for it (the input ended).") } })
                    : client.call(QStringLiteral("slot.scan"),
                        { { QStringLiteral("slot"), number },
                            { QStringLiteral("serial"), QString::fromUtf8(label.trimmed()) } });
                if (!r)
                    err() << "imprintctl: " << r.error().message << Qt::endl;
            }
            continue;
        }
        done << number;
        const QJsonObject result = slot.value(QStringLiteral("result")).toObject();
        tally.add(result.value(QStringLiteral("status")).toString(), result.value(QStringLiteral("code")).toString());
        if (json)
            out() << QJsonDocument(result).toJson(QJsonDocument::Compact) << Qt::endl;
        else
            out() << slot.value(QStringLiteral("result_line")).toString() << Qt::endl;
    }
    (json ? err() : out()) << tally.line() << Qt::endl;
    return tally.failed == 0 ? 0 : 1;
}

} // namespace

std::optional<int> throughService(const Command& command, const QStringList& args)
{
    auto connection = ServiceClient::connectIfRunning(serviceSocketPath());
    if (!connection)
        return std::nullopt;
    if (!*connection)
        return report(connection->error());
    ServiceClient& client = ***connection;
    if (command.name == QLatin1String("provision"))
        return provisionThroughService(client, args);
    if (command.reach == Reach::Direct) {
        err() << "imprintctl: " << command.name
              << " works on the data directory itself, so not while the station service runs: stop it (systemctl stop "
                 "imprint-station) and run it as the service's user."
              << Qt::endl;
        return notAllowedStatus;
    }
    QJsonArray words;
    for (const QString& w : command.name.split(u' '))
        words.append(w);
    for (const QString& a : args.mid(1))
        words.append(a);
    const QJsonObject params { { QStringLiteral("args"), words }, { QStringLiteral("cwd"), QDir::currentPath() } };
    auto answer = client.call(QStringLiteral("run"), params);
    if (!answer && ServiceClient::codeOf(answer.error()) == QLatin1String("credential-required")) {
        if (auto r = signIn(client, answer.error().detail, args); !r)
            return refused(r.error());
        answer = client.call(QStringLiteral("run"), params);
    }
    if (!answer) {
        const QString code = ServiceClient::codeOf(answer.error());
        if (code == QLatin1String("forbidden") || code == QLatin1String("credential-required"))
            return refused(answer.error());
        return report(answer.error());
    }
    const QByteArray o = answer->value(QStringLiteral("stdout")).toString().toUtf8();
    const QByteArray e = answer->value(QStringLiteral("stderr")).toString().toUtf8();
    out().flush();
    err().flush();
    fwrite(o.constData(), 1, static_cast<size_t>(o.size()), stdout);
    fwrite(e.constData(), 1, static_cast<size_t>(e.size()), stderr);
    fflush(stdout);
    fflush(stderr);
    return answer->value(QStringLiteral("exit")).toInt();
}

core::Result<void> checkServiceStopped(const QStringList& args)
{
    const QStringList given = optionValues(args, QStringLiteral("data-dir"));
    const core::DataDir dir(core::DataDir::resolve(given.isEmpty() ? QString() : given.last()));
    if (auto held = dir.holdDirectly(); !held)
        return core::fail(core::ErrorCode::BadInput,
            held.error().message
                + QStringLiteral(" (Set IMPRINT_SOCKET to the service's socket if it is not %1.)")
                      .arg(serviceSocketPath()));
    return {};
}

} // namespace imprint::app::cli
