// The way upstream through imprintctl, against real CMP peers: the station's own test
// upstream CA (imprint-upstream, OpenSSL's CMP server with a real CA key) and OpenSSL's
// `openssl cmp` mock server. An RA key in the token signs every request; every answer is
// checked; every fault ends in its row state and a plain message.

#include "TestSupport.h"

#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QProcess>
#include <QRandomGenerator>
#include <QSettings>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QSqlRecord>
#include <QTemporaryDir>
#include <QThread>
#include <QTimer>
#include <QUrl>

#include <catch2/catch.hpp>

#include <tuple>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace imprint;

using test::batchVerifies;
using test::enrollStation;
using test::openssl;
using test::query;
using test::UpstreamPki;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);
const QString UpstreamBin = QStringLiteral(IMPRINT_UPSTREAM);

/// A port for a test peer on the loopback, drawn at random from 20000-39999.
quint16 freePort()
{
    return static_cast<quint16>(20000 + QRandomGenerator::global()->bounded(20000));
}

/// imprint-upstream in the background; its counts per key. Stopped with the object.
class TestUpstream {
public:
    TestUpstream(const UpstreamPki& pki, quint16 port, const QStringList& extra = {})
        : m_counts(pki.file(QStringLiteral("counts-%1.json").arg(port)))
        , m_port(port)
        , m_tls(extra.contains(QStringLiteral("--tls")))
    {
        m_process.setProgram(UpstreamBin);
        m_process.setArguments(QStringList { QStringLiteral("--port"), QString::number(port),
                                   QStringLiteral("--ca-cert"), pki.cert(), QStringLiteral("--ca-key"), pki.key(),
                                   QStringLiteral("--trusted"), pki.cert(), QStringLiteral("--counts"), m_counts }
            + extra);
        m_process.setProcessChannelMode(QProcess::ForwardedErrorChannel);
        m_process.start();
        REQUIRE(m_process.waitForStarted(10000));
        REQUIRE(m_process.waitForReadyRead(10000));
        REQUIRE(m_process.readLine().contains("listening"));
    }
    ~TestUpstream() { stop(); }
    void stop()
    {
        if (m_process.state() != QProcess::NotRunning) {
            m_process.terminate(); // it writes its counts and exits
            if (!m_process.waitForFinished(5000))
                m_process.kill();
            m_process.waitForFinished();
        }
    }
    /// Asked of the running upstream (GET /counts); once it has stopped, from the file it
    /// wrote at exit.
    QJsonObject counts() const
    {
        if (m_process.state() == QProcess::Running) {
            QNetworkAccessManager net;
            QNetworkReply* reply
                = net.get(QNetworkRequest(QUrl(QStringLiteral("%1://127.0.0.1:%2/counts")
                                                   .arg(m_tls ? QStringLiteral("https") : QStringLiteral("http"))
                                                   .arg(m_port))));
            if (m_tls)
                reply->ignoreSslErrors(); // the test reads its own fixture's figures
            QEventLoop wait;
            QObject::connect(reply, &QNetworkReply::finished, &wait, &QEventLoop::quit);
            QTimer::singleShot(10000, &wait, &QEventLoop::quit);
            wait.exec();
            REQUIRE(reply->isFinished());
            REQUIRE(reply->error() == QNetworkReply::NoError);
            const QJsonObject o = QJsonDocument::fromJson(reply->readAll()).object();
            reply->deleteLater();
            return o;
        }
        QFile f(m_counts);
        REQUIRE(f.open(QIODevice::ReadOnly));
        return QJsonDocument::fromJson(f.readAll()).object();
    }

private:
    QString m_counts;
    quint16 m_port;
    bool m_tls;
    QProcess m_process;
};

/// `openssl cmp -port` serves one connection at a time: one transaction in flight.
void oneAtATime(const QString& dataDir)
{
    QSettings ini(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
    ini.setValue(QStringLiteral("upstream/in-flight"), 1);
}

QString urlOf(quint16 port)
{
    return QStringLiteral("http://127.0.0.1:%1/pkix/").arg(port);
}

QJsonObject status(const QString& dataDir)
{
    auto r = test::ctl(dataDir, { QStringLiteral("upstream"), QStringLiteral("status"), QStringLiteral("--json") });
    REQUIRE(r.exitCode == 0);
    return QJsonDocument::fromJson(r.out).object();
}

test::ProcessResult syncOnce(const QString& dataDir)
{
    return test::ctl(dataDir, { QStringLiteral("upstream"), QStringLiteral("sync"), QStringLiteral("--once") });
}

/// Requests from `imprint-makecsr` issued through `imprintctl issue`: certificates that left
/// the station with no device present, whose requests the test keeps.
QStringList issueRequests(const QString& dataDir, const QString& dir, const QString& prefix, int count)
{
    REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                { QStringLiteral("--out"), dir, QStringLiteral("--count"), QString::number(count),
                    QStringLiteral("--serial-prefix"), prefix })
                .exitCode
        == 0);
    QStringList files;
    for (int i = 1; i <= count; ++i) {
        const QString serial = QStringLiteral("%1-%2").arg(prefix).arg(i, 6, 10, QLatin1Char('0'));
        const QString csr = dir + QStringLiteral("/%1.der").arg(serial);
        auto issued = test::ctl(dataDir,
            { QStringLiteral("issue"), QStringLiteral("--csr"), csr, QStringLiteral("--device-serial"), serial,
                QStringLiteral("--out"), dir + QStringLiteral("/%1.pem").arg(serial) });
        INFO(issued.err.toStdString());
        REQUIRE(issued.exitCode == 0);
        files << csr;
    }
    return files;
}

/// SQL answers from the station's store, as a reader behind its back.

} // namespace

TEST_CASE("50 devices provisioned while the upstream is down reach it exactly once when it comes up")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));

    test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("50"), QStringLiteral("--serial-prefix"),
        QStringLiteral("UP"), QStringLiteral("--link-dir"), tmp.path() });
    auto prov
        = test::ctl(dataDir, QStringList { QStringLiteral("provision"), QStringLiteral("--json") } + sim.portArgs());
    INFO(prov.err.toStdString());
    REQUIRE(prov.exitCode == 0);
    REQUIRE(test::jsonLines(prov.out).size() == 50);

    // Down: the line never waited for it; the sync says so in plain words, and keeps the rows.
    auto down = syncOnce(dataDir);
    CHECK(down.exitCode == 5);
    CHECK(down.err.contains("could not be reached"));
    QJsonObject st = status(dataDir);
    CHECK_FALSE(st[QStringLiteral("reachable")].toBool());
    CHECK(st[QStringLiteral("last_error")].toString().contains(QStringLiteral("could not be reached")));
    CHECK(st[QStringLiteral("rows")].toObject()[QStringLiteral("failed")].toInt() == 1);
    CHECK(st[QStringLiteral("rows")].toObject()[QStringLiteral("pending")].toInt() == 49);
    CHECK(st[QStringLiteral("oldest_unsynced_age_s")].isDouble());

    // Up: after the back-off every certificate goes, once.
    TestUpstream upstream(pki, port);
    QThread::msleep(2100);
    auto up = syncOnce(dataDir);
    INFO(up.out.toStdString() << up.err.toStdString());
    REQUIRE(up.exitCode == 0);
    st = status(dataDir);
    CHECK(st[QStringLiteral("reachable")].toBool());
    CHECK(st[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == 50);
    const QJsonObject counts = upstream.counts();
    const QJsonObject certified = counts[QStringLiteral("certified")].toObject();
    const QJsonObject confirmed = counts[QStringLiteral("confirmed")].toObject();
    REQUIRE(certified.size() == 50);
    for (auto it = certified.begin(); it != certified.end(); ++it) {
        CHECK(it.value().toInt() == 1);
        CHECK(confirmed[it.key()].toInt() == 1);
    }
    // Every device's record shows its upstream certificate, for its own key, from the corporate CA.
    for (int i = 1; i <= 50; ++i) {
        const QString serial = QStringLiteral("UP-%1").arg(i, 4, 10, QLatin1Char('0'));
        auto shown = test::ctl(
            dataDir, { QStringLiteral("show"), QStringLiteral("--device-serial"), serial, QStringLiteral("--json") });
        REQUIRE(shown.exitCode == 0);
        const QJsonObject cert
            = QJsonDocument::fromJson(shown.out).object()[QStringLiteral("certificates")].toArray().at(0).toObject();
        const QJsonObject u = cert[QStringLiteral("upstream")].toObject();
        CHECK(u[QStringLiteral("state")].toString() == QLatin1String("confirmed"));
        CHECK(u[QStringLiteral("certificate_issuer")].toString() == QLatin1String("CN=Corp Device CA,O=Corp"));
        auto local = core::ossl::certFromPem(cert[QStringLiteral("pem")].toString().toLatin1());
        auto theirs = core::ossl::certFromPem(u[QStringLiteral("certificate_pem")].toString().toLatin1());
        REQUIRE(local.has_value());
        REQUIRE(theirs.has_value());
        CHECK(core::ossl::publicKeyDer(X509_get0_pubkey(local->get()))
            == core::ossl::publicKeyDer(X509_get0_pubkey(theirs->get())));
    }
    // Nothing more to send; a second sync sends nothing again.
    REQUIRE(syncOnce(dataDir).exitCode == 0);
    CHECK(upstream.counts()[QStringLiteral("requests")].toInt() == counts[QStringLiteral("requests")].toInt());
    auto verify = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
    INFO(verify.out.toStdString() << verify.err.toStdString());
    CHECK(verify.exitCode == 0);
}

