// Records that cannot lie, tried as an attacker with the store file (and the token's public
// objects, which anyone may write without a PIN) would: the audit log rewritten and its
// chain recomputed (tests/peers/rewrite_audit.py), checkpoints stripped, moved or signed
// with a foreign key, a second public key in the token, the token gone, the tail cut off
// against a kept head, and a revocation undone in the certificates table.

#include "TestSupport.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QProcessEnvironment>
#include <QSettings>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString Ctl = QStringLiteral(IMPRINT_CTL);
const QString Rewrite = QStringLiteral(IMPRINT_TEST_PEERS) + QStringLiteral("/rewrite_audit.py");

/// A station with three certificates from request files (serials AUD-…).
void stationWithRecords(const QString& dataDir)
{
    test::initQuickStation(dataDir);
    QTemporaryDir requests;
    REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                { QStringLiteral("--out"), requests.path(), QStringLiteral("--count"), QStringLiteral("3"),
                    QStringLiteral("--serial-prefix"), QStringLiteral("AUD-") })
                .exitCode
        == 0);
    auto r = test::run(Ctl,
        { QStringLiteral("sign-batch"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--in"), requests.path(),
            QStringLiteral("--out"), requests.filePath(QStringLiteral("b.p7b")) });
    INFO(r.out.toStdString() + r.err.toStdString());
    REQUIRE(r.exitCode == 0);
}

/// `audit verify --json` (and more arguments): its exit status and its answer.
std::pair<int, QJsonObject> verify(const QString& dataDir, const QStringList& more = {})
{
    auto r = test::ctl(
        dataDir, QStringList { QStringLiteral("audit"), QStringLiteral("verify"), QStringLiteral("--json") } + more);
    INFO(r.out.toStdString() + r.err.toStdString());
    return { r.exitCode, QJsonDocument::fromJson(r.out).object() };
}

void rewrite(const QString& dataDir, const QString& sql, const QStringList& options = {})
{
    auto r = test::run(
        QStringLiteral("python3"), QStringList { Rewrite, dataDir + QStringLiteral("/imprint.sqlite"), sql } + options);
    INFO(r.out.toStdString() + r.err.toStdString());
    REQUIRE(r.exitCode == 0);
}

/// pkcs11-tool on the station's token, as anyone may run it: no PIN. Its exit status.
int pkcs11Tool(const QString& dataDir, const QStringList& args)
{
    QProcess tool;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("SOFTHSM2_CONF"), dataDir + QStringLiteral("/softhsm2.conf"));
    tool.setProcessEnvironment(env);
    tool.start(QStringLiteral("pkcs11-tool"),
        QStringList { QStringLiteral("--module"), QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE),
            QStringLiteral("--token-label"), QStringLiteral("Imprint") }
            + args);
    REQUIRE(tool.waitForFinished(30000));
    return tool.exitCode();
}

QString firstSerial(const QString& dataDir)
{
    const QStringList serials = test::query(dataDir, QStringLiteral("SELECT serial FROM certificates ORDER BY job_id"));
    REQUIRE_FALSE(serials.isEmpty());
    return serials.first();
}

} // namespace

