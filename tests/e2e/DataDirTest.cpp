// A data directory that moves: after mv, and after cp -a with the original removed, the
// station works where it is, on its own token and records, and a station.ini written with
// absolute paths (before they were kept relative) is read as this directory's and written
// again. A module that does not start is an error in plain words, never a crash.

#include "TestSupport.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QThread>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);

QByteArray readAll(const QString& path)
{
    QFile f(path);
    REQUIRE(f.open(QIODevice::ReadOnly));
    return f.readAll();
}

/// A few certificates from request files, so the directory has records and audit entries.
void issueSome(const QString& dataDir, const QString& prefix)
{
    QTemporaryDir requests;
    REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                { QStringLiteral("--out"), requests.path(), QStringLiteral("--count"), QStringLiteral("3"),
                    QStringLiteral("--serial-prefix"), prefix })
                .exitCode
        == 0);
    auto r = test::run(Ctl,
        { QStringLiteral("sign-batch"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--in"), requests.path(),
            QStringLiteral("--out"), requests.filePath(QStringLiteral("b.p7b")) });
    INFO(r.err.toStdString());
    REQUIRE(r.exitCode == 0);
}

void worksHere(const QString& dataDir, const QString& gone, const QString& prefix)
{
    auto ca = test::run(Ctl, { QStringLiteral("ca"), QStringLiteral("show"), QStringLiteral("--data-dir"), dataDir });
    INFO(ca.out.toStdString() + ca.err.toStdString());
    CHECK(ca.exitCode == 0);
    auto audit
        = test::run(Ctl, { QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--data-dir"), dataDir });
    INFO(audit.out.toStdString() + audit.err.toStdString());
    CHECK(audit.exitCode == 0);
    issueSome(dataDir, prefix);
    // Nothing of the place it came from is named any more.
    CHECK_FALSE(readAll(dataDir + QStringLiteral("/station.ini")).contains(QFile::encodeName(gone)));
    CHECK(readAll(dataDir + QStringLiteral("/softhsm2.conf"))
              .contains("directories.tokendir = " + QFile::encodeName(dataDir) + "/tokens\n"));
}

} // namespace

TEST_CASE("A data directory moved with mv, or copied with cp -a and the original removed, works where it is")
{
    QTemporaryDir tmp;
    const QString a = tmp.filePath(QStringLiteral("a"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), a }).exitCode == 0);
    // Settings name the directory's own files relative to it.
    const QByteArray ini = readAll(a + QStringLiteral("/station.ini"));
    CHECK(ini.contains("softhsm2-conf=softhsm2.conf"));
    CHECK(ini.contains("pin-source=file:secrets/user.pin"));
    issueSome(a, QStringLiteral("A"));

    const QString b = tmp.filePath(QStringLiteral("b"));
    REQUIRE(QDir().rename(a, b));
    worksHere(b, a, QStringLiteral("B"));

    const QString c = tmp.filePath(QStringLiteral("c"));
    REQUIRE(test::run(QStringLiteral("cp"), { QStringLiteral("-a"), b, c }).exitCode == 0);
    REQUIRE(QDir(b).removeRecursively());
    worksHere(c, b, QStringLiteral("C"));
}

TEST_CASE("A station.ini with the absolute paths of where it was made is read as the copy's own, and rewritten")
{
    QTemporaryDir tmp;
    const QString original = tmp.filePath(QStringLiteral("original"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), original }).exitCode == 0);
    issueSome(original, QStringLiteral("O"));
    // As an earlier Imprint wrote it: absolute paths into the directory.
    QByteArray ini = readAll(original + QStringLiteral("/station.ini"));
    ini.replace("softhsm2-conf=softhsm2.conf", "softhsm2-conf=" + QFile::encodeName(original) + "/softhsm2.conf");
    ini.replace(
        "pin-source=file:secrets/user.pin", "pin-source=file:" + QFile::encodeName(original) + "/secrets/user.pin");
    {
        QFile f(original + QStringLiteral("/station.ini"));
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(ini);
    }
    const QString copy = tmp.filePath(QStringLiteral("copy"));
    REQUIRE(test::run(QStringLiteral("cp"), { QStringLiteral("-a"), original, copy }).exitCode == 0);
    REQUIRE(QDir(original).removeRecursively());
    worksHere(copy, original, QStringLiteral("COPY"));
    CHECK(readAll(copy + QStringLiteral("/station.ini")).contains("softhsm2-conf=softhsm2.conf"));
}