TEST_CASE("An upstream whose host drops connections is given up on at the connect timeout, in plain words")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    // A listener whose queue is full: the kernel drops every further connection attempt
    // unanswered, as a firewall in the way would.
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_in addr {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), len) == 0);
    REQUIRE(::listen(listener, 0) == 0);
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    std::vector<int> fillers;
    for (int i = 0; i < 2; ++i) { // the queue's one place taken (the second attempt stays pending)
        const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        REQUIRE(c >= 0);
        (void)::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        fillers.push_back(c);
    }
    QThread::msleep(200);
    const quint16 port = ntohs(addr.sin_port);
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    {
        QSettings ini(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        ini.setValue(QStringLiteral("upstream/connect-timeout-s"), 2);
    }
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("T"), 3);

    QElapsedTimer clock;
    clock.start();
    auto down = syncOnce(dataDir);
    const qint64 took = clock.elapsed();
    INFO(down.out.toStdString() << down.err.toStdString());
    CHECK(down.exitCode == 5);
    CHECK(took < 15000); // one attempt, given up on at the connect timeout (not the message timeout)
    const QString said = QString::fromUtf8(down.err);
    CHECK(said.contains(QStringLiteral("nothing answered at 127.0.0.1:%1 within 2 s (connect timeout)").arg(port)));
    CHECK(said.contains(QStringLiteral("  detail: "))); // OpenSSL's text, on a line of its own
    const QJsonObject st = status(dataDir);
    CHECK(st[QStringLiteral("last_error")].toString().contains(QStringLiteral("(connect timeout)")));
    CHECK_FALSE(st[QStringLiteral("last_error")].toString().contains(QStringLiteral("error:")));
    CHECK_FALSE(st[QStringLiteral("last_error_detail")].toString().isEmpty());
    auto human = test::ctl(dataDir, { QStringLiteral("upstream"), QStringLiteral("status") });
    CHECK(human.out.contains("  last error:    The upstream CA at"));
    CHECK(human.out.contains("  detail:        "));
    // One row tried; the others wait for the upstream to come back, nothing lost.
    CHECK(st[QStringLiteral("rows")].toObject()[QStringLiteral("failed")].toInt() == 1);
    CHECK(st[QStringLiteral("rows")].toObject()[QStringLiteral("pending")].toInt() == 2);
    for (int c : fillers)
        ::close(c);
    ::close(listener);
}

TEST_CASE("Every upstream fault ends in its row state and a plain message, and records nothing untrusted")
{
    struct Fault {
        QStringList args;
        const char* state; ///< the row's state after one sync
        const char* message; ///< in the row's last error or the upstream's status
    };
    const QList<Fault> faults {
        { { QStringLiteral("--fault"), QStringLiteral("http500") }, "failed", "could not be reached" },
        { { QStringLiteral("--fault"), QStringLiteral("slow"), QStringLiteral("--delay-ms"), QStringLiteral("3500") },
            "failed", "timeout" },
        { { QStringLiteral("--fault"), QStringLiteral("drop") }, "failed", "could not be reached" },
        { { QStringLiteral("--fault"), QStringLiteral("reject"), QStringLiteral("--reject-text"),
              QStringLiteral("serial not in the work order") },
            "rejected", "serial not in the work order" },
        { { QStringLiteral("--fault"), QStringLiteral("bad-protection") }, "failed", "failed a check" },
        { { QStringLiteral("--fault"), QStringLiteral("wrong-transaction-id") }, "failed", "failed a check" },
        { { QStringLiteral("--fault"), QStringLiteral("other-key") }, "failed", "another key" },
        { { QStringLiteral("--fault"), QStringLiteral("untrusted-issuer") }, "failed", "does not verify" },
    };
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    for (const Fault& f : faults) {
        DYNAMIC_SECTION(f.args.join(u' ').toStdString())
        {
            const quint16 port = freePort();
            const QString dataDir = tmp.filePath(QStringLiteral("station-%1").arg(port));
            enrollStation(dataDir, pki, urlOf(port));
            issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs-%1").arg(port)), QStringLiteral("F"), 1);
            const QStringList before = query(dataDir, QStringLiteral("SELECT serial, state, der FROM certificates"));
            TestUpstream upstream(pki, port, f.args);
            auto r = syncOnce(dataDir);
            INFO(r.out.toStdString() << r.err.toStdString());
            const QStringList row = query(dataDir,
                QStringLiteral("SELECT state, last_error || ' ' || upstream_status FROM outbox WHERE kind = "
                               "'certificate'"));
            REQUIRE(row.size() == 1);
            INFO(row.first().toStdString());
            CHECK(row.first().section(u'|', 0, 0) == QLatin1String(f.state));
            CHECK(row.first().contains(QLatin1String(f.message)));
            // Nothing untrusted is kept, and the local record did not move.
            CHECK(query(dataDir, QStringLiteral("SELECT COUNT(*) FROM certificates WHERE upstream_der IS NOT NULL"))
                == QStringList { QStringLiteral("0") });
            CHECK(query(dataDir, QStringLiteral("SELECT serial, state, der FROM certificates")) == before);
            // Nothing was confirmed to the upstream; a certificate the station would not take
            // was refused in its certConf.
            const QJsonObject counts = upstream.counts();
            CHECK(counts[QStringLiteral("confirmed")].toObject().isEmpty());
            if (f.args.contains(QStringLiteral("other-key")) || f.args.contains(QStringLiteral("untrusted-issuer")))
                CHECK(counts[QStringLiteral("refused_by_station")].toInt() == 1);
            auto verify = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
            CHECK(verify.exitCode == 0);
        }
    }
}

TEST_CASE("A rejection is final until an administrator retries it, a replayed answer is refused")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("R"), 2);
    {
        TestUpstream rejecting(pki, port,
            { QStringLiteral("--fault"), QStringLiteral("reject"), QStringLiteral("--reject-text"),
                QStringLiteral("not today") });
        (void)syncOnce(dataDir);
        (void)syncOnce(dataDir);
        CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("rejected")].toInt() == 2);
        auto st = test::ctl(dataDir, { QStringLiteral("upstream"), QStringLiteral("status") });
        CHECK(st.out.contains("rejected by the upstream"));
        CHECK(rejecting.counts()[QStringLiteral("requests")].toInt() == 2); // sent once each, never again
    }
    // The upstream replays its earlier answer to the second request: refused, not recorded.
    REQUIRE(test::ctl(dataDir, { QStringLiteral("upstream"), QStringLiteral("retry"), QStringLiteral("--rejected") })
                .exitCode
        == 0);
    {
        TestUpstream replaying(pki, port, { QStringLiteral("--fault"), QStringLiteral("replay") });
        (void)syncOnce(dataDir);
        const QStringList states = query(dataDir, QStringLiteral("SELECT state, last_error FROM outbox ORDER BY id"));
        REQUIRE(states.size() == 2);
        CHECK(states[0].startsWith(QLatin1String("confirmed|")));
        CHECK(states[1].startsWith(QLatin1String("failed|")));
        CHECK(states[1].contains(QLatin1String("failed a check")));
        CHECK(query(dataDir, QStringLiteral("SELECT COUNT(*) FROM audit WHERE kind = 'upstream-refused'"))
            == QStringList { QStringLiteral("1") });
    }
    // Served well, the failed row goes on its next attempt.
    TestUpstream good(pki, port);
    QThread::msleep(2100);
    REQUIRE(syncOnce(dataDir).exitCode == 0);
    CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == 2);
}

