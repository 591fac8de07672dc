// The station service (imprintd) owns the line, the token and the store; imprintctl and an MES
// are its clients. Who may do what is decided by the service from the kernel's word on the
// caller (its uid and groups) and the credential given, never by the client.

#include "DataDir.h"
#include "TestSupport.h"
#include "pki/Passphrase.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
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

/// imprintd on a data directory, listening on `socket`; stopped (SIGTERM) at the end. The
/// tests' devices are simulated, on pseudo-terminals: --allow-pty unless `extra` says
/// otherwise ("--no-pty").
class Service {
public:
    Service(const QString& dataDir, const QString& socket, const QStringList& as = {}, QStringList extra = {})
        : m_socket(socket)
    {
        if (!extra.removeAll(QStringLiteral("--no-pty")))
            extra << QStringLiteral("--allow-pty");
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
    /// Stops it as systemd does (SIGTERM); whether it ended cleanly (exit 0, no crash).
    bool stop()
    {
        if (m_process.state() == QProcess::NotRunning)
            return m_clean;
        m_process.terminate();
        if (!m_process.waitForFinished(20000))
            m_process.kill();
        m_process.waitForFinished(5000);
        m_clean = m_process.exitStatus() == QProcess::NormalExit && m_process.exitCode() == 0;
        return m_clean;
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
    bool m_clean = false;
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

/// The line's slots whose device's serial starts with `prefix` (a slot is a port: a port the
/// kernel gives again to the next simulator is the same slot, for the next device).
QJsonArray slotsOf(const QString& socket, const QString& prefix)
{
    QJsonArray out;
    for (const QJsonValue& v : ask(socket, QStringLiteral("line"))
                                   .value(QStringLiteral("result"))
                                   .toObject()
                                   .value(QStringLiteral("slots"))
                                   .toArray()) {
        if (v.toObject().value(QStringLiteral("serial")).toString().startsWith(prefix))
            out.append(v);
    }
    return out;
}

/// Waits until `count` devices whose serial starts with `prefix` are on the line, each with a
/// verdict; returns their slots.
QJsonArray waitForVerdicts(const QString& socket, const QString& prefix, int count, int timeoutMs = 90000)
{
    QElapsedTimer t;
    t.start();
    for (;;) {
        const QJsonArray mine = slotsOf(socket, prefix);
        int finished = 0;
        for (const QJsonValue& v : mine)
            finished += v.toObject().value(QStringLiteral("finished")).toBool() ? 1 : 0;
        if (mine.size() >= count && finished == mine.size())
            return mine;
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

TEST_CASE("The station service runs the line for imprintctl and an MES, and a client killed mid-line stops no device")
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
        // Every device identified (its serial known), none finished yet: the key takes 1.5 s.
        while (t.elapsed() < 20000 && slotsOf(socket, QStringLiteral("SVC-K")).size() < 4)
            QThread::msleep(20);
        client.kill();
        REQUIRE(client.waitForFinished(5000));
        const QJsonArray all = waitForVerdicts(socket, QStringLiteral("SVC-K"), 4);
        int passed = 0;
        for (const QJsonValue& v : all) {
            const QJsonObject slot = v.toObject();
            if (slot.value(QStringLiteral("serial")).toString().startsWith(QLatin1String("SVC-K")))
                passed += slot.value(QStringLiteral("verdict")).toString() == QLatin1String("passed") ? 1 : 0;
        }
        CHECK(passed == 4);
    }
    // An id that is no number nor short text is not echoed back: a client cannot make the
    // service hold megabytes of answers for it.
    {
        const QJsonObject r = ask(socket, QStringLiteral("hello"), {});
        CHECK(r.contains(QStringLiteral("result")));
        QLocalSocket s;
        s.connectToServer(socket);
        REQUIRE(s.waitForConnected(5000));
        s.write("{\"id\":\"" + QByteArray(500000, 'x') + "\",\"method\":\"hello\"}\n");
        QByteArray in;
        while (!in.contains('\n') && s.waitForReadyRead(5000))
            in += s.readAll();
        CHECK(in.contains("\"bad-request\""));
        CHECK(in.size() < 1000);
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
    // A port that is not a serial port is refused: the service opens no file a caller names,
    // nor a device that is no terminal.
    for (const QString& port : { dataDir + QStringLiteral("/station.ini"), QStringLiteral("/dev/null"),
             QStringLiteral("/dev/zero@9600,8N1") }) {
        auto r = ask(socket, QStringLiteral("slot.add"), { { QStringLiteral("port"), port } });
        INFO(port.toStdString());
        CHECK(r.value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString()
            == QLatin1String("bad-port"));
    }
    // A client that asks and never reads is let go once 2 MiB wait for it; the service goes on.
    {
        QLocalSocket greedy;
        greedy.connectToServer(socket);
        REQUIRE(greedy.waitForConnected(5000));
        greedy.setReadBufferSize(1); // reads nothing: the kernel's buffers fill, then the service's
        QByteArray burst;
        // Answers in the middle of which it is let go (a subscribe goes on after its answer).
        for (int i = 0; i < 40000; ++i)
            burst += "{\"id\":" + QByteArray::number(i) + ",\"method\":\"" + (i % 2 ? "hello" : "subscribe") + "\"}\n";
        greedy.write(burst);
        QElapsedTimer t;
        t.start();
        while (greedy.state() == QLocalSocket::ConnectedState && t.elapsed() < 20000)
            greedy.waitForBytesWritten(100);
        CHECK(greedy.state() != QLocalSocket::ConnectedState);
        CHECK(ask(socket, QStringLiteral("hello")).contains(QStringLiteral("result")));
    }
    // A stop with clients connected (subscribed ones among them) ends cleanly.
    QLocalSocket subscriber;
    subscriber.connectToServer(socket);
    REQUIRE(subscriber.waitForConnected(5000));
    subscriber.write("{\"id\":1,\"method\":\"subscribe\"}\n");
    REQUIRE(subscriber.waitForReadyRead(5000));
    CHECK(service.stop());
}

TEST_CASE("Roles are the service's: an operator runs the line but not the CA, QA and admin need their credential")
{
    INFO("run as root (CI does): the test makes accounts and drops to them");
    REQUIRE(geteuid() == 0);
    const QString tag = QString::number(getpid() % 100000);
    Group line(QStringLiteral("imprline") + tag);
    Account svc(QStringLiteral("imprsvc") + tag);
    Account op(QStringLiteral("improp") + tag, { line.name });
    Account op2(QStringLiteral("impropb") + tag, { line.name });
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
        INFO(r.out.toStdString() << r.err.toStdString());
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
    // An account in no group gets nothing at all; its refusals are recorded once a minute
    // with a count, so that a loop cannot fill the log.
    {
        auto r = runWith(socket, stranger.as(), Ctl, { QStringLiteral("list") });
        CHECK(r.exitCode == 7);
        CHECK(r.err.contains("may not use this station"));
        for (int i = 0; i < 10; ++i) {
            auto line2 = runWith(socket, stranger.as(), Ctl,
                { QStringLiteral("provision"), QStringLiteral("--port"), QStringLiteral("/dev/null") });
            CHECK(line2.exitCode == 7);
        }
    }
    // A port of the caller's own making (a pseudo-terminal a program of theirs answers on)
    // is no fixture's port: refused, and nothing is issued.
    {
        test::DevSim own({ QStringLiteral("--count"), QStringLiteral("1"), QStringLiteral("--serial-prefix"),
                             QStringLiteral("FORGED-") + tag },
            op.as());
        auto r = runWith(socket, op.as(), Ctl, QStringList { QStringLiteral("provision") } + own.portArgs());
        CHECK(r.exitCode != 0);
        CHECK(r.err.contains("belongs to your own account"));
    }
    // A slot's port is checked again each time it starts: a port that became the caller's
    // since (a pseudo-terminal freed and taken again) is refused on retry.
    {
        test::DevSim other(
            { QStringLiteral("--count"), QStringLiteral("1"), QStringLiteral("--serial-prefix"),
                QStringLiteral("RETRY-") + tag, QStringLiteral("--fault"), QStringLiteral("refuse-cert") },
            svc.as());
        auto r = runWith(socket, op.as(), Ctl, QStringList { QStringLiteral("provision") } + other.portArgs());
        CHECK(r.exitCode == 1); // the device refused its certificate: the slot finished, failed
        const QString pty = QFileInfo(other.ports().first()).canonicalFilePath();
        REQUIRE(test::run(QStringLiteral("chown"), { op.name, pty }).exitCode == 0);
        const QString script
            = QStringLiteral("import json, socket, sys\n"
                             "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rwb')\n"
                             "f.write(json.dumps({'id': 1, 'method': 'line'}).encode() + b'\\n'); f.flush()\n"
                             "slots = json.loads(f.readline())['result']['slots']\n"
                             "n = [x['slot'] for x in slots if x['port'] == sys.argv[2]][-1]\n"
                             "f.write(json.dumps({'id': 2, 'method': 'slot.retry', 'params': {'slot': n}}).encode() + "
                             "b'\\n'); f.flush()\n"
                             "print(f.readline().decode().strip())\n");
        auto retry = runWith(
            socket, op.as(), QStringLiteral("/usr/bin/python3"), { QStringLiteral("-c"), script, socket, pty });
        INFO(retry.out.toStdString() << retry.err.toStdString());
        CHECK(retry.out.contains("belongs to your own account"));
    }
    // Raw requests: an argument that could cut the command short, a command's two words as
    // one, and an "unlock" with a guessed PIN while the token is unlocked (a logged-in token
    // would take any PIN) are refused.
    {
        const QString script
            = QStringLiteral("import socket, sys\n"
                             "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rwb')\n"
                             "for line in sys.stdin:\n"
                             "    f.write(line.encode()); f.flush(); print(f.readline().decode().strip())\n");
        const QByteArray requests
            = R"({"id":1,"method":"run","params":{"args":["ca","show","--data-dir\u0000","/tmp","--"]}}
{"id":2,"method":"run","params":{"args":["ca show","--json"]}}
{"id":3,"method":"sign-in","params":{"role":"admin","unlock":true,"secret":"guess-1"}}
{"id":4,"method":"hello"}
{"id":5,"method":"scrap","params":{"serial":"ANY-1","reason":"x"}}
{"id":6,"method":"audit.verify"}
)";
        auto r = runWith(
            socket, op.as(), QStringLiteral("/usr/bin/python3"), { QStringLiteral("-c"), script, socket }, requests);
        INFO(r.out.toStdString() << r.err.toStdString());
        const QList<QByteArray> answers = r.out.split('\n');
        REQUIRE(answers.size() >= 4);
        CHECK(answers[0].contains("\"bad-request\""));
        CHECK(answers[1].contains("\"bad-request\""));
        CHECK(answers[2].contains("\"wrong-credential\""));
        CHECK(answers[3].contains("\"role\":\"operator\""));
        REQUIRE(answers.size() >= 6);
        CHECK(answers[4].contains("\"credential-required\"")); // QA's acts through the API need QA
        CHECK(answers[5].contains("\"credential-required\""));
    }
    // One account's wrong guesses pause its own sign-in, not everyone's.
    for (int i = 0; i < 3; ++i) {
        auto r = runWith(socket, op.as(), Ctl,
            { QStringLiteral("scrap"), QStringLiteral("--device-serial"), serial, QStringLiteral("--reason"),
                QStringLiteral("x") },
            "wrong-again\n");
        CHECK(r.exitCode == 7);
    }
    {
        auto paused = runWith(socket, op.as(), Ctl,
            { QStringLiteral("scrap"), QStringLiteral("--device-serial"), serial, QStringLiteral("--reason"),
                QStringLiteral("x") },
            "qa-passphrase-1\n");
        CHECK(paused.exitCode == 7);
        CHECK(paused.err.contains("paused"));
    }
    // With QA's passphrase another operator scraps; with the admin's PIN it signs a CRL. Each act
    // is recorded under the account's name.
    {
        auto r = runWith(socket, op2.as(), Ctl,
            { QStringLiteral("scrap"), QStringLiteral("--device-serial"), serial, QStringLiteral("--reason"),
                QStringLiteral("dropped") },
            "qa-passphrase-1\n");
        INFO(r.err.toStdString());
        CHECK(r.exitCode == 0);
        auto crl = runWith(socket, op2.as(), Ctl, { QStringLiteral("ca"), QStringLiteral("crl") }, pin + '\n');
        INFO(crl.err.toStdString());
        CHECK(crl.exitCode == 0);
        CHECK(crl.out.contains("CRL"));
    }
    // QA names no file the service would write (it reads the head from the answer instead).
    {
        auto r = runWith(socket, op2.as(), Ctl,
            { QStringLiteral("audit"), QStringLiteral("head"), QStringLiteral("--out"),
                dataDir + QStringLiteral("/station.ini") },
            "qa-passphrase-1\n");
        CHECK(r.exitCode == 7);
        auto head
            = runWith(socket, op2.as(), Ctl, { QStringLiteral("audit"), QStringLiteral("head") }, "qa-passphrase-1\n");
        CHECK(head.exitCode == 0);
        CHECK(head.out.contains("\"signature\""));
    }
    // The line's devices run on the service's slots, never in a command it starts.
    {
        const QJsonObject r = ask(socket, QStringLiteral("run"),
            { { QStringLiteral("args"),
                QJsonArray { QStringLiteral("provision"), QStringLiteral("--port"), QStringLiteral("/dev/null") } } });
        CHECK(r.value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString()
            == QLatin1String("bad-request"));
    }
    const auto refusals = auditEntries(socket, QStringLiteral("refused"));
    int byOperator = 0;
    int byStranger = 0;
    for (const QJsonObject& e : refusals) {
        byOperator += e.value(QStringLiteral("subject")).toString() == op.name ? 1 : 0;
        byStranger += e.value(QStringLiteral("subject")).toString() == stranger.name ? 1 : 0;
    }
    CHECK(byOperator >= refused.size());
    CHECK(byStranger == 1);
    bool scrapBy = false;
    for (const QJsonObject& e : auditEntries(socket, QStringLiteral("scrapped")))
        scrapBy |= e.value(QStringLiteral("operator")).toString() == op2.name;
    CHECK(scrapBy);
    CHECK(service.stop());
}

TEST_CASE("Without --allow-pty the service takes no pseudo-terminal as a port: a fixture's ports are real")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    const QString socket = tmp.filePath(QStringLiteral("station.sock"));
    test::initQuickStation(dataDir);
    Service service(dataDir, socket, {}, { QStringLiteral("--no-pty") });
    test::DevSim sim(
        { QStringLiteral("--count"), QStringLiteral("1"), QStringLiteral("--serial-prefix"), QStringLiteral("PTY") });
    const QJsonObject r = ask(socket, QStringLiteral("slot.add"), { { QStringLiteral("port"), sim.ports().first() } });
    CHECK(r.value(QStringLiteral("error")).toObject().value(QStringLiteral("code")).toString()
        == QLatin1String("bad-port"));
    CHECK(r.value(QStringLiteral("error"))
              .toObject()
              .value(QStringLiteral("message"))
              .toString()
              .contains(QLatin1String("pseudo-terminal")));
    CHECK(service.stop());
}

TEST_CASE(
    "The window is the service's client: killed mid-line no device stops, and it follows the service through a restart")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    const QString socket = tmp.filePath(QStringLiteral("station.sock"));
    test::initQuickStation(dataDir);
    auto service = std::make_unique<Service>(dataDir, socket);
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("IMPRINT_SOCKET"), socket);
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    env.remove(QStringLiteral("IMPRINT_DATA_DIR"));