TEST_CASE("A PKCS#11 module that does not start is refused in plain words, not a crash")
{
    QTemporaryDir tmp;
    const QString dir = tmp.filePath(QStringLiteral("station"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dir }).exitCode == 0);
    // A SoftHSM2 configuration of its own that names a token directory which is not there.
    const QString conf = tmp.filePath(QStringLiteral("elsewhere.conf"));
    {
        QFile f(conf);
        REQUIRE(f.open(QIODevice::WriteOnly));
        f.write("directories.tokendir = " + QFile::encodeName(tmp.filePath(QStringLiteral("no-such-dir"))) + "\n");
    }
    QByteArray ini = readAll(dir + QStringLiteral("/station.ini"));
    ini.replace("softhsm2-conf=softhsm2.conf", "softhsm2-conf=" + QFile::encodeName(conf));
    {
        QFile f(dir + QStringLiteral("/station.ini"));
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(ini);
    }
    auto ca = test::run(Ctl, { QStringLiteral("ca"), QStringLiteral("show"), QStringLiteral("--data-dir"), dir });
    INFO(ca.err.toStdString());
    CHECK(ca.exitCode == 1);
    CHECK(ca.err.contains("could not be started"));
}

TEST_CASE("A line of station.ini that does not parse, or a key the station does not know, is refused by its number")
{
    QTemporaryDir tmp;
    const QString dir = tmp.filePath(QStringLiteral("station"));
    REQUIRE(test::run(Ctl, { QStringLiteral("init"), QStringLiteral("--data-dir"), dir }).exitCode == 0);
    const QString ini = dir + QStringLiteral("/station.ini");
    const QByteArray good = readAll(ini);
    const int lines = static_cast<int>(good.count('\n'));
    auto withTail = [&](const QByteArray& tail) {
        QFile f(ini);
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(good + tail);
        f.close();
        return test::run(Ctl, { QStringLiteral("ca"), QStringLiteral("show"), QStringLiteral("--data-dir"), dir });
    };
    auto garbage = withTail("this is not a setting\n");
    CHECK(garbage.exitCode == 2);
    CHECK(garbage.err.contains(QStringLiteral("line %1:").arg(lines + 1).toUtf8()));
    auto misspelt = withTail("[timeouts]\nidentfy-ms = 100\n");
    CHECK(misspelt.exitCode == 2);
    CHECK(misspelt.err.contains("\"identfy-ms\" is not a setting of [timeouts]"));
    auto section = withTail("[upstrem]\nurl = http://x\n");
    CHECK(section.exitCode == 2);
    CHECK(section.err.contains("[upstrem] is not a section"));
    // Comments and blank lines are fine; so is a known key.
    auto fine = withTail("\n; a comment\n# another\n[timeouts]\nidentify-ms = 4000\n");
    INFO(fine.err.toStdString());
    CHECK(fine.exitCode == 0);
    // Nothing was changed by the refusals: the file is as the person left it.
    CHECK(readAll(ini).endsWith("identify-ms = 4000\n"));
}