TEST_CASE("A row the upstream makes wait is polled, not sent again")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("W"), 1);
    TestUpstream waiting(pki, port,
        { QStringLiteral("--fault"), QStringLiteral("waiting"), QStringLiteral("--polls"), QStringLiteral("3"),
            QStringLiteral("--check-after"), QStringLiteral("1") });
    auto r = syncOnce(dataDir);
    INFO(r.out.toStdString() << r.err.toStdString());
    REQUIRE(r.exitCode == 0);
    CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == 1);
    const QJsonObject counts = waiting.counts();
    // One p10cr, three polls, one certConf; one certificate.
    CHECK(counts[QStringLiteral("requests")].toInt() == 5);
    REQUIRE(counts[QStringLiteral("certified")].toObject().size() == 1);
    CHECK(counts[QStringLiteral("certified")].toObject().begin().value().toInt() == 1);
}

TEST_CASE("A scrapped device: its revocation follows its certificate upstream, and the CRL refuses it")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("S"), 1);
    const QString certFile = tmp.filePath(QStringLiteral("reqs/S-000001.pem"));
    auto scrapped = test::ctl(dataDir,
        { QStringLiteral("scrap"), QStringLiteral("--device-serial"), QStringLiteral("S-000001"),
            QStringLiteral("--reason"), QStringLiteral("cracked housing") });
    INFO(scrapped.err.toStdString());
    REQUIRE(scrapped.exitCode == 0);
    CHECK(scrapped.out.contains("CRL 1"));

    TestUpstream upstream(pki, port);
    REQUIRE(syncOnce(dataDir).exitCode == 0);
    const QStringList rows = query(dataDir, QStringLiteral("SELECT kind, state FROM outbox ORDER BY id"));
    CHECK(rows == QStringList { QStringLiteral("certificate|confirmed"), QStringLiteral("revocation|confirmed") });
    const QJsonObject revoked = upstream.counts()[QStringLiteral("revoked")].toObject();
    REQUIRE(revoked.size() == 1);
    // The upstream revoked its own certificate for the device's key.
    const QString upstreamSerial = query(dataDir, QStringLiteral("SELECT hex(upstream_der) FROM certificates")).first();
    auto theirs = core::ossl::certFromDer(QByteArray::fromHex(upstreamSerial.toLatin1()));
    REQUIRE(theirs.has_value());
    CHECK(revoked.begin().key() == core::ossl::serialHex(theirs->get()));

    // The local CA's CRL: signed in the HSM, verifies, and makes openssl refuse the certificate.
    const QString crl = dataDir + QStringLiteral("/ca/crl.pem");
    const QString chain = dataDir + QStringLiteral("/ca/chain.pem");
    openssl({ QStringLiteral("crl"), QStringLiteral("-in"), crl, QStringLiteral("-CAfile"), chain,
        QStringLiteral("-noout"), QStringLiteral("-verify") });
    const QString text = QString::fromLatin1(openssl(
        { QStringLiteral("crl"), QStringLiteral("-in"), crl, QStringLiteral("-noout"), QStringLiteral("-text") })
                                                 .out);
    CHECK(text.contains(QStringLiteral("Cessation Of Operation")));
    CHECK(text.contains(QStringLiteral("X509v3 Authority Key Identifier")));
    QFile both(tmp.filePath(QStringLiteral("chain-and-crl.pem")));
    REQUIRE(both.open(QIODevice::WriteOnly));
    for (const QString& f : { chain, crl }) {
        QFile part(f);
        REQUIRE(part.open(QIODevice::ReadOnly));
        both.write(part.readAll());
    }
    both.close();
    auto verify = test::run(QStringLiteral("openssl"),
        { QStringLiteral("verify"), QStringLiteral("-crl_check"), QStringLiteral("-CAfile"), both.fileName(),
            certFile });
    CHECK(verify.exitCode != 0);
    CHECK((verify.out + verify.err).contains("certificate revoked"));

    // The CRL number only grows.
    REQUIRE(test::ctl(dataDir, { QStringLiteral("ca"), QStringLiteral("crl") }).out.contains("CRL 2"));
}

TEST_CASE("A device that fails the challenge: its certificate is issued, never shipped, then revoked after the grace "
          "period, on the CRL, and its revocation follows its certificate upstream")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    const QString serial = QStringLiteral("CHAL-0001");
    {
        test::DevSim sim({ QStringLiteral("--serial"), serial, QStringLiteral("--fault"),
            QStringLiteral("bad-challenge"), QStringLiteral("--link-dir"), tmp.path() });
        auto prov = test::run(Ctl,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + sim.portArgs());
        INFO(prov.out.toStdString() + prov.err.toStdString());
        REQUIRE(prov.exitCode == 1);
    }
    auto record = [&] {
        auto r = test::ctl(
            dataDir, { QStringLiteral("show"), QStringLiteral("--device-serial"), serial, QStringLiteral("--json") });
        REQUIRE(r.exitCode == 0);
        return QJsonDocument::fromJson(r.out).object()[QStringLiteral("certificates")].toArray().first().toObject();
    };
    // Within the grace period (a day by default) it is still valid, and said to be unshipped.
    QJsonObject cert = record();
    CHECK(cert[QStringLiteral("state")].toString() == QLatin1String("installed"));
    CHECK(cert[QStringLiteral("not_shipped")].toBool());
    auto shown = test::ctl(dataDir, { QStringLiteral("show"), QStringLiteral("--device-serial"), serial });
    CHECK(shown.out.contains("Issued, never shipped"));
    // Its certificate does not go upstream while it waits.
    {
        TestUpstream upstream(pki, port);
        REQUIRE(syncOnce(dataDir).exitCode == 0);
        CHECK(query(dataDir, QStringLiteral("SELECT kind, state FROM outbox ORDER BY id"))
            == QStringList { QStringLiteral("certificate|pending") });
    }

    // The grace period over: the next CRL revokes it, as cessationOfOperation.
    QSettings(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat)
        .setValue(QStringLiteral("certificates/unshipped-grace-minutes"), 0);
    auto crl = test::ctl(dataDir, { QStringLiteral("ca"), QStringLiteral("crl") });
    INFO(crl.out.toStdString() + crl.err.toStdString());
    REQUIRE(crl.exitCode == 0);
    cert = record();
    CHECK(cert[QStringLiteral("state")].toString() == QLatin1String("revoked"));
    CHECK_FALSE(cert[QStringLiteral("not_shipped")].toBool());
    const QString text = QString::fromLatin1(
        openssl({ QStringLiteral("crl"), QStringLiteral("-in"), dataDir + QStringLiteral("/ca/crl.pem"),
                    QStringLiteral("-noout"), QStringLiteral("-text") })
            .out);
    CHECK(text.contains(QStringLiteral("Serial Number: ") + cert[QStringLiteral("serial")].toString()));
    CHECK(text.contains(QStringLiteral("Cessation Of Operation")));
    CHECK(query(dataDir, QStringLiteral("SELECT reason FROM outbox WHERE kind = 'revocation'"))
        == QStringList { QStringLiteral("5") });

    // Upstream: the certificate first, then its revocation; both confirmed, none left pending.
    TestUpstream upstream(pki, port);
    REQUIRE(syncOnce(dataDir).exitCode == 0);
    CHECK(query(dataDir, QStringLiteral("SELECT kind, state FROM outbox ORDER BY id"))
        == QStringList { QStringLiteral("certificate|confirmed"), QStringLiteral("revocation|confirmed") });
    CHECK(upstream.counts()[QStringLiteral("revoked")].toObject().size() == 1);
    auto audited = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
    INFO(audited.out.toStdString());
    CHECK(audited.exitCode == 0);
}

