// What a person reads when something is wrong: each message names the real cause and the
// next act, asserted by its code (exit status, failure code) and its key words.

#include "TestSupport.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);

test::ProcessResult runWithEnv(const QStringList& args, const QString& name, const QString& value)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(name, value);
    p.setProcessEnvironment(env);
    p.start(Ctl, args);
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished();
    }
    return { p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
        p.readAllStandardError() };
}

void replaceInFile(const QString& path, const QByteArray& from, const QByteArray& to)
{
    QFile f(path);
    REQUIRE(f.open(QIODevice::ReadOnly));
    QByteArray text = f.readAll();
    f.close();
    REQUIRE(text.contains(from));
    text.replace(from, to);
    REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(text);
}

} // namespace

TEST_CASE("A data directory that does not exist is said not to exist, with the stations there are, and is not made")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    const QString typo = tmp.filePath(QStringLiteral("statoin"));
    auto r = runWithEnv(
        { QStringLiteral("list"), QStringLiteral("--data-dir"), typo }, QStringLiteral("IMPRINT_DATA_DIR"), dataDir);
    CHECK(r.exitCode == 3);
    CHECK(r.err.contains("does not exist"));
    CHECK(r.err.contains(dataDir.toUtf8())); // the station it probably meant
    CHECK_FALSE(r.err.contains("imprintctl init"));
    CHECK_FALSE(QFileInfo::exists(typo));
}

TEST_CASE("A number in station.ini that is not one is refused with its line and what to write")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    const QString ini = dataDir + QStringLiteral("/station.ini");
    replaceInFile(ini, "identify-ms=1500", "identify-ms = 5s");
    QFile f(ini);
    REQUIRE(f.open(QIODevice::ReadOnly));
    const QList<QByteArray> lines = f.readAll().split('\n');
    int line = 0;
    for (int i = 0; i < lines.size(); ++i)
        line = lines[i].startsWith("identify-ms") ? i + 1 : line;
    REQUIRE(line > 0);
    auto r = test::ctl(dataDir, { QStringLiteral("list") });
    CHECK(r.exitCode == 2);
    CHECK(r.err.contains(
        QStringLiteral("line %1: [timeouts] identify-ms = 5s is not a whole number").arg(line).toUtf8()));
    CHECK(r.err.contains("5 s is 5000"));
}

TEST_CASE("A wrong PIN in the PIN file says what the token says and which file it came from")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    const QString pinFile = dataDir + QStringLiteral("/secrets/user.pin");
    REQUIRE(QFileInfo::exists(pinFile));
    QFile f(pinFile);
    REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write("000000-wrong\n");
    f.close();
    auto r = test::ctl(dataDir, { QStringLiteral("ca"), QStringLiteral("show") });
    CHECK(r.exitCode != 0);
    CHECK(r.err.contains("refused the PIN"));
    CHECK(r.err.contains((QStringLiteral("read from ") + pinFile).toUtf8()));
    CHECK_FALSE(r.err.contains("few tries are left"));
}

TEST_CASE("A request file that does not parse is spoken of as a file, and a backup into a missing folder says so")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    const QString garbage = tmp.filePath(QStringLiteral("request.txt"));
    {
        QFile f(garbage);
        REQUIRE(f.open(QIODevice::WriteOnly));
        f.write("this is a shopping list, not a request\n");
    }
    auto issued = test::ctl(dataDir,
        { QStringLiteral("issue"), QStringLiteral("--csr"), garbage, QStringLiteral("--device-serial"),
            QStringLiteral("FILE-1"), QStringLiteral("--out"), tmp.filePath(QStringLiteral("cert.pem")) });
    CHECK(issued.exitCode != 0);
    CHECK(issued.err.contains(
        (QStringLiteral("The file ") + garbage + QStringLiteral(" is not a certificate request")).toUtf8()));
    CHECK(issued.err.contains("code: malformed"));
    CHECK_FALSE(issued.err.contains("The device sent"));

    const QString missing = tmp.filePath(QStringLiteral("no-such-folder"));
    auto backup
        = test::ctl(dataDir, { QStringLiteral("backup"), QStringLiteral("--out"), missing + QStringLiteral("/b.tar") });
    CHECK(backup.exitCode == 3);
    CHECK(backup.err.contains((QStringLiteral("The folder ") + missing + QStringLiteral(" does not exist")).toUtf8()));
    CHECK(backup.err.contains("mkdir -p"));
}

TEST_CASE("A hint printed as a command names the station it was printed for")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    auto keygen = test::ctl(dataDir,
        { QStringLiteral("ca"), QStringLiteral("keygen"), QStringLiteral("--label"), QStringLiteral("line-ca-2"),
            QStringLiteral("--type"), QStringLiteral("ec-p256") });
    INFO(keygen.err.toStdString());
    REQUIRE(keygen.exitCode == 0);
    CHECK(keygen.out.contains((QStringLiteral("imprintctl ca csr --data-dir ") + dataDir).toUtf8()));
    CHECK(keygen.out.contains((QStringLiteral("imprintctl ca import --data-dir ") + dataDir).toUtf8()));
    auto ra = test::ctl(
        dataDir, { QStringLiteral("ra"), QStringLiteral("keygen"), QStringLiteral("--label"), QStringLiteral("ra-1") });
    INFO(ra.err.toStdString());
    REQUIRE(ra.exitCode == 0);
    CHECK(ra.out.contains((QStringLiteral("imprintctl ra csr --data-dir ") + dataDir).toUtf8()));
}

