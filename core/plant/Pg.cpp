#include "plant/Pg.h"

#include <QDeadlineTimer>
#include <QTimeZone>
#include <QtEndian>

#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <libpq-fe.h>

#include <poll.h>

namespace imprint::core::pg {

namespace {

constexpr unsigned BoolOid = 16;
constexpr unsigned ByteaOid = 17;
constexpr unsigned Int8Oid = 20;
constexpr unsigned TextOid = 25;
constexpr unsigned TimestamptzOid = 1184;
constexpr unsigned JsonbOid = 3802;

/// PostgreSQL's epoch for timestamps: 2000-01-01 00:00 UTC.
const QDateTime& pgEpoch()
{
    static const QDateTime epoch(QDate(2000, 1, 1), QTime(0, 0), Qt::UTC);
    return epoch;
}

QByteArray bigEndian(qint64 v)
{
    QByteArray b(8, Qt::Uninitialized);
    qToBigEndian(v, b.data());
    return b;
}

std::unexpected<Error> failure(const QString& what, const QString& detail)
{
    return std::unexpected(Error { ErrorCode::Io, what, detail.trimmed(), {} });
}

} // namespace

void Params::add(unsigned type, QByteArray value, bool isNull)
{
    m_types.push_back(type);
    m_values.push_back(std::move(value));
    m_null.push_back(isNull);
}

Params& Params::text(const QString& v)
{
    add(TextOid, v.toUtf8());
    return *this;
}

Params& Params::bytes(const QByteArray& v)
{
    add(ByteaOid, v);
    return *this;
}

Params& Params::int8(qint64 v)
{
    add(Int8Oid, bigEndian(v));
    return *this;
}

Params& Params::time(const QDateTime& v)
{
    if (!v.isValid())
        return null(TimestamptzOid);
    add(TimestamptzOid, bigEndian(pgEpoch().msecsTo(v) * 1000));
    return *this;
}

Params& Params::jsonb(const QByteArray& json)
{
    add(JsonbOid, QByteArray(1, '\x01') + json); // jsonb's send format: version 1, then the text
    return *this;
}

Params& Params::null(unsigned typeOid)
{
    add(typeOid, {}, true);
    return *this;
}

int Result::rows() const
{
    return m_result ? PQntuples(m_result.get()) : 0;
}

bool Result::isNull(int row, int column) const
{
    return PQgetisnull(m_result.get(), row, column) != 0;
}

QString Result::text(int row, int column) const
{
    return QString::fromUtf8(PQgetvalue(m_result.get(), row, column), PQgetlength(m_result.get(), row, column));
}

qint64 Result::int8(int row, int column) const
{
    return QByteArray(PQgetvalue(m_result.get(), row, column)).toLongLong();
}

QByteArray Result::bytes(int row, int column) const
{
    if (isNull(row, column))
        return {};
    size_t length = 0;
    unsigned char* raw
        = PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(m_result.get(), row, column)), &length);
    if (!raw)
        return {};
    QByteArray out(reinterpret_cast<const char*>(raw), static_cast<qsizetype>(length));
    PQfreemem(raw);
    return out;
}

QDateTime Result::time(int row, int column) const
{
    if (isNull(row, column))
        return {};
    // As the server prints timestamptz with TimeZone UTC (set at connect): 2026-12-07 10:11:12.345+00
    QString t = text(row, column);
    t.replace(u' ', u'T');
    if (t.endsWith(QStringLiteral("+00")))
        t.chop(3);
    QDateTime d = QDateTime::fromString(t, Qt::ISODateWithMs);
    d.setTimeSpec(Qt::UTC);
    return d;
}

bool Result::boolean(int row, int column) const
{
    return !isNull(row, column) && PQgetvalue(m_result.get(), row, column)[0] == 't';
}

QString Result::command() const
{
    return m_result ? QString::fromUtf8(PQcmdStatus(m_result.get())) : QString();
}

Connection::Connection() = default;

Connection::~Connection()
{
    if (m_conn)
        PQfinish(m_conn);
}

Connection::Connection(Connection&& other) noexcept
    : m_conn(std::exchange(other.m_conn, nullptr))
    , m_prepared(std::move(other.m_prepared))
    , m_answerTimeoutS(other.m_answerTimeoutS)
    , m_pending(std::move(other.m_pending))
{
}

Connection& Connection::operator=(Connection&& other) noexcept
{
    if (this != &other) {
        if (m_conn)
            PQfinish(m_conn);
        m_conn = std::exchange(other.m_conn, nullptr);
        m_prepared = std::move(other.m_prepared);
        m_answerTimeoutS = other.m_answerTimeoutS;
        m_pending = std::move(other.m_pending);
    }
    return *this;
}

