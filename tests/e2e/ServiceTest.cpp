// The station service (imprintd) owns the line, the token and the store; imprintctl and an MES
// are its clients. Who may do what is decided by the service from the kernel's word on the
// caller (its uid and groups) and the credential given, never by the client.

#include "DataDir.h"
#include "TestSupport.h"
#include "pki/Passphrase.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLocalSocket>
#include <QProcess>
#include <QTemporaryDir>
#include <QThread>

#include <catch2/catch.hpp>

#include <unistd.h>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);
const QString Daemon = QStringLiteral(IMPRINT_DAEMON);

/// imprintd on a data directory, listening on `socket`; stopped (SIGTERM) at the end.
class Service {
public:
    Service(const QString& dataDir, const QString& socket, const QStringList& as = {}, const QStringList& extra = {})
        : m_socket(socket)
    {
        const QStringList args
            = QStringList { QStringLiteral("--data-dir"), dataDir, QStringLiteral("--socket"), socket } + extra;
        if (as.isEmpty())
            m_process.start(Daemon, args);
        else
            m_process.start(as.first(), as.mid(1) + QStringList { Daemon } + args);
        REQUIRE(m_process.waitForStarted(10000));
        QElapsedTimer t;
        t.start();
        for (;;) {
            QLocalSocket probe;
            probe.connectToServer(socket);
            if (probe.waitForConnected(200))
                break;
            INFO(m_process.readAllStandardError().toStdString());
            REQUIRE(m_process.state() == QProcess::Running);
            REQUIRE(t.elapsed() < 30000);
            QThread::msleep(50);
        }
    }
    ~Service() { stop(); }
    void stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.terminate();
        if (!m_process.waitForFinished(20000))
            m_process.kill();
        m_process.waitForFinished(5000);
    }
    void kill()
    {
        m_process.kill();
        m_process.waitForFinished(5000);
    }
    QProcess& process() { return m_process; }

private:
    QString m_socket;
    QProcess m_process;
};

/// Runs `program args` (as `as`, when given) with the station's socket, `input` on stdin.
test::ProcessResult runWith(const QString& socket, const QStringList& as, const QString& program,
    const QStringList& args, const QByteArray& input = {})
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("IMPRINT_SOCKET"), socket);
    env.remove(QStringLiteral("IMPRINT_DATA_DIR"));
    p.setProcessEnvironment(env);
    if (as.isEmpty())
        p.start(program, args);
    else
        p.start(as.first(), as.mid(1) + QStringList { program } + args);
    if (!p.waitForStarted(10000))
        return {};
    if (!input.isEmpty())
        p.write(input);
    p.closeWriteChannel();
    if (!p.waitForFinished(90000)) {
        p.kill();
        p.waitForFinished();
    }
    return { p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
        p.readAllStandardError() };
}

/// One request on a fresh connection, as an MES would send it; the answer (or the error).
QJsonObject ask(const QString& socket, const QString& method, const QJsonObject& params = {})
{
    QLocalSocket s;
    s.connectToServer(socket);
    REQUIRE(s.waitForConnected(5000));
    s.write(QJsonDocument(QJsonObject { { QStringLiteral("id"), 1 }, { QStringLiteral("method"), method },
                              { QStringLiteral("params"), params } })
                .toJson(QJsonDocument::Compact)
        + '\n');
    QByteArray in;
    QElapsedTimer t;
    t.start();
    while (!in.contains('\n') && t.elapsed() < 30000) {
        if (!s.waitForReadyRead(1000) && s.state() != QLocalSocket::ConnectedState && s.bytesAvailable() == 0)
            break;
        in += s.readAll();
    }
    return QJsonDocument::fromJson(in.left(in.indexOf('\n'))).object();
}

/// Waits until every slot of the line has a verdict; returns the slots.
QJsonArray waitForVerdicts(const QString& socket, int count, int timeoutMs = 90000)
{
    QElapsedTimer t;
    t.start();
    for (;;) {
        const QJsonArray all = ask(socket, QStringLiteral("line"))
                                   .value(QStringLiteral("result"))
                                   .toObject()
                                   .value(QStringLiteral("slots"))
                                   .toArray();
        int finished = 0;
        for (const QJsonValue& v : all)
            finished += v.toObject().value(QStringLiteral("finished")).toBool() ? 1 : 0;
        if (all.size() >= count && finished == all.size())
            return all;
        REQUIRE(t.elapsed() < timeoutMs);
        QThread::msleep(100);
    }
}

