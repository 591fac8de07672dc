// A corpus of broken set-ups, each a copy of a working data directory with one thing wrong,
// run through ca show, provision, show, audit verify and the window at start: the command
// that needs the broken part refuses it in plain words naming it, with its exit status;
// none crashes; and nothing in the directory is changed.
//
// The full disk is real: the copy sits on a small tmpfs, filled to the last byte, mounted
// in a mount namespace of the test's own (unshare; nsenter runs each command in it). That
// needs root, or unprivileged user namespaces that may mount a tmpfs (Debian's default);
// where neither is allowed the test fails saying so.

#include "TestSupport.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>

#include <optional>

#include <catch2/catch.hpp>

#include <functional>

#include <unistd.h>

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

enum Needs { Hsm = 1, Settings = 2, Store = 4, Writes = 8 };

struct Broken {
    const char* name;
    int needs; ///< which commands must refuse: those that use the broken part
    const char* says; ///< in the refusal
    std::function<void(const QString& dir)> damage;
    QStringList lineArgs = {}; ///< given to provision and the window
    bool onFullDisk = false; ///< the copy lives on a full disk (damage does nothing more)
};

/// A small tmpfs of its own, in a mount namespace that lives as long as the object. The
/// test reaches its files through /proc/PID/root; commands run in it through nsenter.
class FullDisk {
public:
    explicit FullDisk(const QString& mountPoint)
        : m_mountPoint(mountPoint)
    {
        QDir().mkpath(mountPoint);
        const bool root = ::geteuid() == 0;
        QStringList args;
        if (!root)
            args << QStringLiteral("--user") << QStringLiteral("--map-root-user");
        args << QStringLiteral("--mount") << QStringLiteral("--propagation") << QStringLiteral("private")
             << QStringLiteral("sh") << QStringLiteral("-c")
             << QStringLiteral("mount -t tmpfs -o size=16m imprint-full \"$0\" && echo mounted && exec sleep 3600")
             << mountPoint;
        m_holder.start(QStringLiteral("unshare"), args);
        REQUIRE(m_holder.waitForStarted(10000));
        m_holder.waitForReadyRead(10000);
        INFO("a tmpfs in a mount namespace of the test's own (unshare --mount, as root or in a user namespace): "
            << m_holder.readAllStandardError().toStdString());
        REQUIRE(m_holder.readAllStandardOutput().trimmed() == "mounted");
        m_enter = { QStringLiteral("-t"), QString::number(m_holder.processId()) };
        if (!root)
            m_enter << QStringLiteral("--user") << QStringLiteral("--preserve-credentials");
        m_enter << QStringLiteral("--mount") << QStringLiteral("--");
    }
    ~FullDisk()
    {
        m_holder.kill();
        m_holder.waitForFinished(5000);
    }
    /// `program args` run inside, to completion.
    test::ProcessResult run(const QString& program, const QStringList& args,
        const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment()) const
    {
        QProcess p;
        p.setProcessEnvironment(env);
        p.start(QStringLiteral("nsenter"), m_enter + QStringList { program } + args);
        if (!p.waitForStarted(10000) || !p.waitForFinished(60000)) {
            p.kill();
            p.waitForFinished();
            return {};
        }
        return { p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
            p.readAllStandardError() };
    }
    /// Fills the disk to its last byte.
    void fill() const
    {
        run(QStringLiteral("sh"),
            { QStringLiteral("-c"), QStringLiteral("cat /dev/zero > \"$0/filler\""), m_mountPoint });
        auto df = run(QStringLiteral("df"), { QStringLiteral("--output=avail"), QStringLiteral("-B1"), m_mountPoint });
        INFO(df.out.toStdString());
        REQUIRE(df.out.split('\n').value(1).trimmed() == "0");
    }
    /// Where the test sees a path inside.
    QString outside(const QString& inside) const
    {
        return QStringLiteral("/proc/%1/root%2").arg(m_holder.processId()).arg(inside);
    }

private:
    QString m_mountPoint;
    QProcess m_holder;
    QStringList m_enter;
};

} // namespace

