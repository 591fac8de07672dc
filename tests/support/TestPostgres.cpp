#include "TestPostgres.h"

#include <QDir>
#include <QProcess>
#include <QRandomGenerator>

#include <pwd.h>
#include <unistd.h>

namespace imprint::test {

namespace {

/// Debian's newest PostgreSQL server programs.
QString serverBin()
{
    QStringList versions = QDir(QStringLiteral("/usr/lib/postgresql")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    std::sort(
        versions.begin(), versions.end(), [](const QString& a, const QString& b) { return a.toInt() > b.toInt(); });
    for (const QString& v : versions) {
        const QString bin = QStringLiteral("/usr/lib/postgresql/%1/bin").arg(v);
        if (QFile::exists(bin + QStringLiteral("/initdb")))
            return bin;
    }
    return {};
}

} // namespace

TestPostgres::TestPostgres()
    : m_bin(serverBin())
{
    if (m_bin.isEmpty())
        return;
    QByteArray tmpl = QDir::tempPath().toUtf8() + "/imprint-pg-XXXXXX";
    if (!::mkdtemp(tmpl.data()))
        return;
    m_dir = QString::fromUtf8(tmpl);
    // PostgreSQL refuses to run as root: the folder becomes the postgres account's.
    m_asPostgres = ::geteuid() == 0;
    if (m_asPostgres) {
        const passwd* pw = ::getpwnam("postgres");
        if (!pw || ::chown(tmpl.constData(), pw->pw_uid, pw->pw_gid) != 0)
            return;
    }
    auto init = pg(QStringLiteral("initdb"),
        { QStringLiteral("-D"), m_dir + QStringLiteral("/data"), QStringLiteral("-U"), QStringLiteral("imprint_admin"),
            QStringLiteral("--auth-local=trust"), QStringLiteral("--auth-host=scram-sha-256"),
            QStringLiteral("--no-sync") });
    if (init.exitCode != 0)
        return;
    for (int attempt = 0; attempt < 5 && !m_ok; ++attempt) {
        m_port = static_cast<quint16>(40000 + QRandomGenerator::global()->bounded(20000));
        m_ok = start();
    }
    if (m_ok)
        m_ok = pg(QStringLiteral("createdb"),
                   { QStringLiteral("-h"), m_dir, QStringLiteral("-p"), QString::number(m_port), QStringLiteral("-U"),
                       QStringLiteral("imprint_admin"), QStringLiteral("plant") })
                   .exitCode
            == 0;
}

TestPostgres::~TestPostgres()
{
    if (m_dir.isEmpty())
        return;
    stop(QStringLiteral("immediate"));
    QDir(m_dir).removeRecursively();
}

ProcessResult TestPostgres::pg(const QString& program, const QStringList& args) const
{
    const QString path = m_bin + u'/' + program;
    if (m_asPostgres)
        return run(QStringLiteral("runuser"),
            QStringList { QStringLiteral("-u"), QStringLiteral("postgres"), QStringLiteral("--"), path } + args);
    return run(path, args);
}

bool TestPostgres::start()
{
    return pg(QStringLiteral("pg_ctl"),
               { QStringLiteral("-D"), m_dir + QStringLiteral("/data"), QStringLiteral("-l"),
                   m_dir + QStringLiteral("/log"), QStringLiteral("-w"), QStringLiteral("-t"), QStringLiteral("30"),
                   QStringLiteral("-o"),
                   QStringLiteral("-p %1 -k %2 -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 -c "
                                  "log_statement=all")
                       .arg(m_port)
                       .arg(m_dir),
                   QStringLiteral("start") })
               .exitCode
        == 0;
}

bool TestPostgres::stop(const QString& mode)
{
    return pg(QStringLiteral("pg_ctl"),
               { QStringLiteral("-D"), m_dir + QStringLiteral("/data"), QStringLiteral("-m"), mode,
                   QStringLiteral("-w"), QStringLiteral("stop") })
               .exitCode
        == 0;
}

QByteArray TestPostgres::log() const
{
    QFile f(m_dir + QStringLiteral("/log"));
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QString TestPostgres::adminConninfo() const
{
    return QStringLiteral("host=%1 port=%2 dbname=plant user=imprint_admin").arg(m_dir).arg(m_port);
}

QString TestPostgres::roleConninfo(const QString& role) const
{
    return QStringLiteral("host=127.0.0.1 port=%1 dbname=plant user=%2").arg(m_port).arg(role);
}

ProcessResult TestPostgres::psql(const QString& sql, const QString& role, const QString& password) const
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (!password.isEmpty())
        env.insert(QStringLiteral("PGPASSWORD"), password); // the test's own client, not the station
    p.setProcessEnvironment(env);
    p.start(QStringLiteral("psql"),
        { QStringLiteral("-X"), QStringLiteral("-A"), QStringLiteral("-t"), QStringLiteral("-v"),
            QStringLiteral("ON_ERROR_STOP=1"), QStringLiteral("-c"), sql,
            role.isEmpty() ? adminConninfo() : roleConninfo(role) });
    if (!p.waitForFinished(60000))
        p.kill();
    return { p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput().trimmed(),
        p.readAllStandardError() };
}

} // namespace imprint::test