TEST_CASE("The openssl cmp mock server takes the RA's p10cr, polls, rr and rejection")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    // The mock server protects its answers with a certificate of its own from the corporate CA.
    openssl({ QStringLiteral("req"), QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
        QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"), QStringLiteral("-keyout"),
        pki.file(QStringLiteral("srv.key")), QStringLiteral("-out"), pki.file(QStringLiteral("srv.csr")),
        QStringLiteral("-subj"), QStringLiteral("/O=Corp/CN=Corp CMP") });
    pki.certify(pki.file(QStringLiteral("srv.csr")), pki.file(QStringLiteral("srv.pem")));
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    oneAtATime(dataDir);
    const QStringList csrs = issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("M"), 1);
    const QString answer = pki.certify(csrs.first(), pki.file(QStringLiteral("m1.pem")), true);

    auto mock = [&](const QStringList& extra) {
        auto p = std::make_unique<QProcess>();
        p->setProcessChannelMode(QProcess::MergedChannels);
        p->start(QStringLiteral("openssl"),
            QStringList { QStringLiteral("cmp"), QStringLiteral("-port"), QString::number(port),
                QStringLiteral("-srv_key"), pki.file(QStringLiteral("srv.key")), QStringLiteral("-srv_cert"),
                pki.file(QStringLiteral("srv.pem")), QStringLiteral("-srv_trusted"), pki.cert(),
                QStringLiteral("-rsp_cert"), answer, QStringLiteral("-rsp_extracerts"), pki.cert() }
                + extra);
        REQUIRE(p->waitForStarted());
        for (int i = 0; i < 50 && !p->readAll().contains("ACCEPT"); ++i)
            p->waitForReadyRead(100);
        return p;
    };
    {
        // A rejection: final, with the mock's status text.
        auto server = mock({ QStringLiteral("-pkistatus"), QStringLiteral("2"), QStringLiteral("-failure"),
            QStringLiteral("2"), QStringLiteral("-statusstring"), QStringLiteral("mock says no") });
        (void)syncOnce(dataDir);
        server->kill();
        server->waitForFinished();
        const QStringList row = query(dataDir, QStringLiteral("SELECT state, upstream_status FROM outbox"));
        INFO(row.join(u'\n').toStdString());
        CHECK(row.first().startsWith(QLatin1String("rejected|")));
        CHECK(row.first().contains(QLatin1String("mock says no")));
    }
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("upstream"), QStringLiteral("retry"), QStringLiteral("--row"), QStringLiteral("1") })
                .exitCode
        == 0);
    {
        // Polled twice, then certified: the answer verifies to the anchors and is for the device's key.
        auto server = mock({ QStringLiteral("-poll_count"), QStringLiteral("2"), QStringLiteral("-check_after"),
            QStringLiteral("1") });
        auto r = syncOnce(dataDir);
        INFO(r.out.toStdString() << r.err.toStdString());
        CHECK(r.exitCode == 0);
        server->kill();
        server->waitForFinished();
        CHECK(
            query(dataDir, QStringLiteral("SELECT state FROM outbox")) == QStringList { QStringLiteral("confirmed") });
    }
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("scrap"), QStringLiteral("--device-serial"), QStringLiteral("M-000001"),
                    QStringLiteral("--reason"), QStringLiteral("returned") })
                .exitCode
        == 0);
    {
        auto server = mock({});
        auto r = syncOnce(dataDir);
        INFO(r.out.toStdString() << r.err.toStdString());
        CHECK(r.exitCode == 0);
        server->kill();
        server->waitForFinished();
        CHECK(query(dataDir, QStringLiteral("SELECT kind, state FROM outbox ORDER BY id"))
            == QStringList { QStringLiteral("certificate|confirmed"), QStringLiteral("revocation|confirmed") });
    }
}

TEST_CASE("With the upstream's signer pinned, another certificate of the same PKI cannot accept a revocation")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    // The upstream's own CMP signer, and another certificate the same corporate CA issued
    // (another station's RA, say): both verify to the anchors.
    for (const char* who : { "srv", "other" }) {
        const QString name = QString::fromLatin1(who);
        openssl({ QStringLiteral("req"), QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
            QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"), QStringLiteral("-keyout"),
            pki.file(name + QStringLiteral(".key")), QStringLiteral("-out"), pki.file(name + QStringLiteral(".csr")),
            QStringLiteral("-subj"),
            name == QLatin1String("srv") ? QStringLiteral("/O=Corp/CN=Corp CMP")
                                         : QStringLiteral("/O=Acme/CN=Line 4 RA") });
        pki.certify(pki.file(name + QStringLiteral(".csr")), pki.file(name + QStringLiteral(".pem")));
    }
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    oneAtATime(dataDir);
    const QStringList csrs = issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("P"), 1);
    const QString answer = pki.certify(csrs.first(), pki.file(QStringLiteral("p1.pem")), true);
    auto mock = [&](const QString& signer) {
        auto p = std::make_unique<QProcess>();
        p->setProcessChannelMode(QProcess::MergedChannels);
        p->start(QStringLiteral("openssl"),
            QStringList { QStringLiteral("cmp"), QStringLiteral("-port"), QString::number(port),
                QStringLiteral("-srv_key"), pki.file(signer + QStringLiteral(".key")), QStringLiteral("-srv_cert"),
                pki.file(signer + QStringLiteral(".pem")), QStringLiteral("-srv_trusted"), pki.cert(),
                QStringLiteral("-rsp_cert"), answer, QStringLiteral("-rsp_extracerts"), pki.cert() });
        REQUIRE(p->waitForStarted());
        for (int i = 0; i < 50 && !p->readAll().contains("ACCEPT"); ++i)
            p->waitForReadyRead(100);
        return p;
    };
    auto syncWith = [&](const QString& signer) {
        auto server = mock(signer);
        auto r = syncOnce(dataDir);
        server->kill();
        server->waitForFinished();
        return r;
    };
    // Unpinned, the anchors alone decide: the other certificate's answer is taken (the reason
    // to pin).
    (void)syncWith(QStringLiteral("other"));
    REQUIRE(query(dataDir, QStringLiteral("SELECT state FROM outbox")) == QStringList { QStringLiteral("confirmed") });

    auto pinned = test::ctl(dataDir,
        { QStringLiteral("upstream"), QStringLiteral("configure"), QStringLiteral("--url"), urlOf(port),
            QStringLiteral("--trusted"), pki.cert(), QStringLiteral("--server-cert"),
            pki.file(QStringLiteral("srv.pem")) });
    if (pinned.exitCode != 0)
        qWarning("%s%s", pinned.out.constData(), pinned.err.constData());
    REQUIRE(pinned.exitCode == 0);
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("scrap"), QStringLiteral("--device-serial"), QStringLiteral("P-000001"),
                    QStringLiteral("--reason"), QStringLiteral("returned") })
                .exitCode
        == 0);
    // The other certificate "accepts" the revocation: refused, the row stays open.
    (void)syncWith(QStringLiteral("other"));
    const QStringList refused
        = query(dataDir, QStringLiteral("SELECT state, last_error FROM outbox WHERE kind = 'revocation'"));
    REQUIRE(refused.size() == 1);
    CHECK_FALSE(refused.first().startsWith(QLatin1String("confirmed")));
    CHECK(refused.first().contains(QLatin1String("pinned")));
    // The upstream's own signer (the row sent again now, not after its back-off): done.
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("upstream"), QStringLiteral("retry"), QStringLiteral("--row"), QStringLiteral("2") })
                .exitCode
        == 0);
    REQUIRE(syncWith(QStringLiteral("srv")).exitCode == 0);
    CHECK(query(dataDir, QStringLiteral("SELECT kind, state FROM outbox ORDER BY id"))
        == QStringList { QStringLiteral("certificate|confirmed"), QStringLiteral("revocation|confirmed") });
}

TEST_CASE("Two processes never sync at once")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("L"), 3);
    TestUpstream slow(pki, port,
        { QStringLiteral("--fault"), QStringLiteral("slow"), QStringLiteral("--delay-ms"), QStringLiteral("1000") });
    QProcess first;
    first.start(Ctl,
        { QStringLiteral("upstream"), QStringLiteral("sync"), QStringLiteral("--once"), QStringLiteral("--data-dir"),
            dataDir });
    REQUIRE(first.waitForStarted());
    QThread::msleep(1500);
    auto second = syncOnce(dataDir);
    CHECK(second.exitCode == 4);
    CHECK(second.err.contains("Another process is syncing"));
    REQUIRE(first.waitForFinished(60000));
    CHECK(first.exitCode() == 0);
    CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == 3);
}