TEST_CASE("A sealed station verifies, and a rewritten chain, stripped or moved checkpoints and foreign keys do not")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    stationWithRecords(dataDir);
    {
        auto [status, v] = verify(dataDir);
        CHECK(status == 0);
        CHECK(v[QStringLiteral("verdict")].toString() == QLatin1String("intact"));
        CHECK(v[QStringLiteral("signatures_checked")].toBool());
        CHECK(v[QStringLiteral("checkpoints")].toInt() >= 1);
        CHECK(v[QStringLiteral("unsealed")].toInt() == 0);
    }
    // Every case works on a copy of the store, the station's own left as it is.
    const QString store = dataDir + QStringLiteral("/imprint.sqlite");
    REQUIRE(QFile::copy(store, tmp.filePath(QStringLiteral("kept.sqlite"))));
    auto restore = [&] {
        QFile::remove(store);
        REQUIRE(QFile::copy(tmp.filePath(QStringLiteral("kept.sqlite")), store));
    };
    // An edit behind the station's back: verify says tampered (exit 1), naming `words`.
    auto tamperedAs = [&](const QString& sql, const QString& words) {
        test::tamper(store, sql);
        auto [status, v] = verify(dataDir);
        CHECK(status == 1);
        CHECK(v[QStringLiteral("problem")].toString().contains(words));
        restore();
    };

    SECTION("the checkpoints stripped and the chain recomputed leave entries under no signature")
    {
        rewrite(dataDir, QStringLiteral("DELETE FROM audit WHERE kind = 'checkpoint'"));
        auto [status, v] = verify(dataDir);
        CHECK(status == 5);
        CHECK(v[QStringLiteral("verdict")].toString() == QLatin1String("unsealed"));
        CHECK(v[QStringLiteral("checkpoints")].toInt() == 0);
        restore();
    }
    SECTION("an entry edited and the chain recomputed, the checkpoints made to name the new hashes")
    {
        rewrite(dataDir, QStringLiteral("UPDATE audit SET operator = 'mallory' WHERE seq = 1"),
            { QStringLiteral("--fix-checkpoints") });
        auto [status, v] = verify(dataDir);
        CHECK(status == 1);
        CHECK(v[QStringLiteral("problem")].toString().contains(QStringLiteral("valid signature")));
        restore();
    }
    SECTION("an entry edited and the chain recomputed, the checkpoints left as they were")
    {
        rewrite(dataDir, QStringLiteral("UPDATE audit SET operator = 'mallory' WHERE seq = 1"));
        auto [status, v] = verify(dataDir);
        CHECK(status == 1);
        CHECK(v[QStringLiteral("problem")].toString().contains(QStringLiteral("does not vouch")));
        restore();
    }
    SECTION("checkpoints signed again with the attacker's own key")
    {
        const QString key = tmp.filePath(QStringLiteral("mallory.pem"));
        REQUIRE(test::run(QStringLiteral("openssl"),
                    { QStringLiteral("genpkey"), QStringLiteral("-algorithm"), QStringLiteral("EC"),
                        QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-out"),
                        key })
                    .exitCode
            == 0);
        rewrite(dataDir, QStringLiteral("UPDATE audit SET operator = 'mallory' WHERE seq = 1"),
            { QStringLiteral("--sign-with"), key });
        auto [status, v] = verify(dataDir);
        CHECK(status == 1);
        CHECK(v[QStringLiteral("problem")].toString().contains(QStringLiteral("valid signature")));

        // Her public key written to the token under the audit key's label, without a PIN, over
        // the genuine log: refused, not used.
        restore();
        const QString pub = tmp.filePath(QStringLiteral("mallory.der"));
        REQUIRE(test::run(QStringLiteral("openssl"),
                    { QStringLiteral("pkey"), QStringLiteral("-in"), key, QStringLiteral("-pubout"),
                        QStringLiteral("-outform"), QStringLiteral("DER"), QStringLiteral("-out"), pub })
                    .exitCode
            == 0);
        REQUIRE(pkcs11Tool(dataDir,
                    { QStringLiteral("--write-object"), pub, QStringLiteral("--type"), QStringLiteral("pubkey"),
                        QStringLiteral("--label"), QStringLiteral("imprint-audit") })
            == 0);
        auto [dup, w] = verify(dataDir);
        CHECK(dup == 4);
        CHECK(w[QStringLiteral("verdict")].toString() == QLatin1String("unverifiable"));
        CHECK(w[QStringLiteral("problem")].toString().contains(QStringLiteral("more than one")));
        CHECK_FALSE(w[QStringLiteral("intact")].toBool());
        // The station, logged in, finds its own key through the private key's CKA_ID and
        // signs with it: its head names the pinned key, never hers.
        auto head = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("head") });
        INFO(head.out.toStdString() + head.err.toStdString());
        REQUIRE(head.exitCode == 0);
        QSettings ini(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        CHECK(QJsonDocument::fromJson(head.out).object()[QStringLiteral("key_sha256")].toString()
            == ini.value(QStringLiteral("audit/key-sha256")).toString());
    }
    SECTION("the checkpoints stripped and the chain recomputed are not signed by the station going on")
    {
        rewrite(dataDir, QStringLiteral("DELETE FROM audit WHERE kind = 'checkpoint'"));
        // A keyed command that records (a CRL) and closes its store: nothing sealed by itself.
        auto crl = test::ctl(dataDir, { QStringLiteral("ca"), QStringLiteral("crl") });
        INFO(crl.out.toStdString() + crl.err.toStdString());
        REQUIRE(crl.exitCode == 0);
        CHECK(crl.err.contains("was not sealed"));
        auto [status, v] = verify(dataDir);
        CHECK(status == 5);
        CHECK(v[QStringLiteral("checkpoints")].toInt() == 0);
        restore();
    }
    SECTION("a field stored as a BLOB, which hashes as the same text")
    {
        tamperedAs(QStringLiteral("UPDATE audit SET kind = CAST(kind AS BLOB) WHERE seq = 1"),
            QStringLiteral("other than text"));
    }
    SECTION("a certificate slipped in under a job id stored as a BLOB")
    {
        tamperedAs(
            QStringLiteral("INSERT INTO certificates(serial, device_serial, job_id, der, sha256, spki_sha256, state, "
                           "issued_at) SELECT 'ROGUE', device_serial, CAST(job_id AS BLOB), der, sha256, spki_sha256, "
                           "state, issued_at FROM certificates LIMIT 1"),
            QStringLiteral("ROGUE"));
    }
    SECTION("a key hash edited (the repeated-key check reads it)")
    {
        tamperedAs(
            QStringLiteral("UPDATE certificates SET spki_sha256 = '00' WHERE rowid = 1"), QStringLiteral("edited"));
    }
    SECTION("the genuine audit public key cannot be deleted from the token (to put another in its place)")
    {
        CHECK(pkcs11Tool(dataDir,
                  { QStringLiteral("--delete-object"), QStringLiteral("--type"), QStringLiteral("pubkey"),
                      QStringLiteral("--label"), QStringLiteral("imprint-audit") })
            != 0);
        CHECK(verify(dataDir).first == 0);
    }
    SECTION("the token gone means signatures cannot be checked, and that is a failure")
    {
        REQUIRE(QDir().rename(dataDir + QStringLiteral("/tokens"), tmp.filePath(QStringLiteral("tokens-away"))));
        auto [status, v] = verify(dataDir);
        CHECK(status == 4);
        CHECK_FALSE(v[QStringLiteral("intact")].toBool());
        CHECK_FALSE(v[QStringLiteral("signatures_checked")].toBool());
        REQUIRE(QDir().rename(tmp.filePath(QStringLiteral("tokens-away")), dataDir + QStringLiteral("/tokens")));
    }
    SECTION("the newest entries cut off are found against a head kept elsewhere")
    {
        const QString head = tmp.filePath(QStringLiteral("head.json"));
        auto made
            = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("head"), QStringLiteral("--out"), head });
        INFO(made.out.toStdString() + made.err.toStdString());
        REQUIRE(made.exitCode == 0);
        CHECK(verify(dataDir, { QStringLiteral("--since"), head }).first == 0);
        // More records after the head: the log still extends it.
        stationWithRecords(tmp.filePath(QStringLiteral("other"))); // (a second station, for its head below)
        rewrite(dataDir, QStringLiteral("DELETE FROM audit WHERE seq >= (SELECT MAX(seq) - 1 FROM audit)"));
        auto [status, v] = verify(dataDir, { QStringLiteral("--since"), head });
        CHECK(status == 1);
        CHECK(v[QStringLiteral("problem")].toString().contains(QStringLiteral("removed from the end")));
        // Another station's head is not this station's.
        const QString otherHead = tmp.filePath(QStringLiteral("other-head.json"));
        REQUIRE(test::ctl(tmp.filePath(QStringLiteral("other")),
                    { QStringLiteral("audit"), QStringLiteral("head"), QStringLiteral("--out"), otherHead })
                    .exitCode
            == 0);
        restore();
        CHECK(verify(dataDir, { QStringLiteral("--since"), otherHead }).first == 1);
    }
}