core::Result<Connection> Connection::open(const Target& target)
{
    const QByteArray conninfo = target.conninfo.toUtf8();
    QByteArray password(target.password.data(), target.password.size());
    struct Wipe {
        QByteArray& bytes;
        ~Wipe() { OPENSSL_cleanse(bytes.data(), static_cast<size_t>(bytes.size())); }
    } wipe { password };
    // The connection string first (expanded), the password after it: a later keyword wins.
    // Times are read in UTC; a station's pushes and QA's lookups touch a few rows by index
    // each, which parallel workers only slow down (starting them costs milliseconds).
    const QByteArray application = target.applicationName.toUtf8();
    const char* keywords[] = { "dbname", "password", "application_name", "options", nullptr };
    const char* values[] = { conninfo.constData(), target.password.isEmpty() ? nullptr : password.constData(),
        application.constData(), "-c TimeZone=UTC -c max_parallel_workers_per_gather=0", nullptr };
    Connection c;
    c.m_conn = PQconnectStartParams(keywords, values, 1);
    if (!c.m_conn)
        return failure(QStringLiteral("The plant database could not be reached: out of memory."), {});
    auto refused = [&] {
        return failure(QStringLiteral("The plant database could not be reached (%1).").arg(c.where()),
            QString::fromUtf8(PQerrorMessage(c.m_conn)));
    };
    if (PQstatus(c.m_conn) == CONNECTION_BAD)
        return refused();
    QDeadlineTimer deadline(std::chrono::seconds(std::max(1, target.connectTimeoutS)));
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    while (state != PGRES_POLLING_OK) {
        if (state == PGRES_POLLING_FAILED)
            return refused();
        pollfd fd { PQsocket(c.m_conn), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0 };
        const qint64 left = deadline.remainingTime();
        if (left <= 0 || ::poll(&fd, 1, static_cast<int>(left)) == 0)
            return failure(QStringLiteral("The plant database did not answer within %1 s (%2).")
                               .arg(std::max(1, target.connectTimeoutS))
                               .arg(c.where()),
                {});
        state = PQconnectPoll(c.m_conn);
    }
    // Never blocked by a send either: every wait for the server is bounded (await()).
    if (PQsetnonblocking(c.m_conn, 1) != 0)
        return refused();
    c.m_answerTimeoutS = std::max(1, target.answerTimeoutS);
    return c;
}

QString Connection::where() const
{
    if (!m_conn)
        return {};
    const char* host = PQhost(m_conn);
    return QStringLiteral("%1:%2/%3 as %4")
        .arg(QString::fromUtf8(host && *host ? host : "local"), QString::fromUtf8(PQport(m_conn)),
            QString::fromUtf8(PQdb(m_conn)), QString::fromUtf8(PQuser(m_conn)));
}

core::Result<Result> Connection::check(pg_result* r, const QString& what)
{
    Result out;
    out.m_result = std::shared_ptr<pg_result>(r, PQclear);
    const auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        return out;
    const QString detail = QString::fromUtf8(r ? PQresultErrorMessage(r) : PQerrorMessage(m_conn));
    if (PQstatus(m_conn) == CONNECTION_BAD)
        return failure(QStringLiteral("The plant database went away while the station tried to %1.").arg(what), detail);
    return failure(QStringLiteral("The plant database refused to %1.").arg(what), detail);
}

Params::Wire Params::wire() const
{
    Wire w { std::vector<const char*>(m_values.size()), std::vector<int>(m_values.size()),
        std::vector<int>(m_values.size(), 1) };
    for (size_t i = 0; i < m_values.size(); ++i) {
        w.values[i] = m_null[i] ? nullptr : m_values[i].constData();
        w.lengths[i] = static_cast<int>(m_values[i].size());
    }
    return w;
}

core::Result<void> Connection::await(bool forResult, const QString& what)
{
    // The time allowed is without progress: a big batch over a slow link is not cut while its
    // bytes still move.
    QDeadlineTimer deadline { std::chrono::seconds(m_answerTimeoutS) };
    for (;;) {
        const int flushed = PQflush(m_conn); // 0: all sent, 1: more to send, -1: failed
        if (flushed < 0)
            return failure(QStringLiteral("The plant database went away while the station tried to %1.").arg(what),
                QString::fromUtf8(PQerrorMessage(m_conn)));
        if (flushed == 0 && (!forResult || !PQisBusy(m_conn)))
            return {};
        pollfd fd { PQsocket(m_conn), static_cast<short>(POLLIN | (flushed ? POLLOUT : 0)), 0 };
        const qint64 left = deadline.remainingTime();
        const int ready = left > 0 ? ::poll(&fd, 1, static_cast<int>(left)) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            auto said = failure(QStringLiteral("The plant database did not answer within %1 s while the station tried "
                                               "to %2 (%3).")
                                    .arg(m_answerTimeoutS)
                                    .arg(what, where()),
                {});
            // What was sent may still run there; this connection is not used again (a
            // statement on it would be refused as "another command is already in progress").
            PQfinish(m_conn);
            m_conn = nullptr;
            return said;
        }
        if (fd.revents & (POLLIN | POLLOUT))
            deadline.setRemainingTime(std::chrono::seconds(m_answerTimeoutS));
        // Read what has come (results, or the server's word that it is going): a server
        // blocked writing its answers never waits for the station to finish sending.
        if ((fd.revents & (POLLIN | POLLHUP | POLLERR)) && !PQconsumeInput(m_conn))
            return failure(QStringLiteral("The plant database went away while the station tried to %1.").arg(what),
                QString::fromUtf8(PQerrorMessage(m_conn)));
    }
}