/// A system account (and group) made for one test and removed after it.
struct Account {
    QString name;
    explicit Account(QString n, const QStringList& groups = {})
        : name(std::move(n))
    {
        QStringList args { QStringLiteral("--system"), QStringLiteral("--no-create-home"), QStringLiteral("--shell"),
            QStringLiteral("/usr/sbin/nologin") };
        if (!groups.isEmpty())
            args << QStringLiteral("--groups") << groups.join(u',');
        auto r = test::run(QStringLiteral("useradd"), args + QStringList { name });
        INFO(r.err.toStdString());
        REQUIRE(r.exitCode == 0);
    }
    ~Account() { (void)test::run(QStringLiteral("userdel"), { name }); }
    /// setpriv as this account, with its groups.
    QStringList as() const
    {
        return { QStringLiteral("setpriv"), QStringLiteral("--reuid=") + name, QStringLiteral("--regid=") + name,
            QStringLiteral("--init-groups"), QStringLiteral("--") };
    }
};

struct Group {
    QString name;
    explicit Group(QString n)
        : name(std::move(n))
    {
        REQUIRE(test::run(QStringLiteral("groupadd"), { QStringLiteral("--system"), name }).exitCode == 0);
    }
    ~Group() { (void)test::run(QStringLiteral("groupdel"), { name }); }
};

QList<QJsonObject> auditEntries(const QString& socket, const QString& kind)
{
    auto r = runWith(socket, {}, Ctl,
        { QStringLiteral("audit"), QStringLiteral("show"), QStringLiteral("--json"), QStringLiteral("--limit"),
            QStringLiteral("100000") });
    REQUIRE(r.exitCode == 0);
    QList<QJsonObject> out;
    for (const QJsonValue& v : QJsonDocument::fromJson(r.out).array()) {
        if (v.toObject().value(QStringLiteral("kind")).toString() == kind)
            out << v.toObject();
    }
    return out;
}

} // namespace

TEST_CASE("The station service runs the line for imprintctl and an MES; a client killed mid-line stops no device")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    const QString socket = tmp.filePath(QStringLiteral("station.sock"));
    test::initQuickStation(dataDir);
    Service service(dataDir, socket);

    // imprintctl provision through the service: the same lines and exit status as directly.
    {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("3"), QStringLiteral("--serial-prefix"),
            QStringLiteral("SVC-A") });
        auto r = runWith(socket, {}, Ctl, QStringList { QStringLiteral("provision") } + sim.portArgs());
        INFO(r.err.toStdString());
        CHECK(r.exitCode == 0);
        CHECK(r.out.count("PASS  SVC-A") == 3);
    }
    // Direct work on the data directory waits until the service is stopped.
    {
        auto r = test::ctl(dataDir, { QStringLiteral("list") });
        CHECK(r.exitCode == 7);
        CHECK(r.err.contains("The station service runs on"));
        auto keygen = runWith(socket, {}, Ctl,
            { QStringLiteral("ca"), QStringLiteral("keygen"), QStringLiteral("--label"), QStringLiteral("x") });
        CHECK(keygen.exitCode == 7);
        CHECK(keygen.err.contains("not while the station service runs"));
    }
    // An MES with nothing of this project's code: a few lines of Python on the socket.
    {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--serial-prefix"),
            QStringLiteral("SVC-M") });
        auto r = test::run(QStringLiteral("python3"),
            QStringList { QStringLiteral(IMPRINT_TEST_PEERS) + QStringLiteral("/mes_line.py"), socket } + sim.ports());
        INFO(r.err.toStdString());
        REQUIRE(r.exitCode == 0);
        const QJsonObject summary = QJsonDocument::fromJson(r.out).object();
        const QJsonObject verdicts = summary.value(QStringLiteral("verdicts")).toObject();
        CHECK(verdicts.size() == 2);
        for (const QString& port : sim.ports())
            CHECK(verdicts.value(port).toString() == QLatin1String("passed"));
        // The shift's figures were pushed as the devices passed: the 3 before and these 2.
        CHECK(summary.value(QStringLiteral("shift")).toObject().value(QStringLiteral("passed")).toInt() == 5);
    }
    // kill -9 of a client while its devices are mid-step: the service finishes every one.
    {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("4"), QStringLiteral("--serial-prefix"),
            QStringLiteral("SVC-K"), QStringLiteral("--keygen-delay-ms"), QStringLiteral("1500") });
        QProcess client;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("IMPRINT_SOCKET"), socket);
        client.setProcessEnvironment(env);
        client.start(Ctl, QStringList { QStringLiteral("provision") } + sim.portArgs());
        REQUIRE(client.waitForStarted(10000));
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 20000) {
            const QJsonArray all = ask(socket, QStringLiteral("line"))
                                       .value(QStringLiteral("result"))
                                       .toObject()
                                       .value(QStringLiteral("slots"))
                                       .toArray();
            if (all.size() == 9)
                break;
            QThread::msleep(20);
        }
        client.kill();
        REQUIRE(client.waitForFinished(5000));
        const QJsonArray all = waitForVerdicts(socket, 9);
        int passed = 0;
        for (const QJsonValue& v : all) {
            const QJsonObject slot = v.toObject();
            if (slot.value(QStringLiteral("serial")).toString().startsWith(QLatin1String("SVC-K")))
                passed += slot.value(QStringLiteral("verdict")).toString() == QLatin1String("passed") ? 1 : 0;
        }
        CHECK(passed == 4);
    }
    // A request that is not JSON is answered with an error, and the service goes on.
    {
        QLocalSocket s;
        s.connectToServer(socket);
        REQUIRE(s.waitForConnected(5000));
        s.write("{not json\n");
        REQUIRE(s.waitForReadyRead(5000));
        CHECK(s.readAll().contains("\"bad-request\""));
        CHECK(ask(socket, QStringLiteral("hello")).contains(QStringLiteral("result")));
    }
    // A port that is not a device is refused: the service opens no file a caller names.
    {
        auto r = ask(socket, QStringLiteral("slot.add"),
            { { QStringLiteral("port"), dataDir + QStringLiteral("/station.ini") } });
        CHECK(r.value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString()
            == QLatin1String("bad-port"));
    }
}

