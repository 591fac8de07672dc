#pragma once

// The plant database through libpq: a connection made without blocking past its timeout,
// statements with their values sent apart from the text, in binary (PostgreSQL's own send
// formats of int8, text, bytea and timestamptz), and results read by column.

#include "Error.h"
#include "Secret.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QString>
#include <QStringList>

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

struct pg_conn;
struct pg_result;

namespace imprint::core::pg {

/// Values for one statement's $1, $2, ... in binary.
class Params {
public:
    Params& text(const QString& v);
    Params& bytes(const QByteArray& v); ///< bytea
    Params& int8(qint64 v);
    Params& time(const QDateTime& v); ///< timestamptz; an invalid time is NULL
    Params& jsonb(const QByteArray& json);
    Params& null(unsigned typeOid);
    [[nodiscard]] int count() const { return static_cast<int>(m_types.size()); }

private:
    friend class Connection;
    void add(unsigned type, QByteArray value, bool isNull = false);
    /// The values as libpq takes them: pointers (null for NULL), lengths, all binary.
    struct Wire {
        std::vector<const char*> values;
        std::vector<int> lengths;
        std::vector<int> formats;
    };
    [[nodiscard]] Wire wire() const;
    std::vector<unsigned> m_types;
    std::vector<QByteArray> m_values;
    std::vector<bool> m_null;
};

/// A statement's result: rows of text columns (asked for in text, they read as they print).
class Result {
public:
    [[nodiscard]] int rows() const;
    [[nodiscard]] bool isNull(int row, int column) const;
    [[nodiscard]] QString text(int row, int column) const;
    [[nodiscard]] qint64 int8(int row, int column) const;
    [[nodiscard]] QByteArray bytes(int row, int column) const; ///< a bytea column, decoded
    [[nodiscard]] QDateTime time(int row, int column) const;
    [[nodiscard]] bool boolean(int row, int column) const;
    /// The command's tag ("INSERT 0 5", "COMMIT"; "ROLLBACK" for a COMMIT that rolled back).
    [[nodiscard]] QString command() const;

private:
    friend class Connection;
    std::shared_ptr<pg_result> m_result;
};

/// Where and how: a libpq connection string without a password (host, port, dbname,
/// user, sslmode, sslrootcert, ...), and the password (from a 0600 file), never in argv.
struct Target {
    QString conninfo;
    Secret password;
    int connectTimeoutS = 5;
    /// How long any answer may take before the server is called gone (a network cut without
    /// a word: a firewall dropping packets).
    int answerTimeoutS = 60;
    /// What the server's session list calls the connection (pg_stat_activity).
    QString applicationName = QStringLiteral("imprint");
};

class Connection {
public:
    Connection();
    ~Connection();
    Connection(Connection&&) noexcept;
    Connection& operator=(Connection&&) noexcept;

    /// Connects within the target's timeout (never longer), or says in plain words why not.
    [[nodiscard]] static core::Result<Connection> open(const Target& target);

    /// Runs one statement; `what` says what it was for, in the error.
    [[nodiscard]] core::Result<Result> exec(const QString& sql, const Params& params, const QString& what);
    [[nodiscard]] core::Result<Result> exec(const QString& sql, const QString& what);
    /// Runs a statement prepared once on this connection under `name` (parsed and planned
    /// once: a statement of thousands of values is not parsed again for every batch).
    [[nodiscard]] core::Result<Result> execPrepared(
        const QString& name, const QString& sql, const Params& params, const QString& what);
    /// Pipeline mode (libpq's): statements sent without waiting for the one before, their
    /// results read later in the order they were sent, so that the station composes its next
    /// batch while the server takes the last. sync() ends a unit and sends what is buffered;
    /// an error in a unit skips the rest of that unit, never what follows it.
    [[nodiscard]] core::Result<void> beginPipeline();
    [[nodiscard]] core::Result<void> send(const QString& sql, const Params& params, const QString& what);
    /// As execPrepared, sent: the statement is prepared in the pipeline when it is new here.
    [[nodiscard]] core::Result<void> sendPrepared(
        const QString& name, const QString& sql, const Params& params, const QString& what);
    [[nodiscard]] core::Result<void> sync(const QString& what);
    /// The next statement's result (each wait for the server is bounded by the target's
    /// answerTimeoutS, here as everywhere).
    [[nodiscard]] core::Result<Result> receive(const QString& what);
    /// The end of a unit sent by sync().
    [[nodiscard]] core::Result<void> receiveSync(const QString& what);
    [[nodiscard]] core::Result<void> endPipeline();
    /// Runs statements with no values (a migration's script).
    [[nodiscard]] core::Result<void> script(const QString& sql, const QString& what);
    [[nodiscard]] bool isOpen() const { return m_conn != nullptr; }
    /// Where it is connected, for messages: "host:port/dbname as user".
    [[nodiscard]] QString where() const;
    /// An identifier quoted for SQL text (a role's name in CREATE ROLE, which takes no $1).
    [[nodiscard]] QString quoteIdentifier(const QString& name) const;
    /// A literal quoted for SQL text.
    [[nodiscard]] QString quoteLiteral(const QByteArray& value) const;
    /// The SCRAM-SHA-256 verifier of `password` for `role`, made here (libpq): what ALTER ROLE
    /// is given, so that no clear password ever reaches the server or its log.
    [[nodiscard]] core::Result<QByteArray> passwordVerifier(const Secret& password, const QString& role) const;

private:
    core::Result<Result> check(pg_result* r, const QString& what);
    /// Waits until libpq has sent its buffer (pipeline mode, non-blocking) and, with
    /// `forResult`, until a result can be read without blocking; false past the deadline.
    core::Result<void> await(bool forResult, const QString& what);
    core::Result<pg_result*> nextResult(const QString& what);
    /// Hands a statement to libpq (its values in binary), a Prepare, or a prepared statement's
    /// execution; what comes back is read by collect() or receive().
    core::Result<void> postQuery(const QString& sql, const Params& params, const QString& what);
    core::Result<void> postPrepare(const QString& name, const QString& sql, const Params& params, const QString& what);
    core::Result<void> postPrepared(const QString& name, const Params& params, const QString& what);
    /// Every result of the one query sent; the first error, or the last result.
    core::Result<Result> collect(const QString& what);
    pg_conn* m_conn = nullptr;
    QStringList m_prepared;
    int m_answerTimeoutS = 60;
    /// What each result still to be read in the pipeline is: a Prepare sent ahead of its
    /// statement (read and dropped by receive()), a statement, or a sync.
    enum class Pending { Prepare, Statement, Sync };
    std::deque<Pending> m_pending;
};

/// True when `conninfo` parses; else the parser's words.
[[nodiscard]] core::Result<void> checkConninfo(const QString& conninfo);
/// A value of a connection string ("host", "sslmode"), or empty.
[[nodiscard]] QString conninfoValue(const QString& conninfo, const char* keyword);

} // namespace imprint::core::pg
