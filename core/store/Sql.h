#pragma once

// What every part of the record store shares: the one connection, the transaction guard,
// prepared statements and the reading of stored states. For the store's own files; the
// rest of the station sees RecordStore and its parts.

#include "Error.h"
#include "domain/States.h"

#include <QDateTime>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QVariant>

struct sqlite3;
struct sqlite3_stmt;

namespace imprint::core {

/// The store's one SQLite connection, by its Qt name. RecordStore owns it; its parts hold
/// a copy of the name and work on the same connection, so a transaction spans parts.
class Connection {
public:
    Connection() = default;
    explicit Connection(QString name)
        : m_name(std::move(name))
    {
    }
    [[nodiscard]] QSqlDatabase db() const { return QSqlDatabase::database(m_name, false); }
    [[nodiscard]] const QString& name() const { return m_name; }

private:
    QString m_name;
};

/// A part of the store (one concern, its own tables): a view of the one connection.
class StorePart {
public:
    explicit StorePart(Connection connection)
        : m_connection(std::move(connection))
    {
    }

protected:
    Connection m_connection;
};

/// How far a commit must get before it returns. Every commit survives the station being
/// killed (SQLite has written it to the operating system). Synced commits also survive a
/// power cut: the WAL is fsynced, and with it every commit before. Issued certificates
/// (before they leave), revocations, administrative acts and audit checkpoints are synced;
/// the rest, the write-ahead intent included, rides along with the next synced commit. A
/// power cut can then lose an intent only together with everything signed under it, and
/// nothing signed leaves the station before its own synced commit.
enum class Durability { Written, Synced };

/// Rolls back unless committed: no half-written record survives an error path.
class Transaction {
public:
    explicit Transaction(const Connection& connection, Durability durability = Durability::Written);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    /// False when the write lock could not be taken: the caller writes nothing.
    [[nodiscard]] bool active() const { return m_active; }
    [[nodiscard]] const QSqlError& error() const { return m_error; }
    [[nodiscard]] QSqlDatabase db() const { return m_db; }
    [[nodiscard]] bool commit();
    /// From now on the commit is synced (a transaction begun as Written that takes a write
    /// that must survive a power cut).
    void requireSync();

private:
    QSqlDatabase m_db;
    bool m_synced = false;
    bool m_active = false;
    QSqlError m_error;
};

/// One read transaction over many lookups: they see one state of the store, and each
/// skips taking and releasing SQLite's read lock of its own. Ended when it goes; when it
/// cannot begin, the lookups go on, each with its own read as before.
class ReadTransaction {
public:
    explicit ReadTransaction(const Connection& connection);
    ~ReadTransaction();
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;

private:
    QSqlDatabase m_db;
    bool m_active = false;
};

/// A statement prepared once (on its first run) and run many times with positional values:
/// the store's hot path (every write, and lookups made many times in a row). It works on
/// SQLite's own handle of the connection, inside whatever transaction is open on it, and
/// binds UTF-8 text and blobs as they are, without QtSql's per-call conversions.
class Statement {
public:
    Statement(QSqlDatabase db, QString sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& operator=(Statement&&) = delete;

    /// Binds `values` and runs the statement to its first row (or its end). A null QString
    /// binds as '' (the columns that hold text are NOT NULL); QVariant() binds NULL.
    [[nodiscard]] bool run(const QVariantList& values);
    /// The next row of a query run(): the first call gives the first row.
    [[nodiscard]] bool next();
    [[nodiscard]] QVariant value(int column) const;
    /// Rows the last run changed, and the rowid it inserted last.
    [[nodiscard]] qint64 changes() const;
    [[nodiscard]] qint64 lastInsertId() const;
    /// Ends the current run (releases what it holds); run() does it too.
    void reset();
    [[nodiscard]] QSqlError error() const;

private:
    ::sqlite3* m_db = nullptr;
    ::sqlite3_stmt* m_statement = nullptr;
    QString m_sql;
    QString m_error;
    int m_step = 0; ///< the last sqlite3_step result
    bool m_firstRowPending = false;
};

namespace sql {

/// Prepares and runs a statement with positional values. A null QString binds as '' (the
/// columns that hold text are NOT NULL); absent values are passed as QVariant().
[[nodiscard]] bool exec(QSqlQuery& q, const QString& statement, const QVariantList& values);

/// The first column of the first row a query answers (a null QVariant when it answers no
/// row); `what` says what was being read, for the error.
[[nodiscard]] Result<QVariant> scalar(
    const Connection& connection, const QString& statement, const QVariantList& values, const QString& what);

/// A count (or other whole number) a query answers in its first column.
[[nodiscard]] Result<qint64> count(const Connection& connection, const QString& statement, const QString& what);

class States;

/// Every row a query answers, each made into a T by `from(query, states)`. A stored state
/// this Imprint does not know fails the whole read (see States).
template <typename T, typename From>
[[nodiscard]] Result<QList<T>> rows(
    const Connection& connection, const QString& statement, const QVariantList& values, const QString& what, From from);

/// The first row a query answers, if any, made into a T as rows() does.
template <typename T, typename From>
[[nodiscard]] Result<std::optional<T>> first(
    const Connection& connection, const QString& statement, const QVariantList& values, const QString& what, From from)
{
    auto all = rows<T>(connection, statement, values, what, from);
    if (!all)
        return std::unexpected(all.error());
    return all->isEmpty() ? std::optional<T> {} : std::optional<T> { all->first() };
}

/// Now, as the store writes times (UTC, ISO 8601 with milliseconds).
[[nodiscard]] QString now();
/// A time as the store writes it (UTC, so that texts compare as times do).
[[nodiscard]] QString time(const QDateTime& t);
[[nodiscard]] QDateTime parseTime(const QVariant& v);

[[nodiscard]] std::unexpected<Error> fail(const QString& what, const QSqlError& error);

/// A state as an SQL literal, for the statements that must name one in their text: SQLite
/// uses a partial index only when the query names its condition's value.
template <typename E> [[nodiscard]] QString literal(E state)
{
    return u'\'' + text(state) + u'\'';
}

/// Reads stored state texts back as their enums and remembers the first one it does not
/// know (a store written by a newer Imprint, or edited by hand).
class States {
public:
    template <typename E> E read(const QVariant& stored)
    {
        const QString t = stored.toString();
        if (auto s = parseState<E>(t))
            return *s;
        if (m_unknown.isNull())
            m_unknown = t;
        return E {};
    }
    template <typename E> std::optional<E> readOptional(const QVariant& stored)
    {
        if (stored.isNull() || stored.toString().isEmpty())
            return std::nullopt;
        return read<E>(stored);
    }
    [[nodiscard]] bool ok() const { return m_unknown.isNull(); }
    [[nodiscard]] std::unexpected<Error> error() const;

private:
    QString m_unknown;
};

template <typename T, typename From>
Result<QList<T>> rows(
    const Connection& connection, const QString& statement, const QVariantList& values, const QString& what, From from)
{
    QSqlQuery q(connection.db());
    if (!exec(q, statement, values))
        return fail(what, q.lastError());
    QList<T> out;
    States states;
    while (q.next())
        out.append(from(q, states));
    if (!states.ok())
        return states.error();
    return out;
}

} // namespace sql

} // namespace imprint::core