    // kill -9 of the window while 8 devices are mid-step: the service finishes every one.
    {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("8"), QStringLiteral("--serial-prefix"),
            QStringLiteral("WIN-A"), QStringLiteral("--keygen-delay-ms"), QStringLiteral("1500") });
        QProcess window;
        window.setProcessEnvironment(env);
        window.start(QStringLiteral(IMPRINT_GUI),
            QStringList { QStringLiteral("--operator"), QStringLiteral("ann") } + sim.portArgs());
        REQUIRE(window.waitForStarted(10000));
        QElapsedTimer t;
        t.start();
        int working = 0;
        while (t.elapsed() < 30000 && working < 8) {
            working = 0;
            for (const QJsonValue& v : ask(socket, QStringLiteral("line"))
                                           .value(QStringLiteral("result"))
                                           .toObject()
                                           .value(QStringLiteral("slots"))
                                           .toArray())
                working += v.toObject().value(QStringLiteral("position")).toInt() >= 2 ? 1 : 0;
            QThread::msleep(20);
        }
        REQUIRE(working == 8); // every device past identify, none finished
        window.kill();
        REQUIRE(window.waitForFinished(5000));
        const QJsonArray all = waitForVerdicts(socket, QStringLiteral("WIN-A"), 8);
        for (const QJsonValue& v : all)
            CHECK(v.toObject().value(QStringLiteral("verdict")).toString() == QLatin1String("passed"));
        // A new window shows the line as it is.
        QProcess again;
        again.setProcessEnvironment(env);
        again.start(QStringLiteral(IMPRINT_GUI),
            { QStringLiteral("--exit-when-done"), QStringLiteral("--operator"), QStringLiteral("bob") });
        REQUIRE(again.waitForFinished(60000));
        INFO(again.readAllStandardError().toStdString());
        CHECK(again.exitCode() == 0);
        CHECK(again.readAllStandardOutput().count("PASS  WIN-A") == 8);
    }
    // kill -9 of the service mid-line, then a restart: the window reaches it again, asks for
    // its slots again, and each device resumes where it was.
    {
        test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("3"), QStringLiteral("--serial-prefix"),
            QStringLiteral("WIN-B"), QStringLiteral("--keygen-delay-ms"), QStringLiteral("1500") });
        QProcess window;
        window.setProcessEnvironment(env);
        window.start(QStringLiteral(IMPRINT_GUI),
            QStringList { QStringLiteral("--exit-when-done"), QStringLiteral("--operator"), QStringLiteral("cy") }
                + sim.portArgs());
        REQUIRE(window.waitForStarted(10000));
        QElapsedTimer t;
        t.start();
        int keying = 0;
        while (t.elapsed() < 30000 && keying < 3) {
            keying = 0;
            for (const QJsonValue& v : ask(socket, QStringLiteral("line"))
                                           .value(QStringLiteral("result"))
                                           .toObject()
                                           .value(QStringLiteral("slots"))
                                           .toArray()) {
                const QJsonObject s = v.toObject();
                keying += s.value(QStringLiteral("serial")).toString().startsWith(QLatin1String("WIN-B"))
                        && s.value(QStringLiteral("position")).toInt() >= 2
                        && !s.value(QStringLiteral("finished")).toBool()
                    ? 1
                    : 0;
            }
            QThread::msleep(20);
        }
        REQUIRE(keying == 3);
        service->kill();
        service.reset();
        service = std::make_unique<Service>(dataDir, socket);
        REQUIRE(window.waitForFinished(90000));
        const QByteArray out = window.readAllStandardOutput();
        INFO(out.toStdString() << window.readAllStandardError().toStdString());
        CHECK(window.exitCode() == 0);
        CHECK(out.count("PASS  WIN-B") == 3);
        // Each device has one verified certificate: the job resumed, nothing issued twice.
        for (int i = 1; i <= 3; ++i) {
            const QString serial = QStringLiteral("WIN-B-%1").arg(i, 4, 10, QLatin1Char('0'));
            auto shown = runWith(socket, {}, Ctl,
                { QStringLiteral("show"), QStringLiteral("--device-serial"), serial, QStringLiteral("--json") });
            INFO(shown.out.toStdString());
            CHECK(shown.exitCode == 0);
            CHECK(shown.out.count("\"state\": \"verified\"") == 1);
        }
    }
}
