// A corpus of broken set-ups, each a copy of a working data directory with one thing wrong,
// run through ca show, provision, show, audit verify and the window at start: the command
// that needs the broken part refuses it in plain words naming it, with its exit status;
// none crashes; and nothing in the directory is changed.

#include "TestSupport.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

#include <functional>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);

/// Every file of a data directory with its SHA-256; SQLite's and SoftHSM2's lock, WAL and
/// shared-memory files (which opening makes) and the token's own files left out.
QMap<QString, QByteArray> snapshot(const QString& dir)
{
    QMap<QString, QByteArray> files;
    QDirIterator it(dir, QDir::Files | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        // The token's own files are the HSM's state (SoftHSM2 keeps its login bookkeeping there).
        if (path.endsWith(QLatin1String(".lock")) || path.endsWith(QLatin1String("-wal"))
            || path.endsWith(QLatin1String("-shm"))
            || QDir(dir).relativeFilePath(path).startsWith(QLatin1String("tokens/")))
            continue;
        QFile f(path);
        if (f.open(QIODevice::ReadOnly))
            files.insert(
                QDir(dir).relativeFilePath(path), QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256));
    }
    return files;
}

void edit(const QString& file, const std::function<QByteArray(QByteArray)>& change)
{
    QFile f(file);
    REQUIRE(f.open(QIODevice::ReadOnly));
    const QByteArray changed = change(f.readAll());
    f.close();
    REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(changed);
}

enum Needs { Hsm = 1, Settings = 2, Store = 4 };

struct Broken {
    const char* name;
    int needs; ///< which commands must refuse: those that use the broken part
    const char* says; ///< in the refusal
    std::function<void(const QString& dir)> damage;
};

} // namespace