TEST_CASE("A revocation stays: un-revoking a certificate in the store is found, and the next CRL still lists it")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    stationWithRecords(dataDir);
    const QString serial = firstSerial(dataDir);
    const QString device
        = test::query(dataDir, QStringLiteral("SELECT device_serial FROM certificates WHERE serial = '%1'").arg(serial))
              .first();
    auto scrapped = test::ctl(dataDir,
        { QStringLiteral("scrap"), QStringLiteral("--device-serial"), device, QStringLiteral("--reason"),
            QStringLiteral("dropped on the floor") });
    INFO(scrapped.out.toStdString() + scrapped.err.toStdString());
    REQUIRE(scrapped.exitCode == 0);
    auto listed = [&] {
        auto crl = test::ctl(dataDir, { QStringLiteral("ca"), QStringLiteral("crl") });
        INFO(crl.out.toStdString() + crl.err.toStdString());
        REQUIRE(crl.exitCode == 0);
        auto text = test::run(QStringLiteral("openssl"),
            { QStringLiteral("crl"), QStringLiteral("-noout"), QStringLiteral("-text"), QStringLiteral("-in"),
                dataDir + QStringLiteral("/ca/crl.pem") });
        REQUIRE(text.exitCode == 0);
        return QString::fromLatin1(text.out).contains(QStringLiteral("Serial Number: ") + serial);
    };
    CHECK(listed());
    CHECK(test::query(
              dataDir, QStringLiteral("SELECT revocation_reason FROM certificates WHERE serial = '%1'").arg(serial))
              .first()
        == QLatin1String("5"));

    test::tamper(dataDir + QStringLiteral("/imprint.sqlite"),
        QStringLiteral("UPDATE certificates SET state = 'verified', revocation_reason = NULL WHERE serial = '%1'")
            .arg(serial));
    auto [status, v] = verify(dataDir);
    CHECK(status == 1);
    CHECK(v[QStringLiteral("problem")].toString().contains(serial));
    CHECK(v[QStringLiteral("problem")].toString().contains(QStringLiteral("was revoked")));
    CHECK(listed());

    SECTION("its revocation hidden as a BLOB, and the CRL on record swapped for the first")
    {
        test::tamper(dataDir + QStringLiteral("/imprint.sqlite"),
            QStringLiteral("UPDATE audit SET kind = CAST(kind AS BLOB) WHERE kind = 'revoked'; UPDATE crls SET der = "
                           "(SELECT der FROM crls WHERE number = 1) WHERE number > 1"));
        CHECK(verify(dataDir).first == 1);
        CHECK(listed());
    }
    SECTION("its reason set to removeFromCRL")
    {
        test::tamper(dataDir + QStringLiteral("/imprint.sqlite"),
            QStringLiteral("UPDATE certificates SET state = 'revoked', revocation_reason = 8 WHERE serial = '%1'")
                .arg(serial));
        auto [reasonStatus, w] = verify(dataDir);
        CHECK(reasonStatus == 1);
        CHECK(w[QStringLiteral("problem")].toString().contains(QStringLiteral("reason 8")));
        // The CRL takes the reason the log vouches for.
        REQUIRE(listed());
        auto text = test::run(QStringLiteral("openssl"),
            { QStringLiteral("crl"), QStringLiteral("-noout"), QStringLiteral("-text"), QStringLiteral("-in"),
                dataDir + QStringLiteral("/ca/crl.pem") });
        CHECK(text.out.contains("Cessation Of Operation"));
        CHECK_FALSE(text.out.contains("Remove From CRL"));
    }
}

