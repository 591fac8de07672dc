#include "cli/Command.h"

#include "Bench.h"

#include <QFile>
#include <QSaveFile>

namespace imprint::app::cli {

const QList<Command>& commands()
{
    // The one list of commands: --help, the groups' usage and the dispatch are made from it.
    static const QList<Command> table {
        { QStringLiteral("init"), QStringLiteral("set up a data directory (token, CA key, demo root and CA certificate)"),
            QStringLiteral("[--module PATH] [--station-name NAME]"), init },
        { QStringLiteral("provision"),
            QStringLiteral("provision the devices on --port PATH [--port PATH ...] [--lot LOT] [--json]"),
            QStringLiteral("--port PATH [--port PATH ...] | --usb VVVV:PPPP [--count N] [--lot LOT] [--scan] [--json] "
                           "[--progress]"),
            provision },
        { QStringLiteral("show"), QStringLiteral("show a device's record: --device-serial SN [--json]"),
            QStringLiteral("--device-serial SN [--json]"), show },
        { QStringLiteral("list"),
            QStringLiteral(
                "list devices: [--status S] [--lot LOT] [--since WHEN] [--until WHEN] [--limit N] [--json]; --counts"),
            QStringLiteral("[--status S] [--lot LOT] [--since WHEN] [--until WHEN] [--limit N] [--before SN] [--json] "
                           "| --counts"),
            list },
        { QStringLiteral("scrap"), QStringLiteral("take a device out of production: --device-serial SN --reason TEXT"),
            QStringLiteral("--device-serial SN --reason TEXT [--operator NAME]"), scrap },
        { QStringLiteral("jobs"), QStringLiteral("list jobs that never finished (the station stopped under them) [--json]"),
            QStringLiteral("[--json]"), jobs },
        { QStringLiteral("lot create"), QStringLiteral("create a lot (work order): --id LOT --expected N [--profile P]"),
            QStringLiteral("--id LOT --expected N [--profile NAME] [--note TEXT]"), lotCreate },
        { QStringLiteral("lot show"), QStringLiteral("a lot's progress: --id LOT [--json]"),
            QStringLiteral("--id LOT [--json]"), lotShow },
        { QStringLiteral("lot list"), QStringLiteral("list the lots [--json]"), QStringLiteral("[--json]"), lotList },
        { QStringLiteral("outbox"), QStringLiteral("list records waiting for the upstream CA [--json]"),
            QStringLiteral("[--limit N] [--json]"), outbox },
        { QStringLiteral("audit verify"), QStringLiteral("check the audit log's hash chain and the certificates [--json]"),
            QStringLiteral("[--json]"), auditVerify },
        { QStringLiteral("audit show"), QStringLiteral("list audit entries: [--after SEQ] [--limit N] [--json]"),
            QStringLiteral("[--after SEQ] [--limit N] [--json]"), auditShow },
        { QStringLiteral("issue"),
            QStringLiteral("issue a certificate from a request file: --csr FILE --device-serial SN [--out FILE]"),
            QStringLiteral("--csr FILE --device-serial SN [--out FILE]"), issue },
        { QStringLiteral("sign-batch"),
            QStringLiteral("issue for a folder of requests: --in DIR --out FILE.p7b [--report FILE.json]"),
            QStringLiteral("--in DIR --out FILE.p7b [--report FILE.json] [--threads N]"), signBatch },
        { QStringLiteral("bench issue"), QStringLiteral("measure issuance against the raw HSM sign rate: [--count N]"),
            QStringLiteral("[--count N]"), benchIssue },
        { QStringLiteral("ca show"),
            QStringLiteral("show the issuing CA key (attributes read from the token), certificate and chain"),
            QStringLiteral("[--json]"), caShow },
        { QStringLiteral("ca keygen"),
            QStringLiteral("generate a new issuing CA key inside the token: --label LABEL [--type "
                           "ec-p256|ec-p384|rsa-3072]"),
            QStringLiteral("--label LABEL [--type ec-p256|ec-p384|rsa-3072]"), caKeygen },
        { QStringLiteral("ca csr"),
            QStringLiteral("write a request for the CA key to the upstream root: --subject NAME --out FILE"),
            QStringLiteral("--subject \"/O=.../CN=...\" --out FILE"), caCsr },
        { QStringLiteral("ca import"), QStringLiteral("install the CA certificate and chain: --cert FILE [--chain FILE]"),
            QStringLiteral("--cert FILE [--chain FILE]"), caImport },
    };
    return table;
}

namespace {

void usage()
{
    err() << "usage: imprintctl COMMAND [options]\n\ncommands:\n";
    for (const Command& c : commands())
        err() << "  " << c.name.leftJustified(12) << c.summary << '\n';
    err() << "\n\"imprintctl COMMAND --help\" describes a command.\n";
}

/// The usage of a group's commands (imprintctl ca, imprintctl lot, ...).
int groupUsage(const QString& group)
{
    QString prefix = QStringLiteral("usage: ");
    for (const Command& c : commands()) {
        if (c.name.section(u' ', 0, 0) != group)
            continue;
        err() << prefix << "imprintctl " << c.name << (c.synopsis.isEmpty() ? QString() : u' ' + c.synopsis) << '\n';
        prefix = QStringLiteral("       ");
    }
    err() << "(each takes --data-dir DIR and --help)" << Qt::endl;
    return 2;
}

} // namespace

int dispatch(QStringList args)
{
    if (args.size() < 2 || args[1] == QLatin1String("--help") || args[1] == QLatin1String("-h")) {
        usage();
        return args.size() < 2 ? 2 : 0;
    }
    const QString word = args[1];
    const QString twoWords = args.size() >= 3 ? word + u' ' + args[2] : QString();
    bool isGroup = false;
    for (const Command& c : commands()) {
        const bool exact = c.name == word;
        if (exact || (!twoWords.isEmpty() && c.name == twoWords)) {
            args.remove(1, exact ? 1 : 2);
            args[0] = QStringLiteral("imprintctl ") + c.name;
            return c.run(args);
        }
        isGroup |= c.name.startsWith(word + u' ');
    }
    if (isGroup)
        return groupUsage(word);
    err() << "imprintctl: unknown command \"" << word << "\"\n";
    usage();
    return 2;
}

QTextStream& out()
{
    static QTextStream s(stdout);
    return s;
}

QTextStream& err()
{
    static QTextStream s(stderr);
    return s;
}

int report(const core::Error& e)
{
    err() << "imprintctl: " << e.message << Qt::endl;
    if (!e.detail.isEmpty())
        err() << "  detail: " << e.detail << Qt::endl;
    switch (e.code) {
    case core::ErrorCode::BadInput:
    case core::ErrorCode::NotInitialized: return 2;
    case core::ErrorCode::NotFound: return 3;
    default: return 1;
    }
}

int usageError(const QStringList& args, const QString& what)
{
    err() << args.value(0) << ": " << what << Qt::endl;
    return 2;
}

namespace option {

const QCommandLineOption dataDir(QStringLiteral("data-dir"),
    QStringLiteral("Station data directory (default: $IMPRINT_DATA_DIR, else "
                   "$XDG_DATA_HOME/imprint)."),
    QStringLiteral("DIR"));
const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print JSON for programs."));
const QCommandLineOption profile(QStringLiteral("profile"),
    QStringLiteral("Certificate profile: idevid (built in), NAME for DATA_DIR/profiles/NAME.json, or a file."),
    QStringLiteral("NAME"), QStringLiteral("idevid"));

QCommandLineOption operatorName(const QString& description)
{
    return QCommandLineOption(QStringLiteral("operator"), description, QStringLiteral("NAME"),
        qEnvironmentVariable("USER", QStringLiteral("cli")));
}

} // namespace option

CommandLine::CommandLine(const QString& description, Shared shared)
    : m_json(shared == DataDirAndJson)
{
    setApplicationDescription(description);
    addHelpOption();
    addOption(option::dataDir);
    if (m_json)
        addOption(option::json);
}

core::DataDir CommandLine::dataDir() const
{
    return core::DataDir(core::DataDir::resolve(value(option::dataDir)));
}

core::Result<core::RecordStore> openRecords(const CommandLine& p, bool readOnly, core::StationConfig* config)
{
    const core::DataDir dir = p.dataDir();
    auto loaded = dir.loadConfig();
    if (!loaded)
        return std::unexpected(loaded.error());
    if (config)
        *config = *loaded;
    return core::RecordStore::open(dir.database(), readOnly);
}

core::Result<QByteArray> readInput(const QString& path, qsizetype limit)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return core::fail(core::ErrorCode::BadInput, QStringLiteral("Cannot read %1.").arg(path), f.errorString());
    if (f.size() > limit)
        return core::fail(core::ErrorCode::BadInput, QStringLiteral("%1 is too large.").arg(path));
    return f.readAll();
}

core::Result<void> writeOutput(const QString& path, const QByteArray& contents)
{
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(contents) != contents.size() || !f.commit())
        return core::fail(core::ErrorCode::Io, QStringLiteral("Cannot write %1.").arg(path), f.errorString());
    return {};
}

} // namespace imprint::app::cli