TEST_CASE("kill -9 of a station syncing 16 transactions at once, ten times: nothing lost, nothing confirmed twice")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    {
        QSettings ini(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        ini.setValue(QStringLiteral("upstream/in-flight"), 16);
    }
    const int devices = 40;
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("K"), devices);
    // Each message held 150 ms each way: a kill finds transactions in every step.
    TestUpstream slow(pki, port,
        { QStringLiteral("--fault"), QStringLiteral("slow"), QStringLiteral("--delay-ms"), QStringLiteral("150") });
    for (int run = 0; run < 10; ++run) {
        QProcess sync;
        sync.start(Ctl,
            { QStringLiteral("upstream"), QStringLiteral("sync"), QStringLiteral("--once"),
                QStringLiteral("--data-dir"), dataDir });
        REQUIRE(sync.waitForStarted());
        QThread::msleep(400 + QRandomGenerator::global()->bounded(800u));
        sync.kill(); // SIGKILL
        sync.waitForFinished();
        // The next one takes the lease over at once: its holder's process is gone.
    }
    query(dataDir, QStringLiteral("UPDATE outbox SET next_attempt = NULL"));
    auto last = syncOnce(dataDir);
    INFO(last.out.toStdString() << last.err.toStdString());
    REQUIRE(last.exitCode == 0);
    const QStringList states = query(dataDir, QStringLiteral("SELECT state FROM outbox"));
    REQUIRE(states.size() == devices); // nothing lost
    // Each row is through: confirmed, or answered (its certificate recorded; a kill came
    // between the confirmation and its acknowledgement).
    int confirmedRows = 0;
    for (const QString& st : states) {
        CHECK((st == QLatin1String("confirmed") || st == QLatin1String("answered")));
        confirmedRows += st == QLatin1String("confirmed");
    }
    const QJsonObject counts = slow.counts();
    CHECK(counts[QStringLiteral("most_open")].toInteger() >= 16); // the transactions were in flight together
    const QJsonObject confirmed = counts[QStringLiteral("confirmed")].toObject();
    int confirmations = 0;
    for (auto it = confirmed.begin(); it != confirmed.end(); ++it) {
        CHECK(it.value().toInt() == 1); // no key confirmed twice
        confirmations += it.value().toInt();
    }
    CHECK(confirmations >= confirmedRows);
    CHECK(confirmations <= devices);
    // A key is certified again only when a kill lost the first answer before it was recorded:
    // that certificate was never confirmed (the upstream discards it, RFC 4210 5.3.18).
    const QJsonObject certified = counts[QStringLiteral("certified")].toObject();
    CHECK(certified.size() == devices);
    // Each row's upstream certificate is for its own key, recorded once, and verifies to the
    // corporate CA.
    const QStringList recorded
        = query(dataDir, QStringLiteral("SELECT hex(upstream_der) FROM certificates WHERE upstream_der IS NOT NULL"));
    CHECK(recorded.size() == devices);
    for (const QString& der : recorded) {
        auto cert = core::ossl::certFromDer(QByteArray::fromHex(der.toLatin1()));
        REQUIRE(cert.has_value());
        const QString pem = tmp.filePath(QStringLiteral("upstream.pem"));
        QFile out(pem);
        REQUIRE(out.open(QIODevice::WriteOnly | QIODevice::Truncate));
        out.write(core::ossl::certToPem(cert->get()));
        out.close();
        CHECK(openssl({ QStringLiteral("verify"), QStringLiteral("-CAfile"), pki.cert(), pem }).exitCode == 0);
    }
    auto verify = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
    CHECK(verify.exitCode == 0);
}

namespace {

QStringList filesUnder(const QString& dir)
{
    return QDir(dir).entryList(QDir::Files, QDir::Name);
}

/// The names in a part's archive, as tar lists them.
QStringList tarNames(const QString& tar)
{
    auto listed = test::run(QStringLiteral("tar"), { QStringLiteral("-tf"), tar });
    REQUIRE(listed.exitCode == 0);
    QStringList names = QString::fromUtf8(listed.out).split(u'\n', Qt::SkipEmptyParts);
    names.sort();
    return names;
}

} // namespace