TEST_CASE("A backup taken while the station runs restores to a station that works, a damaged one changes nothing")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    issueSome(dataDir, QStringLiteral("BK"));
    const QString archive = tmp.filePath(QStringLiteral("station-backup.tar.gz"));
    {
        // A line runs while the backup is taken.
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("8"), QStringLiteral("--serial-prefix"),
            QStringLiteral("RUN"), QStringLiteral("--link-dir"), tmp.path() });
        QProcess line;
        line.start(
            Ctl, QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir } + sim.portArgs());
        REQUIRE(line.waitForStarted());
        QThread::msleep(400);
        auto b = test::ctl(dataDir, { QStringLiteral("backup"), QStringLiteral("--out"), archive });
        INFO(b.out.toStdString() << b.err.toStdString());
        REQUIRE(b.exitCode == 0);
        REQUIRE(line.waitForFinished(60000));
        CHECK(line.exitCode() == 0);
    }
    // No secret went in.
    auto listing = test::run(QStringLiteral("tar"), { QStringLiteral("tzf"), archive });
    REQUIRE(listing.exitCode == 0);
    CHECK(listing.out.contains("imprint.sqlite"));
    CHECK(listing.out.contains("MANIFEST.json"));
    CHECK(listing.out.contains("tokens/"));
    CHECK_FALSE(listing.out.contains("secrets/"));

    // Restored into a new folder, given its PIN file back: intact, and a working station.
    const QString restored = tmp.filePath(QStringLiteral("restored"));
    auto r = test::ctl(restored, { QStringLiteral("restore"), QStringLiteral("--in"), archive });
    INFO(r.out.toStdString() << r.err.toStdString());
    REQUIRE(r.exitCode == 0);
    CHECK(r.out.contains("PIN file back"));
    REQUIRE(QDir().mkpath(restored + QStringLiteral("/secrets")));
    REQUIRE(QFile::copy(dataDir + QStringLiteral("/secrets/user.pin"), restored + QStringLiteral("/secrets/user.pin")));
    QFile::setPermissions(
        restored + QStringLiteral("/secrets/user.pin"), QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    CHECK(test::ctl(restored, { QStringLiteral("audit"), QStringLiteral("verify") }).exitCode == 0);
    CHECK(
        test::ctl(restored, { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("BK-000001") })
            .exitCode
        == 0);
    {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("1"), QStringLiteral("--serial-prefix"),
            QStringLiteral("AFTER"), QStringLiteral("--link-dir"), tmp.path() });
        auto prov = test::ctl(restored, QStringList { QStringLiteral("provision") } + sim.portArgs());
        INFO(prov.out.toStdString() << prov.err.toStdString());
        CHECK(prov.exitCode == 0);
    }
    CHECK(test::ctl(restored, { QStringLiteral("audit"), QStringLiteral("verify") }).exitCode == 0);
    // The original is untouched by the copy's work.
    CHECK(
        test::ctl(dataDir, { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("AFTER-0001") })
            .exitCode
        == 3);

    // Not over a folder with something in it, unless --force (which keeps its secrets/).
    auto refused = test::ctl(restored, { QStringLiteral("restore"), QStringLiteral("--in"), archive });
    CHECK(refused.exitCode == 2);
    CHECK(refused.err.contains("not empty"));
    auto forced = test::ctl(
        restored, { QStringLiteral("restore"), QStringLiteral("--in"), archive, QStringLiteral("--force") });
    CHECK(forced.exitCode == 0);
    CHECK(QFile::exists(restored + QStringLiteral("/secrets/user.pin")));
    CHECK(
        test::ctl(restored, { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("AFTER-0001") })
            .exitCode
        == 3); // restoring the older snapshot loses what came after it

    // A damaged archive (a byte changed, or cut short) restores nothing.
    const QByteArray whole = readAll(archive);
    for (const QByteArray& bad :
        { QByteArray(whole).replace(whole.size() / 2, 1, "\x5a"), whole.left(whole.size() / 2) }) {
        QFile f(tmp.filePath(QStringLiteral("bad.tar.gz")));
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(bad);
        f.close();
        const QString target = tmp.filePath(QStringLiteral("from-bad"));
        auto d = test::ctl(target, { QStringLiteral("restore"), QStringLiteral("--in"), f.fileName() });
        INFO(d.err.toStdString());
        CHECK(d.exitCode == 2);
        CHECK(d.err.contains("nothing was restored"));
        CHECK_FALSE(QFileInfo::exists(target));
    }
}