TEST_CASE("Roles are the service's: an operator runs the line but not the CA, QA and admin need their credential")
{
    INFO("run as root (CI does): the test makes accounts and drops to them");
    REQUIRE(geteuid() == 0);
    const QString tag = QString::number(getpid() % 100000);
    Group line(QStringLiteral("imprline") + tag);
    Account svc(QStringLiteral("imprsvc") + tag);
    Account op(QStringLiteral("improp") + tag, { line.name });
    Account stranger(QStringLiteral("imprx") + tag);

    QTemporaryDir tmp;
    QFile::setPermissions(tmp.path(),
        QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner | QFileDevice::ReadGroup
            | QFileDevice::ExeGroup | QFileDevice::ReadOther | QFileDevice::ExeOther);
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    const QByteArray pin = [&] {
        QFile f(dataDir + QStringLiteral("/secrets/user.pin"));
        REQUIRE(f.open(QIODevice::ReadOnly));
        return f.readAll().trimmed();
    }();
    {
        auto hash = core::hashPassphrase(core::Secret(QByteArray("qa-passphrase-1")));
        REQUIRE(hash.has_value());
        REQUIRE(core::DataDir::writePrivateFile(core::DataDir(dataDir).qaPassphraseFile(), *hash).has_value());
    }
    // The data directory is the service account's, as the package makes it.
    const QString run = tmp.filePath(QStringLiteral("run"));
    REQUIRE(QDir().mkpath(run));
    const QString exports = tmp.filePath(QStringLiteral("exports"));
    REQUIRE(QDir().mkpath(exports));
    for (const QString& d : { dataDir, run, exports })
        REQUIRE(
            test::run(QStringLiteral("chown"), { QStringLiteral("-R"), svc.name + u':' + svc.name, d }).exitCode == 0);
    REQUIRE(test::run(QStringLiteral("chmod"), { QStringLiteral("0700"), dataDir }).exitCode == 0);
    const QString socket = run + QStringLiteral("/station.sock");
    Service service(dataDir, socket, svc.as(), { QStringLiteral("--line-group"), line.name });

    // The operator's account reads none of the station's secrets or records.
    for (const QString& f : { dataDir + QStringLiteral("/secrets/user.pin"),
             dataDir + QStringLiteral("/imprint.sqlite"), dataDir + QStringLiteral("/tokens") }) {
        auto r = runWith(socket, op.as(), QStringLiteral("ls"), { f });
        CHECK(r.exitCode != 0);
    }

    // It runs the line: its devices' ports are the service's (the simulator runs as the
    // service account, as a device node owned by the dialout group would be).
    {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--serial-prefix"),
                             QStringLiteral("ROLE-") + tag },
            svc.as());
        auto r = runWith(socket, op.as(), Ctl, QStringList { QStringLiteral("provision") } + sim.portArgs());
        INFO(r.err.toStdString());
        CHECK(r.exitCode == 0);
        CHECK(r.out.count("PASS  ROLE-") == 2);
        auto list = runWith(socket, op.as(), Ctl, { QStringLiteral("list") });
        CHECK(list.exitCode == 0);
        CHECK(list.out.count("passed") == 2);
    }
    const QString serial = QStringLiteral("ROLE-%1-0001").arg(tag);

    // Without a credential it cannot issue, scrap, export, import, sign a CRL, change a
    // setting or read the audit log; each refusal is recorded.
    const QList<QStringList> refused {
        { QStringLiteral("issue"), QStringLiteral("--csr"), QStringLiteral("/dev/null"),
            QStringLiteral("--device-serial"), QStringLiteral("FAKE-1") },
        { QStringLiteral("scrap"), QStringLiteral("--device-serial"), serial, QStringLiteral("--reason"),
            QStringLiteral("x") },
        { QStringLiteral("export"), QStringLiteral("--out"), exports + QStringLiteral("/b1") },
        { QStringLiteral("import"), QStringLiteral("--in"), exports },
        { QStringLiteral("ca"), QStringLiteral("crl") },
        { QStringLiteral("upstream"), QStringLiteral("configure"), QStringLiteral("--url"),
            QStringLiteral("http://127.0.0.1:1/"), QStringLiteral("--trusted"), QStringLiteral("/dev/null") },
        { QStringLiteral("audit"), QStringLiteral("show") },
        { QStringLiteral("sign-batch"), QStringLiteral("--in"), exports, QStringLiteral("--out"),
            exports + QStringLiteral("/x.p7b") },
    };
    for (const QStringList& args : refused) {
        auto r = runWith(socket, op.as(), Ctl, args);
        INFO(args.join(u' ').toStdString() << ": " << r.err.toStdString());
        CHECK(r.exitCode == 7);
        CHECK((r.err.contains("Only the PKI admin may do that") || r.err.contains("Only QA may do that")));
    }
    // A wrong QA passphrase does not open it either.
    {
        auto r = runWith(socket, op.as(), Ctl,
            { QStringLiteral("scrap"), QStringLiteral("--device-serial"), serial, QStringLiteral("--reason"),
                QStringLiteral("x") },
            "wrong-passphrase\n");
        CHECK(r.exitCode == 7);
        CHECK(r.err.contains("not the QA passphrase"));
    }
    // An account in no group gets nothing at all.
    {
        auto r = runWith(socket, stranger.as(), Ctl, { QStringLiteral("list") });
        CHECK(r.exitCode == 7);
        CHECK(r.err.contains("may not use this station"));
        auto line2 = runWith(socket, stranger.as(), Ctl,
            { QStringLiteral("provision"), QStringLiteral("--port"), QStringLiteral("/dev/null") });
        CHECK(line2.exitCode == 7);
    }
    // With QA's passphrase the operator scraps; with the admin's PIN it signs a CRL. Each act
    // is recorded under the account's name.
    {
        auto r = runWith(socket, op.as(), Ctl,
            { QStringLiteral("scrap"), QStringLiteral("--device-serial"), serial, QStringLiteral("--reason"),
                QStringLiteral("dropped") },
            "qa-passphrase-1\n");
        INFO(r.err.toStdString());
        CHECK(r.exitCode == 0);
        auto crl = runWith(socket, op.as(), Ctl, { QStringLiteral("ca"), QStringLiteral("crl") }, pin + '\n');
        INFO(crl.err.toStdString());
        CHECK(crl.exitCode == 0);
        CHECK(crl.out.contains("CRL"));
    }
    // QA names no file the service would write (it reads the head from the answer instead).
    {
        auto r = runWith(socket, op.as(), Ctl,
            { QStringLiteral("audit"), QStringLiteral("head"), QStringLiteral("--out"),
                dataDir + QStringLiteral("/station.ini") },
            "qa-passphrase-1\n");
        CHECK(r.exitCode == 7);
        auto head = runWith(socket, op.as(), Ctl, { QStringLiteral("audit"), QStringLiteral("head") }, "qa-passphrase-1\n");
        CHECK(head.exitCode == 0);
        CHECK(head.out.contains("\"signature\""));
    }
    // The line's devices run on the service's slots, never in a command it starts.
    {
        const QJsonObject r = ask(socket, QStringLiteral("run"),
            { { QStringLiteral("args"), QJsonArray { QStringLiteral("provision"), QStringLiteral("--port"), QStringLiteral("/dev/null") } } });
        CHECK(r.value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString() == QLatin1String("bad-request"));
    }
    const auto refusals = auditEntries(socket, QStringLiteral("refused"));
    int byOperator = 0;
    int byStranger = 0;
    for (const QJsonObject& e : refusals) {
        byOperator += e.value(QStringLiteral("subject")).toString() == op.name ? 1 : 0;
        byStranger += e.value(QStringLiteral("subject")).toString() == stranger.name ? 1 : 0;
    }
    CHECK(byOperator >= refused.size());
    CHECK(byStranger == 2);
    bool scrapBy = false;
    for (const QJsonObject& e : auditEntries(socket, QStringLiteral("scrapped")))
        scrapBy |= e.value(QStringLiteral("operator")).toString() == op.name;
    CHECK(scrapBy);
    service.stop();
}