TEST_CASE("Offline: an exported batch is signed by the RA key, the upstream's answer is imported once")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(freePort())); // the URL is never reached
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("X"), 3);

    // Two rows a part: a batch larger than one part.
    const QString batch = tmp.filePath(QStringLiteral("batch1"));
    auto exported = test::ctl(dataDir,
        { QStringLiteral("export"), QStringLiteral("--out"), batch, QStringLiteral("--part-rows"),
            QStringLiteral("2") });
    INFO(exported.out.toStdString() << exported.err.toStdString());
    REQUIRE(exported.exitCode == 0);
    CHECK(exported.out.contains("in 2 part(s)"));
    CHECK(filesUnder(batch)
        == QStringList { QStringLiteral("batch.json"), QStringLiteral("batch.json.p7s"),
            QStringLiteral("part-0001.json"), QStringLiteral("part-0001.json.p7s"), QStringLiteral("part-0001.tar"),
            QStringLiteral("part-0002.json"), QStringLiteral("part-0002.json.p7s"), QStringLiteral("part-0002.tar") });
    CHECK(tarNames(batch + QStringLiteral("/part-0001.tar"))
        == QStringList { QStringLiteral("audit-head.json"), QStringLiteral("certificates.p7b"),
            QStringLiteral("cmp/000001-X-000001.p10cr.der"), QStringLiteral("cmp/000002-X-000002.p10cr.der"),
            QStringLiteral("crl.pem"), QStringLiteral("pkcs10/000001-X-000001.csr"),
            QStringLiteral("pkcs10/000002-X-000002.csr") });
    REQUIRE(batchVerifies(batch, pki.cert()));
    // Each part checks alone, as a stick with one part on it would.
    CHECK(test::partVerifies(batch, QStringLiteral("part-0001"), pki.cert()));
    CHECK(test::partVerifies(batch, QStringLiteral("part-0002"), pki.cert()));
    {
        QTemporaryDir unpacked;
        REQUIRE(test::run(QStringLiteral("tar"),
                    { QStringLiteral("-xf"), batch + QStringLiteral("/part-0001.tar"), QStringLiteral("-C"),
                        unpacked.path() })
                    .exitCode
            == 0);
        CHECK(test::bundleCertificates(unpacked.filePath(QStringLiteral("certificates.p7b"))).size()
            == 2 + 2); // and the CA chain
    }

    // A byte of any file changed (in its middle, or its last): the batch no longer verifies.
    for (const QString& name : filesUnder(batch)) {
        for (int where : { 0, 1 }) {
            const QString copy = tmp.filePath(QStringLiteral("tampered"));
            QDir(copy).removeRecursively();
            REQUIRE(test::run(QStringLiteral("cp"), { QStringLiteral("-r"), batch, copy }).exitCode == 0);
            QFile f(copy + u'/' + name);
            REQUIRE(f.open(QIODevice::ReadWrite));
            QByteArray bytes = f.readAll();
            const qsizetype at = where == 0 ? bytes.size() / 2 : bytes.size() - 1;
            bytes[at] = static_cast<char>(bytes[at] ^ 0x20);
            f.seek(0);
            f.write(bytes);
            f.close();
            INFO(name.toStdString() << " byte " << at);
            CHECK_FALSE(batchVerifies(copy, pki.cert()));
            if (name.startsWith(QLatin1String("part-")))
                CHECK_FALSE(test::partVerifies(copy, name.left(9), pki.cert()));
        }
    }

    // Nothing more to export; the batch can be written again.
    CHECK(
        test::ctl(dataDir, { QStringLiteral("export"), QStringLiteral("--out"), tmp.filePath(QStringLiteral("none")) })
            .exitCode
        == 3);
    QFile manifest(batch + QStringLiteral("/batch.json"));
    REQUIRE(manifest.open(QIODevice::ReadOnly));
    const QString id = QJsonDocument::fromJson(manifest.readAll()).object()[QStringLiteral("batch")].toString();
    const QString again = tmp.filePath(QStringLiteral("again"));
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("export"), QStringLiteral("--again"), id, QStringLiteral("--out"), again,
                    QStringLiteral("--part-rows"), QStringLiteral("2") })
                .exitCode
        == 0);
    CHECK(filesUnder(again) == filesUnder(batch));
    CHECK(batchVerifies(again, pki.cert()));

    // The upstream answers the batch's CMP messages a part at a time (it checks the RA's
    // signature on each); the answers are imported part by part.
    const QString answer = tmp.filePath(QStringLiteral("answer.p7b"));
    for (const auto& [part, recorded, confirmed] :
        { std::tuple { "part-0002", "1 upstream", 1 }, std::tuple { "part-0001", "2 upstream", 3 } }) {
        auto answered = test::run(UpstreamBin,
            { QStringLiteral("--ca-cert"), pki.cert(), QStringLiteral("--ca-key"), pki.key(),
                QStringLiteral("--trusted"), pki.cert(), QStringLiteral("--answer-batch"),
                batch + u'/' + QLatin1String(part) + QStringLiteral(".tar"), QStringLiteral("--answer-out"), answer });
        INFO(answered.out.toStdString() << answered.err.toStdString());
        REQUIRE(answered.exitCode == 0);
        auto imported = test::ctl(dataDir, { QStringLiteral("import"), QStringLiteral("--in"), answer });
        INFO(imported.out.toStdString());
        REQUIRE(imported.exitCode == 0);
        CHECK(imported.out.contains(recorded));
        CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == confirmed);
    }
    const QStringList before = query(dataDir, QStringLiteral("SELECT serial, hex(upstream_der) FROM certificates"));
    auto twice = test::ctl(dataDir, { QStringLiteral("import"), QStringLiteral("--in"), answer });
    CHECK(twice.exitCode == 0);
    CHECK(twice.out.contains("2 already on record"));
    CHECK(query(dataDir, QStringLiteral("SELECT serial, hex(upstream_der) FROM certificates")) == before);

    // A second batch answered by hand with the openssl CLI, as a CA that does not speak CMP.
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs2")), QStringLiteral("Y"), 2);
    const QString batch2 = tmp.filePath(QStringLiteral("batch2"));
    REQUIRE(test::ctl(dataDir, { QStringLiteral("export"), QStringLiteral("--out"), batch2 }).exitCode == 0);
    REQUIRE(test::run(QStringLiteral("tar"),
                { QStringLiteral("-xf"), batch2 + QStringLiteral("/part-0001.tar"), QStringLiteral("-C"), batch2 })
                .exitCode
        == 0);
    QStringList certArgs { QStringLiteral("crl2pkcs7"), QStringLiteral("-nocrl"), QStringLiteral("-outform"),
        QStringLiteral("DER"), QStringLiteral("-out"), tmp.filePath(QStringLiteral("byhand.p7b")) };
    for (const QString& csr : QDir(batch2 + QStringLiteral("/pkcs10")).entryList(QDir::Files)) {
        const QString pem
            = pki.certify(batch2 + QStringLiteral("/pkcs10/") + csr, tmp.filePath(csr + QStringLiteral(".pem")), true);
        certArgs << QStringLiteral("-certfile") << pem;
    }
    certArgs << QStringLiteral("-certfile") << pki.cert();
    openssl(certArgs);
    // An intruder's certificate for one of the keys, and one for a key the station never saw.
    openssl({ QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
        QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
        QStringLiteral("-keyout"), tmp.filePath(QStringLiteral("evil.key")), QStringLiteral("-out"),
        tmp.filePath(QStringLiteral("evil.pem")), QStringLiteral("-subj"), QStringLiteral("/CN=Evil CA"),
        QStringLiteral("-addext"), QStringLiteral("basicConstraints=critical,CA:TRUE") });
    openssl({ QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"),
        batch2 + QStringLiteral("/pkcs10/000004-Y-000001.csr"), QStringLiteral("-inform"), QStringLiteral("DER"),
        QStringLiteral("-CA"), tmp.filePath(QStringLiteral("evil.pem")), QStringLiteral("-CAkey"),
        tmp.filePath(QStringLiteral("evil.key")), QStringLiteral("-CAcreateserial"), QStringLiteral("-out"),
        tmp.filePath(QStringLiteral("evil-leaf.pem")) });
    const QString strangerCsr = tmp.filePath(QStringLiteral("stranger.csr"));
    openssl({ QStringLiteral("req"), QStringLiteral("-newkey"), QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
        QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"), QStringLiteral("-keyout"),
        tmp.filePath(QStringLiteral("stranger.key")), QStringLiteral("-out"), strangerCsr, QStringLiteral("-subj"),
        QStringLiteral("/CN=stranger") });
    pki.certify(strangerCsr, tmp.filePath(QStringLiteral("stranger.pem")));
    const QStringList snapshot = query(dataDir, QStringLiteral("SELECT serial, hex(upstream_der) FROM certificates"));
    for (const char* bad : { "evil-leaf.pem", "stranger.pem" }) {
        auto refused = test::ctl(
            dataDir, { QStringLiteral("import"), QStringLiteral("--in"), tmp.filePath(QString::fromLatin1(bad)) });
        INFO(refused.out.toStdString());
        CHECK(refused.exitCode == 6);
        CHECK(refused.out.contains("refused:"));
    }
    CHECK(query(dataDir, QStringLiteral("SELECT serial, hex(upstream_der) FROM certificates")) == snapshot);
    auto byHand = test::ctl(
        dataDir, { QStringLiteral("import"), QStringLiteral("--in"), tmp.filePath(QStringLiteral("byhand.p7b")) });
    INFO(byHand.out.toStdString());
    CHECK(byHand.exitCode == 0);
    CHECK(byHand.out.contains("2 upstream certificate(s) recorded"));
    CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == 5);
    CHECK(query(dataDir, QStringLiteral("SELECT COUNT(*) FROM audit WHERE kind IN ('exported', 'imported')"))
        == QStringList { QStringLiteral("9") }); // 3 exports, 6 imports
    CHECK(test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") }).exitCode == 0);
}

TEST_CASE("The window's process syncs what the line passed, on a thread of its own")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    TestUpstream upstream(pki, port);
    test::DevSim sim({ QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--serial-prefix"),
        QStringLiteral("WIN"), QStringLiteral("--link-dir"), tmp.path() });
    QProcess window;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
    window.setProcessEnvironment(env);
    window.start(QStringLiteral(IMPRINT_GUI),
        QStringList { QStringLiteral("--data-dir"), dataDir, QStringLiteral("--exit-when-done") } + sim.portArgs());
    REQUIRE(window.waitForFinished(60000));
    INFO(window.readAllStandardOutput().toStdString() << window.readAllStandardError().toStdString());
    REQUIRE(window.exitCode() == 0);
    CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == 2);
    CHECK(upstream.counts()[QStringLiteral("confirmed")].toObject().size() == 2);
    CHECK(query(dataDir, QStringLiteral("SELECT COUNT(*) FROM leases")) == QStringList { QStringLiteral("0") });
}

TEST_CASE("Over HTTPS: the upstream's TLS certificate is checked, then CMP runs inside")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, QStringLiteral("https://127.0.0.1:%1/pkix/").arg(port));
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("T"), 1);
    {
        // A server whose TLS certificate no anchor vouches for: nothing is sent.
        QTemporaryDir otherDir;
        UpstreamPki other(otherDir.path());
        TestUpstream impostor(other, port, { QStringLiteral("--tls") });
        auto r = syncOnce(dataDir);
        CHECK(r.exitCode == 5);
        CHECK(r.err.contains("certificate verify failed"));
        CHECK(impostor.counts()[QStringLiteral("requests")].toInt() == 0);
    }
    TestUpstream upstream(pki, port, { QStringLiteral("--tls") });
    query(dataDir, QStringLiteral("UPDATE outbox SET next_attempt = NULL"));
    auto r = syncOnce(dataDir);
    INFO(r.out.toStdString() << r.err.toStdString());
    REQUIRE(r.exitCode == 0);
    CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == 1);
}

