#pragma once

// What every imprintctl command shares: the table that lists them (Commands.cpp), the
// options they have in common, reading the data directory and its records, and printing
// an error with its detail and the exit status it maps to.

#include "DataDir.h"
#include "Error.h"
#include "engine/CrlPublisher.h"
#include "store/RecordStore.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QStringList>
#include <QTextStream>

#include <functional>
#include <optional>

namespace imprint::app::cli {

/// Who may run a command through the station service (the service checks it, never the
/// client): anyone on the line (a member of the line group), QA or the PKI admin (signed in
/// with their credential), or nobody: a command that works on the data directory itself
/// (set-up, the CA ceremony, restore), run directly as the service user while the service is
/// stopped.
enum class Reach { Line, Qa, Admin, Direct };

/// One command: `imprintctl NAME ...` (a name of two words is a command of a group, such
/// as "ca show"), the function that runs it with its arguments (args[0] is "imprintctl NAME";
/// it returns the exit status), a one-line summary for `imprintctl --help`, and its synopsis.
struct Command {
    QString name;
    int (*run)(const QStringList& args);
    QString summary;
    QString synopsis; ///< after "imprintctl NAME"
    Reach reach = Reach::Direct;
};

/// Every command, in the order `imprintctl --help` lists them.
[[nodiscard]] const QList<Command>& commands();

/// Runs the command `args` name (after the program name); prints the usage when there is none.
/// Through the station service when it runs (throughService), else on the data directory.
int dispatch(QStringList args);
/// The command `args` names (its first one or two words), or nullptr.
[[nodiscard]] const Command* findCommand(const QStringList& args);

/// The exit status of an act the station service did not allow (not on the line, no or a
/// wrong credential, a direct-only command while it runs).
constexpr int notAllowedStatus = 7;
/// Runs `command` (args[0] is "imprintctl NAME") through the station service, with the same
/// output and exit status; nothing when no service listens (Client.cpp).
[[nodiscard]] std::optional<int> throughService(const Command& command, const QStringList& args);
/// Refuses to work on a data directory directly while the station service runs on it.
[[nodiscard]] core::Result<void> checkServiceStopped(const QStringList& args);

QTextStream& out();
QTextStream& err();

/// Prints the error (and its technical detail) for a person; returns the exit status:
/// 2 bad input or a data directory not set up, 3 not found, 1 anything else.
int report(const core::Error& e);
/// Prints a usage problem of one command ("imprintctl NAME: what is missing"); returns 2.
int usageError(const QStringList& args, const QString& what);

/// The options every command that takes them spells the same way.
namespace option {
extern const QCommandLineOption dataDir;
extern const QCommandLineOption json;
extern const QCommandLineOption profile;
/// --operator NAME, recorded with what the command does; $USER by default.
[[nodiscard]] QCommandLineOption operatorName(const QString& description);
} // namespace option

/// A command's parser: its description, --help, --data-dir and, when asked, --json.
class CommandLine : public QCommandLineParser {
public:
    enum Shared { DataDirOnly, DataDirAndJson };
    CommandLine(const QString& description, Shared shared = DataDirOnly);
    /// Parses `args`: --help prints the command's help on standard output and exits 0; an
    /// unknown option or a missing value is said, with the nearest option, and exits 2.
    void parse(const QStringList& args);
    /// As QCommandLineParser's, remembering the names for "did you mean".
    bool addOption(const QCommandLineOption& option);
    bool addOptions(const QList<QCommandLineOption>& options);
    /// The help of command `name` ("imprintctl list"): its usage line with its own options.
    [[nodiscard]] QString help(const QString& name) const;
    [[nodiscard]] bool json() const { return m_json && isSet(option::json); }
    [[nodiscard]] core::DataDir dataDir() const;

private:
    bool m_json = false;
    QCommandLineOption m_help;
    QStringList m_known; ///< every option name, without dashes
};

/// The candidate nearest to `word` (a typo: an edit or two away, or a unique prefix), or
/// empty when none is near or two are as near.
[[nodiscard]] QString nearest(const QString& word, const QStringList& candidates);

/// Checks provision's options as provision does (--help, a mistyped option: exits).
void parseProvisionOptions(const QStringList& args);

/// What a command does with the records.
enum class Access { Read, Write };

/// What every command that works on the records shares: opens the records of the data
/// directory `p` (parsed) names (read-only for Read: nothing is migrated or
/// written) and runs `body` with them and the station's settings. An error on the way is
/// reported; returns the exit status.
int withRecords(const CommandLine& p, Access access,
    const std::function<int(core::RecordStore& records, const core::StationConfig& config)>& body);

/// Reads a whole file given on the command line, with a plain error.
[[nodiscard]] core::Result<QByteArray> readInput(const QString& path, qsizetype limit = 16 * 1024 * 1024);
/// Writes a file atomically, with a plain error.
[[nodiscard]] core::Result<void> writeOutput(const QString& path, const QByteArray& contents);

} // namespace imprint::app::cli