TEST_CASE("A token state cut short by a stop while SoftHSM2 wrote it is put back from the copy that last opened")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    stationWithRecords(dataDir);
    // SoftHSM2 rewrites token.object in place at every login; a kill in that moment leaves it
    // cut short, and without the copy the token (the CA key with it) would be gone.
    const QStringList folders = QDir(dataDir + QStringLiteral("/tokens")).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    REQUIRE(folders.size() == 1);
    const QString object = dataDir + QStringLiteral("/tokens/") + folders.first() + QStringLiteral("/token.object");
    REQUIRE(QFile::exists(dataDir + QStringLiteral("/tokens/") + folders.first() + QStringLiteral("/token.last-good")));
    QFile cut(object);
    REQUIRE(cut.open(QIODevice::ReadWrite));
    REQUIRE(cut.resize(20));
    cut.close();
    CHECK(verify(dataDir).first == 0);
    auto shown = test::ctl(dataDir, { QStringLiteral("ca"), QStringLiteral("show") });
    INFO(shown.out.toStdString() + shown.err.toStdString());
    CHECK(shown.exitCode == 0);
    CHECK(QFileInfo(object).size() > 20);
}

TEST_CASE("audit rotate-key hands the log to a new key: both keys' checkpoints verify, each in its span only")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    stationWithRecords(dataDir);
    REQUIRE(test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("head") }).exitCode == 0);
    auto pinned = [&](const char* key) {
        QSettings ini(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        return ini.value(QLatin1String(key)).toString();
    };
    const QString oldSha = pinned("audit/key-sha256");
    REQUIRE(oldSha.size() == 64);

    auto rotated = test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("rotate-key") });
    INFO(rotated.out.toStdString() << rotated.err.toStdString());
    REQUIRE(rotated.exitCode == 0);
    const QString newSha = pinned("audit/key-sha256");
    CHECK(newSha.size() == 64);
    CHECK(newSha != oldSha);
    CHECK(pinned("audit/retired-keys") == QLatin1String("imprint-audit"));
    CHECK(pinned("audit/key-label").startsWith(QLatin1String("imprint-audit-")));

    // More records, sealed by the new key; the whole log verifies, the old key's checkpoints
    // with the old key.
    QTemporaryDir requests;
    REQUIRE(test::run(QStringLiteral(IMPRINT_MAKECSR),
                { QStringLiteral("--out"), requests.path(), QStringLiteral("--count"), QStringLiteral("2"),
                    QStringLiteral("--serial-prefix"), QStringLiteral("ROT-") })
                .exitCode
        == 0);
    REQUIRE(test::ctl(dataDir,
                { QStringLiteral("sign-batch"), QStringLiteral("--in"), requests.path(), QStringLiteral("--out"),
                    requests.filePath(QStringLiteral("b.p7b")) })
                .exitCode
        == 0);
    REQUIRE(test::ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("head") }).exitCode == 0);
    const auto [status, answer] = verify(dataDir, { QStringLiteral("--expect-key"), newSha });
    INFO(QJsonDocument(answer).toJson().toStdString());
    CHECK(status == 0);
    CHECK(answer.value(QStringLiteral("checkpoints")).toInteger() >= 4);
    // Both keys signed: the pin and the rotation entry say which, and when.
    CHECK(test::query(dataDir,
              QStringLiteral("SELECT count(*) FROM audit WHERE kind = 'checkpoint' AND detail LIKE '%") + oldSha
                  + QStringLiteral("%'"))
              .value(0)
              .toInt()
        >= 2);

    // station.ini pointed back at the retired key (whose checkpoints would then all pass) is
    // caught: the log was handed to the new one.
    {
        // The new key listed as retired, so that its checkpoints still check: only the span
        // rule catches it.
        const QString newLabel = pinned("audit/key-label");
        QSettings ini(dataDir + QStringLiteral("/station.ini"), QSettings::IniFormat);
        ini.setValue(QStringLiteral("audit/key-sha256"), oldSha);
        ini.setValue(QStringLiteral("audit/key-label"), QStringLiteral("imprint-audit"));
        ini.setValue(QStringLiteral("audit/retired-keys"), newLabel);
        ini.sync();
    }
    const auto [back, backAnswer] = verify(dataDir);
    INFO(QJsonDocument(backAnswer).toJson().toStdString());
    CHECK(back == 1);
    CHECK(backAnswer.value(QStringLiteral("problem")).toString().contains(QStringLiteral("handed to last")));
}

