#include "TestPostgres.h"

#include <QDir>
#include <QProcess>
#include <QRandomGenerator>
#include <QSettings>

#include <catch2/catch.hpp>

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

PlantStation plantStation(const QTemporaryDir& tmp, const TestPostgres& pg, const QString& name, const QString& line)
{
    PlantStation s;
    s.dataDir = tmp.filePath(name);
    test::initQuickStation(s.dataDir);
    // configure first: it gives the station its id, which the administrator needs.
    auto first = ctl(s.dataDir,
        { QStringLiteral("plant"), QStringLiteral("configure"), QStringLiteral("--conninfo"),
            pg.roleConninfo(QStringLiteral("nobody")) });
    INFO(first.out.toStdString() << first.err.toStdString());
    REQUIRE(first.exitCode == 0);
    s.id = QSettings(s.dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat)
               .value(QStringLiteral("station/id"))
               .toString();
    REQUIRE(!s.id.isEmpty());
    const QString pwFile = tmp.filePath(name + QStringLiteral(".pw"));
    auto added = test::run(QStringLiteral(IMPRINT_CTL),
        { QStringLiteral("plant"), QStringLiteral("add-station"), QStringLiteral("--conninfo"), pg.adminConninfo(),
            QStringLiteral("--station-id"), s.id, QStringLiteral("--line"), line, QStringLiteral("--name"), name,
            QStringLiteral("--password-out"), pwFile });
    INFO(added.out.toStdString() << added.err.toStdString());
    REQUIRE(added.exitCode == 0);
    s.role = QStringLiteral("imprint_station_") + QString(s.id).remove(u'-');
    QFile pw(pwFile);
    REQUIRE(pw.open(QIODevice::ReadOnly));
    s.password = QString::fromUtf8(pw.readAll());
    CHECK((pw.permissions() & (QFileDevice::ReadGroup | QFileDevice::ReadOther)) == 0);
    auto configured = ctl(s.dataDir,
        { QStringLiteral("plant"), QStringLiteral("configure"), QStringLiteral("--conninfo"), pg.roleConninfo(s.role),
            QStringLiteral("--password-file"), pwFile, QStringLiteral("--line"), line });
    INFO(configured.out.toStdString() << configured.err.toStdString());
    REQUIRE(configured.exitCode == 0);
    CHECK(configured.out.contains("schema 2"));
    // The password is in the station's own 0600 file, never in station.ini.
    QFile ini(s.dataDir + QStringLiteral("/station.ini"));
    REQUIRE(ini.open(QIODevice::ReadOnly));
    CHECK_FALSE(ini.readAll().contains(s.password.toUtf8()));
    return s;
}

/// Issues `count` devices PREFIX-000001... from request files.
void issue(const QTemporaryDir& tmp, const PlantStation& s, const QString& prefix, int count)
{
    const QString dir = tmp.filePath(QStringLiteral("reqs-") + prefix);
    REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                { QStringLiteral("--out"), dir, QStringLiteral("--count"), QString::number(count),
                    QStringLiteral("--serial-prefix"), prefix })
                .exitCode
        == 0);
    for (int i = 1; i <= count; ++i) {
        const QString serial = QStringLiteral("%1-%2").arg(prefix).arg(i, 6, 10, QLatin1Char('0'));
        auto issued = ctl(s.dataDir,
            { QStringLiteral("issue"), QStringLiteral("--csr"), dir + QStringLiteral("/%1.der").arg(serial),
                QStringLiteral("--device-serial"), serial, QStringLiteral("--out"),
                dir + QStringLiteral("/%1.pem").arg(serial) });
        INFO(issued.err.toStdString());
        REQUIRE(issued.exitCode == 0);
    }
}

/// The plant's schema, as its administrator makes it.
void migrate(const TestPostgres& pg)
{
    auto migrated = test::run(QStringLiteral(IMPRINT_CTL),
        { QStringLiteral("plant"), QStringLiteral("migrate"), QStringLiteral("--conninfo"), pg.adminConninfo() });
    INFO(migrated.out.toStdString() << migrated.err.toStdString());
    REQUIRE(migrated.exitCode == 0);
}

ProcessResult push(const PlantStation& s)
{
    return ctl(s.dataDir, { QStringLiteral("plant"), QStringLiteral("push") });
}

qint64 plantCount(const TestPostgres& pg, const QString& sql)
{
    auto r = pg.psql(sql);
    INFO(r.err.toStdString());
    REQUIRE(r.exitCode == 0);
    return r.out.toLongLong();
}

} // namespace imprint::test