core::Result<pg_result*> Connection::nextResult(const QString& what)
{
    if (!m_conn)
        return failure(QStringLiteral("The plant database went away while the station tried to %1.").arg(what), {});
    if (auto ready = await(true, what); !ready)
        return std::unexpected(ready.error());
    return PQgetResult(m_conn);
}

namespace {

/// The sending call's own failure (out of memory, a connection gone), in the words check() uses.
std::unexpected<Error> notSent(pg_conn* conn, const QString& what)
{
    return failure(QStringLiteral("The plant database went away while the station tried to %1.").arg(what),
        QString::fromUtf8(PQerrorMessage(conn)));
}

} // namespace

core::Result<void> Connection::postQuery(const QString& sql, const Params& p, const QString& what)
{
    const Params::Wire w = p.wire();
    std::vector<Oid> types(p.m_types.begin(), p.m_types.end());
    if (!PQsendQueryParams(m_conn, sql.toUtf8().constData(), p.count(), types.data(), w.values.data(), w.lengths.data(),
            w.formats.data(), 0))
        return notSent(m_conn, what);
    return {};
}

core::Result<void> Connection::postPrepare(
    const QString& name, const QString& sql, const Params& p, const QString& what)
{
    std::vector<Oid> types(p.m_types.begin(), p.m_types.end());
    if (!PQsendPrepare(m_conn, name.toUtf8().constData(), sql.toUtf8().constData(), p.count(), types.data()))
        return notSent(m_conn, what);
    return {};
}

core::Result<void> Connection::postPrepared(const QString& name, const Params& p, const QString& what)
{
    const Params::Wire w = p.wire();
    if (!PQsendQueryPrepared(
            m_conn, name.toUtf8().constData(), p.count(), w.values.data(), w.lengths.data(), w.formats.data(), 0))
        return notSent(m_conn, what);
    return {};
}

core::Result<Result> Connection::exec(const QString& sql, const Params& p, const QString& what)
{
    if (auto posted = postQuery(sql, p, what); !posted)
        return std::unexpected(posted.error());
    return collect(what);
}

core::Result<Result> Connection::collect(const QString& what)
{
    // Every result of what was sent, up to libpq's end (NULL); the first error is the answer.
    std::optional<core::Result<Result>> answer;
    for (;;) {
        auto r = nextResult(what);
        if (!r)
            return std::unexpected(r.error());
        if (!*r)
            break;
        if (const auto status = PQresultStatus(*r);
            status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH) {
            PQclear(*r);
            return failure(QStringLiteral("The plant database began a COPY the station did not ask for while it "
                                          "tried to %1.")
                               .arg(what),
                {});
        }
        auto checked = check(*r, what);
        if (!answer || *answer)
            answer = std::move(checked);
    }
    if (!answer)
        return failure(QStringLiteral("The plant database sent no answer when the station tried to %1.").arg(what), {});
    return std::move(*answer);
}

core::Result<Result> Connection::execPrepared(
    const QString& name, const QString& sql, const Params& p, const QString& what)
{
    if (!m_prepared.contains(name)) {
        if (auto posted = postPrepare(name, sql, p, what); !posted)
            return std::unexpected(posted.error());
        if (auto prepared = collect(what); !prepared)
            return prepared;
        m_prepared << name;
    }
    if (auto posted = postPrepared(name, p, what); !posted)
        return std::unexpected(posted.error());
    return collect(what);
}

core::Result<Result> Connection::exec(const QString& sql, const QString& what)
{
    return exec(sql, Params {}, what);
}

core::Result<void> Connection::script(const QString& sql, const QString& what)
{
    if (!PQsendQuery(m_conn, sql.toUtf8().constData()))
        return notSent(m_conn, what);
    auto r = collect(what);
    if (!r)
        return std::unexpected(r.error());
    return {};
}

core::Result<void> Connection::beginPipeline()
{
    if (!PQenterPipelineMode(m_conn))
        return notSent(m_conn, QStringLiteral("send several statements at once"));
    m_pending.clear();
    return {};
}

