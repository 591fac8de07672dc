#include "cli/Command.h"

#include "StationSetup.h"

#include "Bench.h"
#include "StationContext.h"

#include <QCoreApplication>
#include <QFile>
#include <QJsonDocument>
#include <QSaveFile>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <unistd.h>

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
            u"list devices and failed attempts: [--status S] [--lot LOT] [--since WHEN] [--until WHEN] [--json]; the shift's figures: --counts"_s,
            u"[--status S] [--lot LOT] [--since WHEN] [--until WHEN] [--limit N] [--before SN] [--json] | --counts [--since WHEN] [--until WHEN] [--json]"_s, Reach::Line },
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
        { u"plant configure"_s, plantConfigure,
            u"point the station at the plant record (PostgreSQL): --conninfo STRING [--password-file FILE]"_s,
            u"--conninfo STRING [--password-file FILE] [--line NAME]"_s, Reach::Direct },
        { u"plant migrate"_s, plantMigrate,
            u"create or upgrade the plant record's schema (the plant's administrator): --conninfo STRING"_s,
            u"--conninfo STRING [--password-file FILE]"_s, Reach::Direct },
        { u"plant add-station"_s, plantAddStation,
            u"give a station its own role in the plant record: --station-id ID --password-out FILE"_s,
            u"--conninfo STRING [--password-file FILE] --station-id ID [--line NAME] [--name NAME] --password-out FILE | --qa-role ROLE"_s, Reach::Direct },
        { u"plant push"_s, plantPush,
            u"push the station's changes to the plant record now, in the foreground"_s,
            u"[--progress]"_s, Reach::Admin },
        { u"plant status"_s, plantStatus,
            u"the plant record: this station's backlog and last push, every station's push, backlog and audit head"_s,
            u"[--json]"_s, Reach::Qa },
    };
    // clang-format on
    return table;
}