TEST_CASE("Broken set-ups: each refused in plain words by the commands that need it, none crashes, nothing changes")
{
    QTemporaryDir tmp;
    const QString base = tmp.filePath(QStringLiteral("base"));
    // A working station with a few records (another one is made in the same way where a
    // mix-up brings its store here).
    auto makeStation = [](const QString& station) {
        test::initQuickStation(station);
        QTemporaryDir requests;
        REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                    { QStringLiteral("--out"), requests.path(), QStringLiteral("--count"), QStringLiteral("2"),
                        QStringLiteral("--serial-prefix"), QStringLiteral("OK") })
                    .exitCode
            == 0);
        REQUIRE(test::ctl(station,
                    { QStringLiteral("sign-batch"), QStringLiteral("--in"), requests.path(), QStringLiteral("--out"),
                        requests.filePath(QStringLiteral("b.p7b")) })
                    .exitCode
            == 0);
    };
    makeStation(base);
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
        { "store from another station", Store, "belongs to another station",
            [&](const QString& dir) {
                const QString other = tmp.filePath(QStringLiteral("other"));
                makeStation(other);
                REQUIRE(QFile::remove(dir + QStringLiteral("/imprint.sqlite")));
                REQUIRE(
                    QFile::copy(other + QStringLiteral("/imprint.sqlite"), dir + QStringLiteral("/imprint.sqlite")));
            } },
        { "station.ini unreadable", Hsm | Settings | Store, "station.ini",
            [&](const QString& dir) {
                // A folder in its place: unreadable even to root.
                REQUIRE(QFile::remove(ini(dir)));
                REQUIRE(QDir().mkpath(ini(dir)));
            } },
        { "profile of the lot vanished", Writes, "no profile \"sensor\"",
            [](const QString& dir) {
                const QString profile = dir + QStringLiteral("/profiles/sensor.json");
                REQUIRE(QDir().mkpath(dir + QStringLiteral("/profiles")));
                QFile f(profile);
                REQUIRE(f.open(QIODevice::WriteOnly));
                f.write(R"({ "name": "sensor", "subject": { "O": "Acme Devices", "CN": "Acme Sensor" } })");
                f.close();
                REQUIRE(test::ctl(dir,
                            { QStringLiteral("lot"), QStringLiteral("create"), QStringLiteral("--id"),
                                QStringLiteral("WO-7"), QStringLiteral("--expected"), QStringLiteral("10"),
                                QStringLiteral("--profile"), QStringLiteral("sensor") })
                            .exitCode
                    == 0);
                REQUIRE(QFile::remove(profile));
            },
            { QStringLiteral("--lot"), QStringLiteral("WO-7") } },
        { "disk full", Store | Writes, "disk holding", [](const QString&) {}, {}, true },
    };
    REQUIRE(corpus.size() >= 19);

    for (const Broken& b : corpus) {
        DYNAMIC_SECTION(b.name)
        {
            QString folder = QString::fromLatin1(b.name);
            for (QChar& c : folder)
                if (!c.isLetterOrNumber())
                    c = u'-';
            std::optional<FullDisk> disk;
            if (b.onFullDisk)
                disk.emplace(tmp.filePath(QStringLiteral("full-disk")));
            const QString dir = disk ? tmp.filePath(QStringLiteral("full-disk/station")) : tmp.filePath(folder);
            // What the test reads and damages: the copy as the commands see it.
            const QString seen = disk ? disk->outside(dir) : dir;
            auto runIn = [&](const QString& program, const QStringList& args,
                             const QProcessEnvironment& env = QProcessEnvironment::systemEnvironment()) {
                if (disk)
                    return disk->run(program, args, env);
                QProcess p;
                p.setProcessEnvironment(env);
                p.start(program, args);
                if (!p.waitForFinished(60000)) {
                    p.kill();
                    p.waitForFinished();
                }
                return test::ProcessResult { p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                    p.readAllStandardOutput(), p.readAllStandardError() };
            };
            auto ctlIn = [&](QStringList args) { return runIn(Ctl, args << QStringLiteral("--data-dir") << dir); };
            REQUIRE(runIn(QStringLiteral("cp"), { QStringLiteral("-a"), base, dir }).exitCode == 0);
            // The copy settles where it is first (its softhsm2.conf names its own tokens).
            const auto settled = ctlIn({ QStringLiteral("ca"), QStringLiteral("show") });
            INFO(settled.err.toStdString());
            REQUIRE(settled.exitCode == 0);
            b.damage(seen);
            if (disk)
                disk->fill();
            const auto before = snapshot(seen);
            struct Run {
                const char* what;
                int needs;
                test::ProcessResult result;
            };
            QList<Run> runs;
            runs.append({ "ca show", Hsm | Settings, ctlIn({ QStringLiteral("ca"), QStringLiteral("show") }) });
            runs.append({ "provision", Hsm | Settings | Store | Writes,
                ctlIn(QStringList { QStringLiteral("provision"), QStringLiteral("--port"),
                          tmp.filePath(QStringLiteral("no-such-port")) }
                    + b.lineArgs) });
            runs.append({ "show", Settings | Store,
                ctlIn({ QStringLiteral("show"), QStringLiteral("--device-serial"), QStringLiteral("OK-000001") }) });
            runs.append(
                { "audit verify", Settings | Store, ctlIn({ QStringLiteral("audit"), QStringLiteral("verify") }) });
            {
                QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
                env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
                runs.append({ "window", Hsm | Settings | Store | Writes,
                    runIn(QStringLiteral(IMPRINT_GUI),
                        QStringList { QStringLiteral("--data-dir"), dir, QStringLiteral("--exit-when-done") }
                            + b.lineArgs,
                        env) });
            }
            for (const Run& r : runs) {
                INFO(b.name << " / " << r.what << ": exit " << r.result.exitCode << "\n" << r.result.err.toStdString());
                CHECK(r.result.exitCode != -1); // never a crash
                if ((r.needs & b.needs) != 0
                    && (std::string(r.what) != "show" || (b.needs & (Settings | Store)) != 0)) {
                    // The command that uses the broken part refuses it, saying what is wrong.
                    const bool usesIt = (b.needs & Hsm && r.needs & Hsm) || (b.needs & Store && r.needs & Store)
                        || (b.needs & Settings && r.needs & Settings) || (b.needs & Writes && r.needs & Writes);
                    if (usesIt) {
                        CHECK(r.result.exitCode >= 1);
                        CHECK(r.result.exitCode <= 3);
                        CHECK(r.result.err.contains(b.says));
                    }
                }
            }
            const auto after = snapshot(seen);
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