TEST_CASE("A device that does not answer says the time really waited, and a refusal is a sentence with advice")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    test::DevSim silent({ QStringLiteral("--serial"), QStringLiteral("MSG-1"), QStringLiteral("--fault"),
        QStringLiteral("silent"), QStringLiteral("--link-dir"), tmp.path() });
    test::DevSim refusing({ QStringLiteral("--serial"), QStringLiteral("MSG-2"), QStringLiteral("--fault"),
        QStringLiteral("refuse-cert"), QStringLiteral("--link-dir"), tmp.path() });
    auto prov = test::run(Ctl,
        QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
            + silent.portArgs() + refusing.portArgs());
    QMap<QString, QString> reasons;
    for (const QJsonObject& r : test::jsonLines(prov.out))
        reasons[r[QStringLiteral("code")].toString()] = r[QStringLiteral("reason")].toString();
    // station.ini: identify-ms 1500, attempts 2: about 3 s in all, and it says so.
    const QString timeout = reasons.value(QStringLiteral("timeout"));
    INFO(timeout.toStdString());
    CHECK(timeout.contains(QStringLiteral("did not answer \"identify\" in 3.")));
    CHECK(timeout.contains(QStringLiteral("asked 2 times, 1.5 s each")));
    const QString refused = reasons.value(QStringLiteral("refused"));
    INFO(refused.toStdString());
    CHECK(refused.startsWith(QStringLiteral("The device refused \"install-cert\"")));
    CHECK(refused.contains(QStringLiteral("press Retry once")));
    CHECK(refused.contains(QStringLiteral(". Its secure element declined")));
}

TEST_CASE("The command line follows the conventions: help on stdout, usage per command, a mistyped word suggested")
{
    auto top = test::run(Ctl, { QStringLiteral("--help") });
    CHECK(top.exitCode == 0);
    CHECK(top.out.contains("commands:"));
    CHECK(top.err.isEmpty());
    // Every command's help: on stdout, its own usage line, none of Qt's own options.
    QStringList commands;
    bool inList = false;
    for (const QByteArray& line : top.out.split('\n')) {
        if (line == "commands:") {
            inList = true;
            continue;
        }
        if (inList && line.startsWith("  ") && line.size() > 2 && line[2] != ' ')
            commands << QString::fromUtf8(line.mid(2)).section(QStringLiteral("  "), 0, 0).trimmed();
        else if (inList && line.isEmpty())
            inList = false;
    }
    REQUIRE(commands.size() > 20);
    for (const QString& command : commands) {
        INFO(command.toStdString());
        auto help = test::run(Ctl, command.split(u' ') + QStringList { QStringLiteral("--help") });
        CHECK(help.exitCode == 0);
        CHECK(help.out.startsWith(("Usage: imprintctl " + command.toUtf8() + ' ')));
        CHECK_FALSE(help.out.contains("--help-all"));
    }
    auto group = test::run(Ctl, { QStringLiteral("ca"), QStringLiteral("--help") });
    CHECK(group.exitCode == 0);
    CHECK(group.out.contains("imprintctl ca keygen"));

    auto option = test::run(Ctl, { QStringLiteral("list"), QStringLiteral("--sinse"), QStringLiteral("2026-12-01") });
    CHECK(option.exitCode == 2);
    CHECK(option.err.contains("unknown option --sinse; did you mean --since?"));
    auto typo = test::run(Ctl, { QStringLiteral("lsit") });
    CHECK(typo.exitCode == 2);
    CHECK(typo.err.contains("did you mean \"list\"?"));
    CHECK_FALSE(typo.err.contains("commands:")); // not the whole help
    auto sub = test::run(Ctl, { QStringLiteral("ca"), QStringLiteral("kegen") });
    CHECK(sub.exitCode == 2);
    CHECK(sub.err.contains("did you mean \"ca keygen\"?"));
}

TEST_CASE("The window with no slot and --exit-when-done has nothing to wait for, and says so")
{
    QTemporaryDir tmp;
    const QString dataDir = test::quickStation(tmp);
    QProcess gui;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    gui.setProcessEnvironment(env);
    gui.start(QStringLiteral(IMPRINT_GUI),
        { QStringLiteral("--data-dir"), dataDir, QStringLiteral("--exit-when-done"), QStringLiteral("--operator"),
            QStringLiteral("ann") });
    const bool ended = gui.waitForFinished(30000);
    if (!ended)
        gui.kill();
    REQUIRE(ended);
    CHECK(gui.exitCode() == 0);
    CHECK(gui.readAllStandardError().contains("the line has no slot"));
}