TEST_CASE("Broken set-ups: each refused in plain words by the commands that need it, none crashes, nothing changes")
{
    QTemporaryDir tmp;
    const QString base = tmp.filePath(QStringLiteral("base"));
    test::initQuickStation(base);
    {
        QTemporaryDir requests;
        REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                    { QStringLiteral("--out"), requests.path(), QStringLiteral("--count"), QStringLiteral("2"),
                        QStringLiteral("--serial-prefix"), QStringLiteral("OK") })
                    .exitCode
            == 0);
        REQUIRE(test::ctl(base,
                    { QStringLiteral("sign-batch"), QStringLiteral("--in"), requests.path(), QStringLiteral("--out"),
                        requests.filePath(QStringLiteral("b.p7b")) })
                    .exitCode
            == 0);
    }
    auto ini = [](const QString& dir) { return dir + QStringLiteral("/station.ini"); };
    auto replaceIn = [&](const QString& from, const QString& to) {
        return [=](const QString& dir) {
            edit(ini(dir), [&](QByteArray s) { return s.replace(from.toUtf8(), to.toUtf8()); });
        };
    };
    const QList<Broken> corpus {
        { "module missing", Hsm, "could not be started",
            [&](const QString& dir) {
                QSettings s(ini(dir), QSettings::IniFormat);
                s.setValue(QStringLiteral("hsm/module"), QStringLiteral("/nonexistent/libpkcs11.so"));
            } },
        { "module is not a PKCS#11 module", Hsm, "could not be started",
            [&](const QString& dir) {
                QSettings s(ini(dir), QSettings::IniFormat);
                s.setValue(QStringLiteral("hsm/module"), QStringLiteral("/lib/x86_64-linux-gnu/libz.so.1"));
            } },
        { "token directory missing", Hsm, "could not be started",
            [](const QString& dir) { QDir(dir + QStringLiteral("/tokens")).removeRecursively(); } },
        { "token without the CA key", Hsm, "holds no key labelled",
            replaceIn(QStringLiteral("object=imprint-issuing-ca"), QStringLiteral("object=no-such-key")) },
        { "CA key without its certificate", Hsm, "does not belong to the key",
            [](const QString& dir) {
                REQUIRE(test::ctl(dir,
                            { QStringLiteral("ca"), QStringLiteral("keygen"), QStringLiteral("--label"),
                                QStringLiteral("new-ca") })
                            .exitCode
                    == 0);
            } },
        { "chain missing", Hsm, "chain.pem is missing",
            [](const QString& dir) { QFile::remove(dir + QStringLiteral("/ca/chain.pem")); } },
        { "chain for another key", Hsm, "does not belong to the key",
            [](const QString& dir) {
                REQUIRE(QFile::remove(dir + QStringLiteral("/ca/chain.pem")));
                REQUIRE(QFile::copy(dir + QStringLiteral("/ca/root.pem"), dir + QStringLiteral("/ca/chain.pem")));
            } },
        { "PIN file missing", Hsm, "cannot be opened",
            [](const QString& dir) { QFile::remove(dir + QStringLiteral("/secrets/user.pin")); } },
        { "PIN file with loose permissions", Hsm, "may be read by others",
            [](const QString& dir) {
                QFile::setPermissions(dir + QStringLiteral("/secrets/user.pin"),
                    QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ReadOther);
            } },
        { "station.ini half-written", Hsm | Settings | Store, "station.ini",
            [&](const QString& dir) { edit(ini(dir), [](QByteArray s) { return s.left(20); }); } },
        { "station.ini with a line that does not parse", Hsm | Settings | Store, "line",
            [&](const QString& dir) { edit(ini(dir), [](QByteArray s) { return s + "this is not a setting\n"; }); } },
        { "station.ini with an unknown key", Hsm | Settings | Store, "identfy-ms",
            [&](const QString& dir) {
                edit(ini(dir), [](QByteArray s) { return s.replace("[timeouts]", "[timeouts]\nidentfy-ms=5000"); });
            } },
        { "store damaged", Store, "is damaged",
            [](const QString& dir) {
                QFile f(dir + QStringLiteral("/imprint.sqlite"));
                REQUIRE(f.open(QIODevice::ReadWrite));
                f.write("not a database, not at all");
            } },
        { "store is a folder", Store, "could not open",
            [](const QString& dir) {
                QFile::remove(dir + QStringLiteral("/imprint.sqlite"));
                QDir().mkpath(dir + QStringLiteral("/imprint.sqlite"));
            } },
        { "store from a newer Imprint", Store, "written by a newer Imprint",
            [](const QString& dir) {
                test::tamper(dir + QStringLiteral("/imprint.sqlite"), QStringLiteral("PRAGMA user_version = 99"));
            } },
    };
    REQUIRE(corpus.size() >= 15);

    for (const Broken& b : corpus) {
        DYNAMIC_SECTION(b.name)
        {
            QString folder = QString::fromLatin1(b.name);
            for (QChar& c : folder)
                if (!c.isLetterOrNumber())
                    c = u'-';
            const QString dir = tmp.filePath(folder);
            REQUIRE(test::run(QStringLiteral("cp"), { QStringLiteral("-a"), base, dir }).exitCode == 0);
            // The copy settles where it is first (its softhsm2.conf names its own tokens).
            const auto settled = test::ctl(dir, { QStringLiteral("ca"), QStringLiteral("show") });
            INFO(settled.err.toStdString());
            REQUIRE(settled.exitCode == 0);
            b.damage(dir);
            const auto before = snapshot(dir);
            struct Run {
                const char* what;
                int needs;
                test::ProcessResult result;
            };
            QList<Run> runs;
            runs.append(
                { "ca show", Hsm | Settings, test::ctl(dir, { QStringLiteral("ca"), QStringLiteral("show") }) });
            runs.append({ "provision", Hsm | Settings | Store,
                test::ctl(dir,
                    { QStringLiteral("provision"), QStringLiteral("--port"),
                        tmp.filePath(QStringLiteral("no-such-port")) }) });
            runs.append({ "show", Settings | Store,
                test::ctl(
                    dir, { QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("OK-000001") }) });
            runs.append({ "audit verify", Settings | Store,
                test::ctl(dir, { QStringLiteral("audit"), QStringLiteral("verify") }) });
            {
                QProcess window;
                QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
                env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
                window.setProcessEnvironment(env);
                window.start(QStringLiteral(IMPRINT_GUI),
                    { QStringLiteral("--data-dir"), dir, QStringLiteral("--exit-when-done") });
                REQUIRE(window.waitForFinished(30000));
                runs.append({ "window", Hsm | Settings | Store,
                    { window.exitStatus() == QProcess::NormalExit ? window.exitCode() : -1,
                        window.readAllStandardOutput(), window.readAllStandardError() } });
            }
            for (const Run& r : runs) {
                INFO(b.name << " / " << r.what << ": exit " << r.result.exitCode << "\n" << r.result.err.toStdString());
                CHECK(r.result.exitCode != -1); // never a crash
                if ((r.needs & b.needs) != 0
                    && (std::string(r.what) != "show" || (b.needs & (Settings | Store)) != 0)) {
                    // The command that uses the broken part refuses it, saying what is wrong.
                    const bool usesIt = (b.needs & Hsm && r.needs & Hsm) || (b.needs & Store && r.needs & Store)
                        || (b.needs & Settings && r.needs & Settings);
                    if (usesIt) {
                        CHECK(r.result.exitCode >= 1);
                        CHECK(r.result.exitCode <= 3);
                        CHECK(r.result.err.contains(b.says));
                    }
                }
            }
            const auto after = snapshot(dir);
            QStringList changed;
            for (auto it = after.begin(); it != after.end(); ++it)
                if (before.value(it.key()) != it.value())
                    changed << it.key();
            for (auto it = before.begin(); it != before.end(); ++it)
                if (!after.contains(it.key()))
                    changed << it.key();
            INFO(b.name << ": changed " << changed.join(QStringLiteral(", ")).toStdString());
            CHECK(changed.isEmpty()); // nothing changed
        }
    }
}
