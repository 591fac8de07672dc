#pragma once

#include "TestSupport.h"

#include <QString>
#include <QTemporaryDir>

namespace imprint::test {

/// A real PostgreSQL server of its own for a test: initdb in a temporary folder, started
/// with pg_ctl on a free loopback port and a socket in that folder, as an unprivileged user
/// (the "postgres" account when the test runs as root). The administrator connects over the
/// socket (trust); roles connect over TCP with a password (scram-sha-256). Stopped and removed
/// with the object.
class TestPostgres {
public:
    TestPostgres();
    ~TestPostgres();
    TestPostgres(const TestPostgres&) = delete;
    TestPostgres& operator=(const TestPostgres&) = delete;

    [[nodiscard]] bool ok() const { return m_ok; }
    /// The administrator's connection string (over the socket).
    [[nodiscard]] QString adminConninfo() const;
    /// A role's connection string over TCP (its password is given apart).
    [[nodiscard]] QString roleConninfo(const QString& role) const;
    [[nodiscard]] quint16 port() const { return m_port; }

    /// Stops the server: "fast" (a clean stop) or "immediate" (as a crash or a power cut).
    bool stop(const QString& mode = QStringLiteral("fast"));
    bool start();
    /// The server's log (it logs every statement).
    [[nodiscard]] QByteArray log() const;
    /// Runs SQL with psql as the administrator (or as `role` with `password`); exit code and output.
    ProcessResult psql(const QString& sql, const QString& role = {}, const QString& password = {}) const;

private:
    ProcessResult pg(const QString& program, const QStringList& args) const;

    QString m_bin;
    QString m_dir;
    quint16 m_port = 0;
    bool m_asPostgres = false;
    bool m_ok = false;
};

/// A station set up for the plant: its own data directory, a role of its own in the plant
/// database (made by the administrator), and [plant] pointing at it.
struct PlantStation {
    QString dataDir;
    QString id;
    QString role;
    QString password;
};

/// A quick station named `name` in `tmp`, on `line`, added to the plant by its administrator.
PlantStation plantStation(const QTemporaryDir& tmp, const TestPostgres& pg, const QString& name, const QString& line);
/// Issues `count` devices PREFIX-000001... from request files.
void issue(const QTemporaryDir& tmp, const PlantStation& s, const QString& prefix, int count);
/// The plant's schema, as its administrator makes it.
void migrate(const TestPostgres& pg);
/// imprintctl plant push on the station.
ProcessResult push(const PlantStation& s);
/// A number the administrator reads from the plant with `sql`.
qint64 plantCount(const TestPostgres& pg, const QString& sql);

} // namespace imprint::test