TEST_CASE("A damaged store is said to be damaged, with what to do, and is left as it is")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    issueSome(dataDir, QStringLiteral("DMG"));
    const QString store = dataDir + QStringLiteral("/imprint.sqlite");
    {
        QFile f(store);
        REQUIRE(f.open(QIODevice::ReadWrite));
        f.write("this is no database at all"); // over SQLite's header
    }
    const QByteArray damaged = readAll(store);
    for (const QStringList& args :
        { QStringList { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("DMG-000001") },
            QStringList { QStringLiteral("audit"), QStringLiteral("verify") }, QStringList { QStringLiteral("outbox") },
            QStringList { QStringLiteral("upstream"), QStringLiteral("status") },
            QStringList { QStringLiteral("issue"), QStringLiteral("--csr"), QStringLiteral("/nonexistent"),
                QStringLiteral("--device-serial"), QStringLiteral("X") } }) {
        auto r = test::ctl(dataDir, args);
        INFO(args.join(u' ').toStdString() << ": " << r.err.toStdString());
        CHECK(r.exitCode != 0);
        CHECK(r.exitCode != -1); // no crash
        if (!args.contains(QStringLiteral("issue")))
            CHECK(r.err.contains("is damaged (it is not a database)"));
    }
    CHECK(readAll(store) == damaged);
}

TEST_CASE("A station takes an id on its first start, in station.ini and its store; one from before ids is claimed")
{
    QTemporaryDir tmp;
    const QString dir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dir);
    issueSome(dir, QStringLiteral("ID"));
    auto idIn = [&](const QString& ini) {
        for (const QByteArray& line : readAll(ini).split('\n'))
            if (line.startsWith("id="))
                return QString::fromLatin1(line.mid(3).trimmed());
        return QString();
    };
    const QString id = idIn(dir + QStringLiteral("/station.ini"));
    CHECK(id.size() == 36); // a UUID
    auto stored = [&] { return test::query(dir, QStringLiteral("SELECT id FROM station")).value(0); };
    CHECK(stored() == id);

    // A station from before ids: neither station.ini nor the store has one. Its next start
    // makes one and writes it to both; its records are kept.
    test::tamper(dir + QStringLiteral("/imprint.sqlite"), QStringLiteral("DELETE FROM station"));
    QByteArray ini = readAll(dir + QStringLiteral("/station.ini"));
    ini.replace("id=" + id.toLatin1() + "\n", "");
    {
        QFile f(dir + QStringLiteral("/station.ini"));
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(ini);
    }
    REQUIRE(idIn(dir + QStringLiteral("/station.ini")).isEmpty());
    issueSome(dir, QStringLiteral("ID2"));
    const QString made = idIn(dir + QStringLiteral("/station.ini"));
    CHECK(made.size() == 36);
    CHECK(made != id);
    CHECK(stored() == made);
    auto shown
        = test::ctl(dir, { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("ID-000001") });
    CHECK(shown.exitCode == 0);
}

TEST_CASE("After the programs are upgraded, a command that only reads migrates the store first")
{
    QTemporaryDir tmp;
    const QString dir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dir);
    issueSome(dir, QStringLiteral("UPG"));
    const QString db = dir + QStringLiteral("/imprint.sqlite");
    auto list = [&] {
        return test::run(Ctl,
            { QStringLiteral("show"), QStringLiteral("--data-dir"), dir, QStringLiteral("--device-serial"),
                QStringLiteral("UPG-000001"), QStringLiteral("--json") });
    };
    const QByteArray before = list().out;
    REQUIRE(before.contains("UPG-000001"));
    auto schema = [&] { return test::query(dir, QStringLiteral("PRAGMA user_version")).value(0).toInt(); };
    const int latest = schema();
    // As the release before station ids left its store.
    test::tamper(db, QStringLiteral("DROP TABLE station; PRAGMA user_version = %1").arg(latest - 1));

    auto r = list();
    INFO(r.err.toStdString());
    CHECK(r.exitCode == 0);
    CHECK(r.out == before);
    CHECK(schema() == latest);
}