namespace imprint::hsm {
struct CaKey;
}

namespace imprint::app::cli {

// What the key ceremony commands share (Ca.cpp).
/// The station's CA key and its token, unlocked (from the pin-source, or asked at the terminal).
[[nodiscard]] core::Result<hsm::CaKey> openCeremonyKey(const core::DataDir& dir, core::StationConfig* config);
/// The token this process opened with its audit key (openCeremonyKey, or a command that
/// records): one per process, since two libp11 contexts on one module invalidate each
/// other's sessions. Closed when the command ends.
[[nodiscard]] std::optional<hsm::CaKey>& processKey();
/// Records an administrator's act (setting change, export) in the audit log and seals it
/// with a checkpoint signed by the audit key in the token.
[[nodiscard]] core::Result<void> auditAct(const core::DataDir& dir, const core::StationConfig& config, hsm::CaKey& ca,
    core::AuditKind kind, const QString& subject, const QString& detail);
/// Prints a chain a command installed, a certificate a line: subject and SHA-256.
void printChain(const QList<QByteArray>& chain);
/// A DER certificate request as PEM.
[[nodiscard]] QByteArray requestPem(const QByteArray& der);
/// A certificate file (PEM or DER; further PEM certificates in it count as its chain) and a
/// chain file (PEM, optional), as DER.
[[nodiscard]] core::Result<std::pair<QByteArray, QList<QByteArray>>> readCertificateAndChain(
    const QString& certFile, const QString& chainFile);

/// A signed head as `audit head` writes it and `audit verify --since` reads it (Audit.cpp).
[[nodiscard]] QJsonObject headJson(const core::AuditCheckpoint& c, const core::StationConfig& config);

/// Signs the CA's CRL inside the HSM, records it and writes DATA_DIR/ca/crl.pem.
[[nodiscard]] core::Result<core::PublishedCrl> issueCrl(
    const core::DataDir& dir, const hsm::CaKey& ca, int nextUpdateDays);

// The commands, one group a file.
int init(const QStringList& args); // Init.cpp
int provision(const QStringList& args); // Provision.cpp
int show(const QStringList& args); // Records.cpp
int list(const QStringList& args);
int scrap(const QStringList& args);
int jobs(const QStringList& args);
/// The progress of a long command (sign-batch, export, upstream sync): on a terminal one line
/// on stderr, redrawn (count, rate, time left); with `json` (--progress), a JSON line on stderr
/// for programs: done, total, per_second, seconds_left. At most ten a second, and the last.
class Progress {
public:
    Progress(bool json, QString noun);
    void operator()(qint64 done, qint64 total);
    /// Ends the terminal's line (after the last figure).
    void finish();

private:
    bool m_json;
    bool m_terminal;
    QString m_noun;
    QElapsedTimer m_timer;
    qint64 m_lastMs = -1000;
    qint64 m_done = 0;
    qint64 m_total = 0;
    void print(bool last);
};

int outbox(const QStringList& args);
int lotCreate(const QStringList& args); // Lots.cpp
int lotShow(const QStringList& args);
int lotList(const QStringList& args);
int lotClose(const QStringList& args);
int backup(const QStringList& args); // Backup.cpp
int restore(const QStringList& args);
int auditVerify(const QStringList& args); // Audit.cpp
int auditShow(const QStringList& args);
int auditHead(const QStringList& args);
int auditRotateKey(const QStringList& args);
int issue(const QStringList& args); // Batch.cpp
int signBatch(const QStringList& args);
int plantConfigure(const QStringList& args); // Plant.cpp
int plantMigrate(const QStringList& args);
int plantAddStation(const QStringList& args);
int plantPush(const QStringList& args);
int plantStatus(const QStringList& args);
int caShow(const QStringList& args); // Ca.cpp
int caKeygen(const QStringList& args);
int caCsr(const QStringList& args);
int caImport(const QStringList& args);
int caCrl(const QStringList& args);
int raKeygen(const QStringList& args); // Ra.cpp
int raCsr(const QStringList& args);
int raImport(const QStringList& args);
int upstreamConfigure(const QStringList& args); // Upstream.cpp
int upstreamStatus(const QStringList& args);
int upstreamSync(const QStringList& args);
int upstreamRetry(const QStringList& args);
int upstreamEnroll(const QStringList& args);
int exportBatch(const QStringList& args);
int importAnswers(const QStringList& args);

} // namespace imprint::app::cli