TEST_CASE("The shift's counts carry the log's signed head, which audit verify --since takes as a witness")
{
    QTemporaryDir tmp;
    const QString dataDir = tmp.filePath(QStringLiteral("station"));
    stationWithRecords(dataDir);
    auto counts = test::ctl(dataDir, { QStringLiteral("list"), QStringLiteral("--counts"), QStringLiteral("--json") });
    REQUIRE(counts.exitCode == 0);
    const QJsonObject head
        = QJsonDocument::fromJson(counts.out).object().value(QStringLiteral("audit_head")).toObject();
    REQUIRE(head.value(QStringLiteral("entry")).toInteger() > 0);
    const QString file = tmp.filePath(QStringLiteral("shift-head.json"));
    {
        QFile f(file);
        REQUIRE(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(head).toJson());
    }
    CHECK(verify(dataDir, { QStringLiteral("--since"), file }).first == 0);
    auto text = test::ctl(dataDir, { QStringLiteral("list"), QStringLiteral("--counts") });
    CHECK(text.out.contains("Audit log signed head: entry"));
    // The log cut back before that head no longer extends it.
    rewrite(dataDir,
        QStringLiteral("DELETE FROM audit WHERE seq >= %1").arg(head.value(QStringLiteral("entry")).toInteger()));
    CHECK(verify(dataDir, { QStringLiteral("--since"), file }).first != 0);
}