namespace {

void usage(QTextStream& to)
{
    to << "usage: imprintctl COMMAND [options]\n\ncommands:\n";
    qsizetype width = 0;
    for (const Command& c : commands())
        width = std::max(width, c.name.size());
    for (const Command& c : commands())
        to << "  " << c.name.leftJustified(width + 2) << c.summary << '\n';
    to << "\n\"imprintctl COMMAND --help\" describes a command; \"imprintctl --version\" prints the version.\n";
    to.flush();
}

/// The usage of a group's commands (imprintctl ca, imprintctl lot, ...): asked for with
/// --help on standard output (0), else on standard error (2: a command word is missing).
int groupUsage(const QString& group, bool asked)
{
    QTextStream& to = asked ? out() : err();
    QString prefix = QStringLiteral("usage: ");
    for (const Command& c : commands()) {
        if (c.name.section(u' ', 0, 0) != group)
            continue;
        to << prefix << "imprintctl " << c.name << (c.synopsis.isEmpty() ? QString() : u' ' + c.synopsis) << '\n';
        prefix = QStringLiteral("       ");
    }
    to << "(each takes --data-dir DIR and --help)" << Qt::endl;
    return asked ? 0 : 2;
}

/// Optimal string alignment distance: edits, with a swap of neighbours as one.
int editDistance(const QString& a, const QString& b)
{
    const qsizetype n = a.size();
    const qsizetype m = b.size();
    QList<QList<int>> d(n + 1, QList<int>(m + 1, 0));
    for (qsizetype i = 0; i <= n; ++i)
        d[i][0] = int(i);
    for (qsizetype j = 0; j <= m; ++j)
        d[0][j] = int(j);
    for (qsizetype i = 1; i <= n; ++i) {
        for (qsizetype j = 1; j <= m; ++j) {
            const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({ d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost });
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[n][m];
}

} // namespace

QString nearest(const QString& word, const QStringList& candidates)
{
    if (word.size() < 2)
        return {}; // one letter is no typo to guess from
    // A unique prefix first ("prov" -> provision).
    QStringList prefixed;
    for (const QString& c : candidates) {
        if (c.startsWith(word) && !prefixed.contains(c))
            prefixed << c;
    }
    if (prefixed.size() == 1)
        return prefixed.first();
    const int allowed = std::clamp(int(word.size()) / 3, 1, 3);
    QString best;
    int bestDistance = allowed + 1;
    bool tie = false;
    for (const QString& c : candidates) {
        const int distance = editDistance(word, c);
        if (distance < bestDistance) {
            best = c;
            bestDistance = distance;
            tie = false;
        } else if (distance == bestDistance && c != best) {
            tie = true;
        }
    }
    return tie ? QString() : best;
}

namespace {

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
        // Asked for: on standard output; missing the command: on standard error.
        usage(args.size() < 2 ? err() : out());
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
    QStringList words;
    for (const Command& c : commands()) {
        isGroup |= c.name.startsWith(word + u' ');
        if (!words.contains(c.name.section(u' ', 0, 0)))
            words << c.name.section(u' ', 0, 0);
    }
    if (isGroup) {
        const QString sub = args.value(2);
        if (!sub.isEmpty() && !sub.startsWith(u'-')) {
            // A group's command mistyped: the nearest of that group's commands.
            QStringList subs;
            for (const Command& c : commands()) {
                if (c.name.section(u' ', 0, 0) == word)
                    subs << c.name.section(u' ', 1);
            }
            const QString guess = nearest(sub, subs);
            err() << "imprintctl: \"" << word << ' ' << sub << "\" is not a command"
                  << (guess.isEmpty() ? QString() : QStringLiteral("; did you mean \"%1 %2\"?").arg(word, guess))
                  << Qt::endl;
        }
        return groupUsage(word, args.contains(QStringLiteral("--help")) || args.contains(QStringLiteral("-h")));
    }
    const QString guess = nearest(word, words);
    err() << "imprintctl: unknown command \"" << word << "\""
          << (guess.isEmpty() ? QString() : QStringLiteral("; did you mean \"%1\"?").arg(guess))
          << " (\"imprintctl --help\" lists the commands)" << Qt::endl;
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
    , m_help({ QStringLiteral("h"), QStringLiteral("help") }, QStringLiteral("Show this help."))
{
    setApplicationDescription(description);
    // Not addHelpOption(): it adds Qt's own --help-all, which says nothing of this program.
    addOption(m_help);
    addOption(option::dataDir);
    if (m_json)
        addOption(option::json);
}

bool CommandLine::addOption(const QCommandLineOption& option)
{
    for (const QString& name : option.names())
        m_known << name;
    return QCommandLineParser::addOption(option);
}

bool CommandLine::addOptions(const QList<QCommandLineOption>& options)
{
    bool all = true;
    for (const QCommandLineOption& o : options)
        all = addOption(o) && all;
    return all;
}

QString CommandLine::help(const QString& name) const
{
    const Command* c = findCommand(name.split(u' ').mid(1));
    QString text = helpText();
    // Qt's first line is "Usage: PROGRAM [options]": the command's own, with its options.
    text = text.mid(text.indexOf(u'\n') + 1);
    return QStringLiteral("Usage: %1%2 [--data-dir DIR] [--help]\n")
               .arg(name, c && !c->synopsis.isEmpty() ? u' ' + c->synopsis : QString())
        + text;
}

void CommandLine::parse(const QStringList& args)
{
    const QString name = args.value(0);
    if (!QCommandLineParser::parse(args)) {
        // One line that says what was wrong, the nearest option if one is, and where the rest is.
        QString said = errorText();
        const QStringList unknown = unknownOptionNames();
        if (!unknown.isEmpty()) {
            const QString word = unknown.first();
            const QString guess = nearest(word, m_known);
            const QString dashes = word.size() == 1 ? QStringLiteral("-") : QStringLiteral("--");
            said = QStringLiteral("unknown option %1%2").arg(dashes, word)
                + (guess.isEmpty() ? QString()
                                   : QStringLiteral("; did you mean %1%2?")
                                         .arg(guess.size() == 1 ? QStringLiteral("-") : QStringLiteral("--"), guess));
        }
        err() << name << ": " << said << " (\"" << name << " --help\" lists its options)" << Qt::endl;
        out().flush();
        std::exit(2);
    }
    if (isSet(m_help)) {
        out() << help(name);
        out().flush();
        std::exit(0);
    }
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

namespace {

QString clockText(double seconds)
{
    const auto s = static_cast<qint64>(seconds + 0.5);
    return s >= 3600
        ? QStringLiteral("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QChar(u'0')).arg(s % 60, 2, 10, QChar(u'0'))
        : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QChar(u'0'));
}

} // namespace

Progress::Progress(bool json, QString noun)
    : m_json(json)
    , m_terminal(::isatty(STDERR_FILENO) == 1)
    , m_noun(std::move(noun))
{
    m_timer.start();
}

void Progress::operator()(qint64 done, qint64 total)
{
    m_done = done;
    m_total = total;
    if (m_timer.elapsed() - m_lastMs >= 100)
        print(false);
}

void Progress::finish()
{
    if (m_done > 0 || m_total > 0)
        print(true);
    if (m_terminal && !m_json && m_lastMs >= 0)
        err() << Qt::endl;
}

void Progress::print(bool last)
{
    if (!m_json && !m_terminal)
        return;
    m_lastMs = m_timer.elapsed();
    const double seconds = static_cast<double>(m_timer.nsecsElapsed()) / 1e9;
    const double rate = seconds > 0 ? static_cast<double>(m_done) / seconds : 0;
    const double left
        = m_total > 0 && rate > 0 ? static_cast<double>(std::max<qint64>(0, m_total - m_done)) / rate : -1;
    if (m_json) {
        err() << QJsonDocument(QJsonObject { { QStringLiteral("done"), static_cast<double>(m_done) },
                                   { QStringLiteral("total"), static_cast<double>(m_total) },
                                   { QStringLiteral("per_second"), std::round(rate) },
                                   { QStringLiteral("seconds_left"), last ? 0.0 : std::round(left) } })
                     .toJson(QJsonDocument::Compact)
              << Qt::endl;
        return;
    }
    err() << "\r  " << m_done << (m_total > 0 ? QStringLiteral(" of %1").arg(m_total) : QString()) << ' ' << m_noun
          << "  " << qRound(rate) << "/s"
          << (left >= 0 && !last ? QStringLiteral("  %1 left   ").arg(clockText(left)) : QStringLiteral("          "))
          << Qt::flush;
}

} // namespace imprint::app::cli