TEST_CASE("upstream enroll: the RA key certified online under a one-time secret, read from a 0600 file only")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(dataDir);
    REQUIRE(test::ctl(dataDir, { QStringLiteral("ra"), QStringLiteral("keygen") }).exitCode == 0);
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("upstream"), QStringLiteral("configure"), QStringLiteral("--url"), urlOf(port),
                    QStringLiteral("--trusted"), pki.cert() })
                .exitCode
        == 0);
    // The mock server answers the ir with the certificate it is given: the RA key's.
    const QString csr = pki.file(QStringLiteral("ra.csr"));
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("ra"), QStringLiteral("csr"), QStringLiteral("--subject"),
                    QStringLiteral("/O=Acme/CN=Line 9 RA"), QStringLiteral("--out"), csr })
                .exitCode
        == 0);
    const QString raCert = pki.certify(csr, pki.file(QStringLiteral("ra.pem")));
    QProcess server;
    server.setProcessChannelMode(QProcess::MergedChannels);
    server.start(QStringLiteral("openssl"),
        { QStringLiteral("cmp"), QStringLiteral("-port"), QString::number(port), QStringLiteral("-srv_ref"),
            QStringLiteral("line9"), QStringLiteral("-srv_secret"), QStringLiteral("pass:one-time-123"),
            QStringLiteral("-rsp_cert"), raCert, QStringLiteral("-rsp_capubs"), pki.cert() });
    REQUIRE(server.waitForStarted());
    for (int i = 0; i < 50 && !server.readAll().contains("ACCEPT"); ++i)
        server.waitForReadyRead(100);

    auto secretFile = [&](const QString& name, const QByteArray& secret, QFileDevice::Permissions mode) {
        QFile f(tmp.filePath(name));
        REQUIRE(f.open(QIODevice::WriteOnly));
        f.write(secret);
        f.close();
        f.setPermissions(mode);
        return f.fileName();
    };
    const auto owner = QFileDevice::ReadOwner | QFileDevice::WriteOwner;
    const QStringList enroll { QStringLiteral("upstream"), QStringLiteral("enroll"), QStringLiteral("--subject"),
        QStringLiteral("/O=Acme/CN=Line 9 RA"), QStringLiteral("--reference"), QStringLiteral("line9"),
        QStringLiteral("--secret-file") };
    // A secret anyone may read is refused before it is used; a wrong one is refused by the upstream.
    auto loose = test::ctl(dataDir,
        enroll + QStringList { secretFile(QStringLiteral("loose"), "one-time-123", owner | QFileDevice::ReadOther) });
    CHECK(loose.exitCode != 0);
    auto wrong = test::ctl(dataDir, enroll + QStringList { secretFile(QStringLiteral("wrong"), "guess", owner) });
    CHECK(wrong.exitCode != 0);
    CHECK_FALSE(QFile::exists(dataDir + QStringLiteral("/ra/ra-chain.pem")));
    auto good = test::ctl(dataDir, enroll + QStringList { secretFile(QStringLiteral("good"), "one-time-123", owner) });
    INFO(good.out.toStdString() << good.err.toStdString());
    REQUIRE(good.exitCode == 0);
    server.kill();
    server.waitForFinished();
    QFile installed(dataDir + QStringLiteral("/ra/ra-chain.pem"));
    REQUIRE(installed.open(QIODevice::ReadOnly));
    auto chain = core::ossl::certsDerFromPem(installed.readAll());
    REQUIRE(chain.has_value());
    QFile given(raCert);
    REQUIRE(given.open(QIODevice::ReadOnly));
    CHECK(chain->first() == core::ossl::certsDerFromPem(given.readAll())->first());
    // The secret is nowhere in the station's files.
    for (const QString& f : { QStringLiteral("/station.ini"), QStringLiteral("/imprint.sqlite") }) {
        QFile file(dataDir + f);
        REQUIRE(file.open(QIODevice::ReadOnly));
        CHECK_FALSE(file.readAll().contains("one-time-123"));
    }
}

TEST_CASE("upstream sync as a service: a refused PIN ends it with 6 (not to be tried again), SIGTERM ends a round")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("SVC"), 3);

    SECTION("SIGTERM in the middle of a round: it stops within seconds, not after the round's time-out")
    {
        // Every message takes 3 s (1.5 s each way): a round of 3 rows would take about 10 s.
        TestUpstream slow(pki, port,
            { QStringLiteral("--fault"), QStringLiteral("slow"), QStringLiteral("--delay-ms"),
                QStringLiteral("1500") });
        QProcess sync;
        sync.start(Ctl, { QStringLiteral("upstream"), QStringLiteral("sync"), QStringLiteral("--data-dir"), dataDir });
        REQUIRE(sync.waitForStarted());
        QThread::msleep(1500); // the first row is under way
        QElapsedTimer stopping;
        stopping.start();
        sync.terminate();
        REQUIRE(sync.waitForFinished(20000));
        CHECK(stopping.elapsed() < 6000);
        CHECK(sync.exitStatus() == QProcess::NormalExit);
    }
    SECTION("a wrong PIN in the PIN file: exit 6, and nothing sent")
    {
        TestUpstream up(pki, port);
        QFile pin(dataDir + QStringLiteral("/secrets/user.pin"));
        REQUIRE(pin.open(QIODevice::WriteOnly | QIODevice::Truncate));
        pin.write("999999\n");
        pin.close();
        auto r = syncOnce(dataDir);
        INFO(r.err.toStdString());
        CHECK(r.exitCode == 6);
        CHECK(status(dataDir)[QStringLiteral("rows")].toObject()[QStringLiteral("confirmed")].toInt() == 0);
    }
}

TEST_CASE("Offline: an answer is recorded on the request that went out, and import reads regular files only")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(freePort())); // the URL is never reached
    const QStringList csrs = issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("Z"), 1);
    const QString batch = tmp.filePath(QStringLiteral("batch"));
    REQUIRE(test::ctl(dataDir, { QStringLiteral("export"), QStringLiteral("--out"), batch }).exitCode == 0);
    // The device is issued again with the same key; that certificate never went upstream.
    QThread::msleep(1100);
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("issue"), QStringLiteral("--csr"), csrs.first(), QStringLiteral("--device-serial"),
                    QStringLiteral("Z-000001"), QStringLiteral("--out"), tmp.filePath(QStringLiteral("again.pem")) })
                .exitCode
        == 0);
    const QString answer = tmp.filePath(QStringLiteral("answer.p7b"));
    REQUIRE(test::run(UpstreamBin,
                { QStringLiteral("--ca-cert"), pki.cert(), QStringLiteral("--ca-key"), pki.key(),
                    QStringLiteral("--trusted"), pki.cert(), QStringLiteral("--answer-batch"), batch,
                    QStringLiteral("--answer-out"), answer })
                .exitCode
        == 0);

    // A link to a device or to a pipe beside the answer: refused at once, nothing read.
    const QString in = tmp.filePath(QStringLiteral("in"));
    QDir().mkpath(in);
    REQUIRE(QFile::copy(answer, in + QStringLiteral("/answer.p7b")));
    REQUIRE(QFile::link(QStringLiteral("/dev/zero"), in + QStringLiteral("/zero.crl")));
    auto zero = test::ctl(dataDir, { QStringLiteral("import"), QStringLiteral("--in"), in });
    INFO(zero.out.toStdString() << zero.err.toStdString());
    CHECK(zero.exitCode == 2);
    CHECK(zero.err.contains("not a regular file"));
    REQUIRE(QFile::remove(in + QStringLiteral("/zero.crl")));
    const QString fifo = tmp.filePath(QStringLiteral("fifo"));
    REQUIRE(test::run(QStringLiteral("mkfifo"), { fifo }).exitCode == 0);
    REQUIRE(QFile::link(fifo, in + QStringLiteral("/pipe.pem")));
    auto pipe = test::ctl(dataDir, { QStringLiteral("import"), QStringLiteral("--in"), in });
    CHECK(pipe.exitCode == 2);
    CHECK(pipe.err.contains("not a regular file"));
    REQUIRE(QFile::remove(in + QStringLiteral("/pipe.pem")));
    CHECK(query(dataDir, QStringLiteral("SELECT COUNT(*) FROM certificates WHERE upstream_der IS NOT NULL"))
        == QStringList { QStringLiteral("0") });

    // The answer goes on the certificate whose request was exported, not on the newer one.
    auto imported = test::ctl(dataDir, { QStringLiteral("import"), QStringLiteral("--in"), in });
    INFO(imported.out.toStdString() << imported.err.toStdString());
    REQUIRE(imported.exitCode == 0);
    CHECK(imported.out.contains("1 upstream certificate(s) recorded"));
    CHECK(query(dataDir,
              QStringLiteral("SELECT o.export_batch != '', o.state FROM certificates c JOIN outbox o ON o.subject = "
                             "c.serial AND o.kind = 'certificate' WHERE c.upstream_der IS NOT NULL"))
        == QStringList { QStringLiteral("1|confirmed") });
    CHECK(query(dataDir,
              QStringLiteral("SELECT o.state FROM certificates c JOIN outbox o ON o.subject = c.serial AND o.kind = "
                             "'certificate' WHERE c.upstream_der IS NULL"))
        == QStringList { QStringLiteral("pending") });
}