core::Result<void> Connection::send(const QString& sql, const Params& p, const QString& what)
{
    if (auto posted = postQuery(sql, p, what); !posted)
        return posted;
    m_pending.push_back(Pending::Statement);
    return {};
}

core::Result<void> Connection::sendPrepared(
    const QString& name, const QString& sql, const Params& p, const QString& what)
{
    if (!m_prepared.contains(name)) {
        if (auto posted = postPrepare(name, sql, p, what); !posted)
            return posted;
        m_pending.push_back(Pending::Prepare);
        // Prepared from here on, as the server sees it; a Prepare that fails fails its unit,
        // and a connection whose unit failed is not used again.
        m_prepared << name;
    }
    if (auto posted = postPrepared(name, p, what); !posted)
        return posted;
    m_pending.push_back(Pending::Statement);
    return {};
}

core::Result<void> Connection::sync(const QString& what)
{
    if (!PQpipelineSync(m_conn))
        return notSent(m_conn, what);
    m_pending.push_back(Pending::Sync);
    return await(false, what);
}

core::Result<Result> Connection::receive(const QString& what)
{
    for (;;) {
        if (m_pending.empty() || m_pending.front() == Pending::Sync)
            return failure(
                QStringLiteral("The station read an answer it had not asked for while it tried to %1.").arg(what), {});
        const Pending kind = m_pending.front();
        m_pending.pop_front();
        auto r = collect(what);
        if (kind == Pending::Statement || !r)
            return r;
    }
}

core::Result<void> Connection::receiveSync(const QString& what)
{
    if (m_pending.empty() || m_pending.front() != Pending::Sync)
        return failure(
            QStringLiteral("The station read an answer it had not asked for while it tried to %1.").arg(what), {});
    m_pending.pop_front();
    auto r = nextResult(what);
    if (!r)
        return std::unexpected(r.error());
    Result owned;
    owned.m_result = std::shared_ptr<pg_result>(*r, PQclear);
    if (!*r || PQresultStatus(*r) != PGRES_PIPELINE_SYNC)
        return failure(
            QStringLiteral("The plant database answered out of order while the station tried to %1.").arg(what),
            QString::fromUtf8(PQerrorMessage(m_conn)));
    return {};
}

core::Result<void> Connection::endPipeline()
{
    if (!PQexitPipelineMode(m_conn))
        return failure(QStringLiteral("The station could not end its pipeline to the plant database."),
            QString::fromUtf8(PQerrorMessage(m_conn)));
    return {};
}

QString Connection::quoteIdentifier(const QString& name) const
{
    const QByteArray u = name.toUtf8();
    char* q = PQescapeIdentifier(m_conn, u.constData(), static_cast<size_t>(u.size()));
    QString out = QString::fromUtf8(q ? q : "");
    PQfreemem(q);
    return out;
}

QString Connection::quoteLiteral(const QByteArray& value) const
{
    char* q = PQescapeLiteral(m_conn, value.constData(), static_cast<size_t>(value.size()));
    QString out = QString::fromUtf8(q ? q : "");
    if (q) {
        OPENSSL_cleanse(q, std::strlen(q));
        PQfreemem(q);
    }
    return out;
}

core::Result<QByteArray> Connection::passwordVerifier(const Secret& password, const QString& role) const
{
    QByteArray clear(password.data(), password.size());
    char* verifier = PQencryptPasswordConn(m_conn, clear.constData(), role.toUtf8().constData(), "scram-sha-256");
    OPENSSL_cleanse(clear.data(), static_cast<size_t>(clear.size()));
    if (!verifier)
        return failure(
            QStringLiteral("No password verifier could be made."), QString::fromUtf8(PQerrorMessage(m_conn)));
    QByteArray out(verifier);
    PQfreemem(verifier);
    return out;
}

core::Result<void> checkConninfo(const QString& conninfo)
{
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.toUtf8().constData(), &error);
    if (!options) {
        const QString why = QString::fromUtf8(error ? error : "out of memory").trimmed();
        PQfreemem(error);
        return std::unexpected(Error { ErrorCode::BadInput,
            QStringLiteral("The plant database's connection string does not parse: %1").arg(why), {}, {} });
    }
    PQconninfoFree(options);
    return {};
}

QString conninfoValue(const QString& conninfo, const char* keyword)
{
    PQconninfoOption* options = PQconninfoParse(conninfo.toUtf8().constData(), nullptr);
    if (!options)
        return {};
    QString value;
    for (PQconninfoOption* o = options; o->keyword; ++o) {
        if (std::strcmp(o->keyword, keyword) == 0 && o->val)
            value = QString::fromUtf8(o->val);
    }
    PQconninfoFree(options);
    return value;
}

} // namespace imprint::core::pg
