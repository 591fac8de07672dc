#include "cli/Command.h"

#include "StationSetup.h"

#include "Bench.h"
#include "StationContext.h"

#include <QCoreApplication>
#include <QFile>
#include <QSaveFile>

using namespace Qt::StringLiterals;

namespace imprint::app::cli {

const QList<Command>& commands()
{
    // The one list of commands: --help, the groups' usage and the dispatch are made from it.
    // One layout for every entry (name and function; summary; synopsis).
    // clang-format off
    static const QList<Command> table {
        { u"init"_s, init,
            u"set up a data directory (token, CA key, demo root and CA certificate)"_s,
            u"[--module PATH] [--station-name NAME]"_s, Reach::Direct },
        { u"provision"_s, provision,
            u"provision the devices on --port PATH [--port PATH ...] [--lot LOT] [--json]"_s,
            u"--port PATH ... | --usb VVVV:PPPP [--count N] [--lot LOT] [--scan] [--json] [--progress]"_s, Reach::Line },
        { u"show"_s, show,
            u"show a device's record: --device-serial SN [--json]"_s,
            u"--device-serial SN [--json]"_s, Reach::Line },
        { u"list"_s, list,
            u"list devices: [--status S] [--lot LOT] [--since WHEN] [--until WHEN] [--limit N] [--json]; --counts"_s,
            u"[--status S] [--lot LOT] [--since WHEN] [--until WHEN] [--limit N] [--before SN] [--json] | --counts"_s, Reach::Line },
        { u"scrap"_s, scrap,
            u"take a device out of production: --device-serial SN --reason TEXT"_s,
            u"--device-serial SN --reason TEXT [--operator NAME]"_s, Reach::Qa },
        { u"jobs"_s, jobs,
            u"list jobs that never finished (the station stopped under them) [--json]"_s,
            u"[--json]"_s, Reach::Line },
        { u"lot create"_s, lotCreate,
            u"create a lot (work order): --id LOT --expected N [--profile P]"_s,
            u"--id LOT --expected N [--profile NAME] [--note TEXT]"_s, Reach::Admin },
        { u"lot show"_s, lotShow,
            u"a lot's progress: --id LOT [--json]"_s,
            u"--id LOT [--json]"_s, Reach::Line },
        { u"lot close"_s, lotClose,
            u"close a lot: the station takes no more devices for it: --id LOT"_s,
            u"--id LOT [--operator NAME]"_s, Reach::Admin },
        { u"lot list"_s, lotList,
            u"list the lots [--json]"_s,
            u"[--json]"_s, Reach::Line },
        { u"outbox"_s, outbox,
            u"list records on their way to the upstream CA, with their state [--state S] [--json]"_s,
            u"[--state S] [--limit N] [--json]"_s, Reach::Line },
        { u"backup"_s, backup,
            u"back the data directory up to one archive, while the station runs: --out FILE"_s,
            u"--out FILE"_s, Reach::Admin },
        { u"restore"_s, restore,
            u"restore a backup into a new or empty data directory: --in FILE [--force]"_s,
            u"--in FILE [--force]"_s, Reach::Direct },
        { u"audit verify"_s, auditVerify,
            u"check the audit log's hash chain, its signed checkpoints and the certificates it covers "
            u"[--since HEAD_FILE] [--json]"_s,
            u"[--since HEAD_FILE] [--json]"_s, Reach::Qa },
        { u"audit head"_s, auditHead,
            u"seal the audit log now and print its signed head, to keep elsewhere: [--out FILE]"_s,
            u"[--out FILE]"_s, Reach::Qa },
        { u"audit rotate-key"_s, auditRotateKey,
            u"hand the audit log to a new audit key made in the token; the old key's checkpoints still verify"_s,
            u"[--label LABEL]"_s, Reach::Direct },
        { u"audit show"_s, auditShow,
            u"list audit log entries: [--after SEQ] [--limit N] [--json]"_s,
            u"[--after SEQ] [--limit N] [--json]"_s, Reach::Qa },
        { u"issue"_s, issue,
            u"issue a certificate from a request file: --csr FILE --device-serial SN [--out FILE]"_s,
            u"--csr FILE --device-serial SN [--out FILE]"_s, Reach::Admin },
        { u"sign-batch"_s, signBatch,
            u"issue for a folder of requests: --in DIR --out FILE.p7b [--report FILE.json]"_s,
            u"--in DIR --out FILE.p7b [--report FILE.json] [--threads N]"_s, Reach::Admin },
        { u"bench issue"_s, benchIssue,
            u"measure issuance against the raw HSM sign rate: [--count N]"_s,
            u"[--count N]"_s, Reach::Direct },
        { u"ca show"_s, caShow,
            u"show the issuing CA key (attributes read from the token), certificate and chain"_s,
            u"[--json]"_s, Reach::Line },
        { u"ca keygen"_s, caKeygen,
            u"generate a new issuing CA key inside the token: --label LABEL [--type ec-p256|ec-p384|rsa-3072]"_s,
            u"--label LABEL [--type ec-p256|ec-p384|rsa-3072]"_s, Reach::Direct },
        { u"ca csr"_s, caCsr,
            u"write a request for the CA key to the upstream root: --subject NAME --out FILE"_s,
            u"--subject \"/O=.../CN=...\" --out FILE"_s, Reach::Direct },
        { u"ca import"_s, caImport,
            u"install the CA certificate and chain: --cert FILE [--chain FILE]"_s,
            u"--cert FILE [--chain FILE]"_s, Reach::Direct },
        { u"ca crl"_s, caCrl,
            u"sign the local CA's CRL inside the HSM: [--out FILE] [--next-update-days N]"_s,
            u"[--out FILE] [--next-update-days N]"_s, Reach::Admin },
        { u"ra keygen"_s, raKeygen,
            u"generate the RA key (signs every message upstream) inside the token [--label LABEL]"_s,
            u"[--label LABEL] [--type ec-p256|ec-p384]"_s, Reach::Direct },
        { u"ra csr"_s, raCsr,
            u"write a request for the RA key to the upstream CA: --subject NAME --out FILE"_s,
            u"--subject \"/O=.../CN=...\" --out FILE"_s, Reach::Direct },
        { u"ra import"_s, raImport,
            u"install the RA certificate and its issuers: --cert FILE [--chain FILE]"_s,
            u"--cert FILE [--chain FILE]"_s, Reach::Direct },
        { u"upstream configure"_s, upstreamConfigure,
            u"point the station at the upstream CA: --url URL --trusted FILE [--recipient NAME]"_s,
            u"--url URL --trusted FILE [--recipient NAME]"_s, Reach::Admin },
        { u"upstream enroll"_s, upstreamEnroll,
            u"enroll the RA key online with a one-time secret (CMP ir): --subject NAME --reference REF"_s,
            u"--subject NAME --reference REF [--secret-file FILE]"_s, Reach::Direct },
        { u"upstream status"_s, upstreamStatus,
            u"the way upstream: reachable, last contact, rows by state, oldest unsynced, last error [--json]"_s,
            u"[--json]"_s, Reach::Line },
        { u"upstream sync"_s, upstreamSync,
            u"send the outbox to the upstream CA over CMP, in the foreground [--once]"_s,
            u"[--once]"_s, Reach::Admin },
        { u"export"_s, exportBatch,
            u"write the records not yet upstream as a signed batch, for a plant with no link: --out DIR"_s,
            u"--out DIR [--again BATCH]"_s, Reach::Admin },
        { u"import"_s, importAnswers,
            u"record the upstream's certificates for an exported batch: --in DIR|FILE"_s,
            u"--in DIR|FILE"_s, Reach::Admin },
        { u"upstream retry"_s, upstreamRetry,
            u"send rejected rows again: --row N | --rejected"_s,
            u"--row N | --rejected"_s, Reach::Admin },
    };
    // clang-format on
    return table;
}

namespace {

void usage()
{
    err() << "usage: imprintctl COMMAND [options]\n\ncommands:\n";
    qsizetype width = 0;
    for (const Command& c : commands())
        width = std::max(width, c.name.size());
    for (const Command& c : commands())
        err() << "  " << c.name.leftJustified(width + 2) << c.summary << '\n';
    err() << "\n\"imprintctl COMMAND --help\" describes a command; \"imprintctl --version\" prints the version.\n";
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

const Command* findCommand(const QStringList& args)
{
    const QString twoWords = args.size() >= 2 ? args[0] + u' ' + args[1] : QString();
    for (const Command& c : commands()) {
        if (c.name == args.value(0) || (!twoWords.isEmpty() && c.name == twoWords))
            return &c;
    }
    return nullptr;
}

int dispatch(QStringList args)
{
    if (args.size() < 2 || args[1] == QLatin1String("--help") || args[1] == QLatin1String("-h")) {
        usage();
        return args.size() < 2 ? 2 : 0;
    }
    if (args[1] == QLatin1String("--version") || args[1] == QLatin1String("-v")) {
        out() << "imprintctl " << QCoreApplication::applicationVersion() << '\n';
        return 0;
    }
    const QString word = args[1];
    if (const Command* c = findCommand(args.mid(1))) {
        args.remove(1, c->name.count(u' ') + 1);
        args[0] = QStringLiteral("imprintctl ") + c->name;
        // A command's --help is answered here; everything else goes to the station service
        // when it runs (a command it runs for a caller is marked so, and works directly).
        const bool help = args.contains(QStringLiteral("--help")) || args.contains(QStringLiteral("-h"));
        if (!help && !qEnvironmentVariableIsSet("IMPRINT_SERVICE_CHILD")) {
            if (auto status = throughService(*c, args))
                return *status;
            if (auto stopped = checkServiceStopped(args); !stopped) {
                err() << "imprintctl: " << stopped.error().message << Qt::endl;
                return notAllowedStatus;
            }
        }
        const int status = c->run(args);
        // The token goes before the program's statics do (its module is finalised here).
        core::AuditLog::sealWith(nullptr, 100);
        processKey().reset();
        return status;
    }
    bool isGroup = false;
    for (const Command& c : commands())
        isGroup |= c.name.startsWith(word + u' ');
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

int withRecords(const CommandLine& p, Access access,
    const std::function<int(core::RecordStore& records, const core::StationConfig& config)>& body)
{
    const core::DataDir dir = p.dataDir();
    auto config = dir.loadConfig();
    if (!config)
        return report(config.error());
    if (access == Access::Write && !processKey()) {
        // What a command records is sealed with the audit key when the token opens without
        // asking anyone (a pin-source); otherwise the entries wait for the station's next
        // checkpoint, and audit verify says so.
        if (auto ca = hsm::openCaKey(*config, nullptr)) {
            core::StationConfig pinned = *config;
            if (hsm::openAuditKey(*ca, dir, pinned))
                processKey() = *ca;
        }
    }
    auto records = app::openStationStore(dir, *config, access == Access::Read);
    if (!records)
        return report(records.error());
    return body(*records, *config);
}

std::optional<hsm::CaKey>& processKey()
{
    static std::optional<hsm::CaKey> key;
    return key;
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