TEST_CASE("Offline: an exported revocation is ended by the upstream's CRL, and an export killed midway marks nothing")
{
    QTemporaryDir tmp;
    UpstreamPki pki(tmp.path());
    const quint16 port = freePort();
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    enrollStation(dataDir, pki, urlOf(port));
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs")), QStringLiteral("R"), 1);
    {
        TestUpstream upstream(pki, port); // the certificate goes up online
        REQUIRE(syncOnce(dataDir).exitCode == 0);
    }
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("scrap"), QStringLiteral("--device-serial"), QStringLiteral("R-000001"),
                    QStringLiteral("--reason"), QStringLiteral("dropped") })
                .exitCode
        == 0);
    // The link is down now: the revocation leaves on a stick.
    const QString batch = tmp.filePath(QStringLiteral("batch"));
    auto exported = test::ctl(dataDir, { QStringLiteral("export"), QStringLiteral("--out"), batch });
    INFO(exported.out.toStdString() << exported.err.toStdString());
    REQUIRE(exported.exitCode == 0);
    CHECK(exported.out.contains("1 revocation(s)"));
    REQUIRE(batchVerifies(batch, pki.cert()));
    CHECK(query(dataDir, QStringLiteral("SELECT state FROM outbox WHERE kind = 'revocation'"))
        != QStringList { QStringLiteral("confirmed") });
    const QString answer = tmp.filePath(QStringLiteral("answer.p7b"));
    auto answered = test::run(UpstreamBin,
        { QStringLiteral("--ca-cert"), pki.cert(), QStringLiteral("--ca-key"), pki.key(), QStringLiteral("--trusted"),
            pki.cert(), QStringLiteral("--answer-batch"), batch, QStringLiteral("--answer-out"), answer });
    INFO(answered.out.toStdString() << answered.err.toStdString());
    REQUIRE(answered.exitCode == 0);
    REQUIRE(QFile::exists(tmp.filePath(QStringLiteral("answer.crl"))));
    // A CRL signed by another CA ends nothing.
    openssl({ QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"), QStringLiteral("ec"),
        QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
        QStringLiteral("-keyout"), tmp.filePath(QStringLiteral("evil.key")), QStringLiteral("-out"),
        tmp.filePath(QStringLiteral("evil.pem")), QStringLiteral("-subj"),
        QStringLiteral("/O=Corp/CN=Corp Device CA") });
    QFile crl(tmp.filePath(QStringLiteral("answer.crl")));
    REQUIRE(crl.open(QIODevice::ReadOnly));
    const QByteArray genuine = crl.readAll();
    QByteArray forged = genuine;
    const qsizetype mid = forged.indexOf("-----END") - 10;
    forged[mid] = forged[mid] == 'A' ? 'B' : 'A';
    QFile bad(tmp.filePath(QStringLiteral("forged.crl")));
    REQUIRE(bad.open(QIODevice::WriteOnly));
    bad.write(forged);
    bad.close();
    auto refused = test::ctl(dataDir, { QStringLiteral("import"), QStringLiteral("--in"), bad.fileName() });
    INFO(refused.out.toStdString() << refused.err.toStdString());
    CHECK(refused.exitCode != 0);
    CHECK(query(dataDir, QStringLiteral("SELECT state FROM outbox WHERE kind = 'revocation'"))
        != QStringList { QStringLiteral("confirmed") });
    // Another CA of the same name, itself a trust anchor, signs a CRL listing the upstream
    // certificate's serial: it did not issue that certificate, so it ends nothing.
    {
        QFile bundle(tmp.filePath(QStringLiteral("anchors.pem")));
        REQUIRE(bundle.open(QIODevice::WriteOnly));
        for (const QString& f : { pki.cert(), tmp.filePath(QStringLiteral("evil.pem")) }) {
            QFile part(f);
            REQUIRE(part.open(QIODevice::ReadOnly));
            bundle.write(part.readAll());
        }
        bundle.close();
        REQUIRE(test::ctl(dataDir,
                    { QStringLiteral("upstream"), QStringLiteral("configure"), QStringLiteral("--url"), urlOf(port),
                        QStringLiteral("--trusted"), bundle.fileName() })
                    .exitCode
            == 0);
        const QStringList upstreamDer = query(
            dataDir, QStringLiteral("SELECT hex(upstream_der) FROM certificates WHERE upstream_der IS NOT NULL"));
        REQUIRE(upstreamDer.size() == 1);
        auto cert = core::ossl::certFromDer(QByteArray::fromHex(upstreamDer.first().toLatin1()));
        REQUIRE(cert.has_value());
        const QString caDir = tmp.filePath(QStringLiteral("evil-ca"));
        QDir().mkpath(caDir);
        QFile index(caDir + QStringLiteral("/index.txt"));
        REQUIRE(index.open(QIODevice::WriteOnly));
        index.write(QStringLiteral("R\t351231235959Z\t261201000000Z,keyCompromise\t%1\tunknown\t/CN=x\n")
                        .arg(core::ossl::serialHex(cert->get()))
                        .toUtf8());
        index.close();
        QFile conf(caDir + QStringLiteral("/ca.cnf"));
        REQUIRE(conf.open(QIODevice::WriteOnly));
        conf.write(QStringLiteral("[ca]\ndefault_ca = evil\n[evil]\ndatabase = %1/index.txt\ndefault_md = "
                                  "sha256\ndefault_crl_days = 30\n")
                       .arg(caDir)
                       .toUtf8());
        conf.close();
        const QString evilCrl = tmp.filePath(QStringLiteral("evil.crl"));
        auto made = openssl({ QStringLiteral("ca"), QStringLiteral("-gencrl"), QStringLiteral("-config"),
            conf.fileName(), QStringLiteral("-cert"), tmp.filePath(QStringLiteral("evil.pem")),
            QStringLiteral("-keyfile"), tmp.filePath(QStringLiteral("evil.key")), QStringLiteral("-out"), evilCrl });
        INFO(made.err.toStdString());
        REQUIRE(made.exitCode == 0);
        auto other = test::ctl(dataDir, { QStringLiteral("import"), QStringLiteral("--in"), evilCrl });
        INFO(other.out.toStdString() << other.err.toStdString());
        CHECK(other.out.contains("0 revocation(s) ended"));
        CHECK(query(dataDir, QStringLiteral("SELECT state FROM outbox WHERE kind = 'revocation'"))
            != QStringList { QStringLiteral("confirmed") });
    }
    auto imported = test::ctl(dataDir, { QStringLiteral("import"), QStringLiteral("--in"), crl.fileName() });
    INFO(imported.out.toStdString() << imported.err.toStdString());
    REQUIRE(imported.exitCode == 0);
    CHECK(imported.out.contains("1 revocation(s) ended"));
    CHECK(query(dataDir, QStringLiteral("SELECT state FROM outbox WHERE kind = 'revocation'"))
        == QStringList { QStringLiteral("confirmed") });

    // An export killed midway: nothing is marked, and the same command completes it.
    issueRequests(dataDir, tmp.filePath(QStringLiteral("reqs2")), QStringLiteral("K"), 40);
    const QString killed = tmp.filePath(QStringLiteral("killed"));
    QProcess run;
    run.start(Ctl,
        { QStringLiteral("export"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--out"), killed,
            QStringLiteral("--part-rows"), QStringLiteral("5") });
    REQUIRE(run.waitForStarted());
    for (int i = 0; i < 200 && !QFile::exists(killed + QStringLiteral("/part-0002.json")); ++i)
        QThread::msleep(10);
    run.kill();
    run.waitForFinished();
    CHECK_FALSE(QFile::exists(killed + QStringLiteral("/batch.json")));
    CHECK(query(dataDir,
              QStringLiteral("SELECT COUNT(*) FROM outbox WHERE export_batch != '' AND subject IN (SELECT "
                             "serial FROM certificates WHERE device_serial LIKE 'K-%')"))
        == QStringList { QStringLiteral("0") });
    auto again = test::ctl(dataDir,
        { QStringLiteral("export"), QStringLiteral("--out"), killed, QStringLiteral("--part-rows"),
            QStringLiteral("5") });
    INFO(again.out.toStdString() << again.err.toStdString());
    REQUIRE(again.exitCode == 0);
    CHECK(again.out.contains("40 certificate request(s)"));
    CHECK(batchVerifies(killed, pki.cert()));
    CHECK(query(dataDir,
              QStringLiteral("SELECT COUNT(*) FROM outbox WHERE export_batch != '' AND subject IN (SELECT "
                             "serial FROM certificates WHERE device_serial LIKE 'K-%')"))
        == QStringList { QStringLiteral("40") });
    CHECK(test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") }).exitCode == 0);
}
