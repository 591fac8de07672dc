#include "store/RecordStore.h"
#include "TestSupport.h"

#include "engine/Registrar.h"
#include "pki/CertificateBuilder.h"
#include "pki/CsrCheck.h"
#include "pki/EvpSigner.h"
#include "pki/OpenSsl.h"
#include <QThread>

#include <QFile>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint::core;

namespace {

/// A real certificate (self-signed, for a fresh P-256 key) and what the ledger records of
/// it: audit verify reads the key of every certificate it checks.
struct TestCert {
    QByteArray der;
    QString sha256;
    QString spkiSha256;
};

TestCert testCert(const QString& cn)
{
    auto key = EvpSigner::generateP256();
    REQUIRE(key.has_value());
    auto name = makeName({ { QStringLiteral("CN"), cn } });
    REQUIRE(name.has_value());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    CertificateBuilder b;
    b.subject(name->get()).publicKey(key->key()).validity(now, now.addYears(1));
    REQUIRE(b.randomSerial().has_value());
    auto cert = b.sign(*key);
    REQUIRE(cert.has_value());
    const QByteArray der = ossl::certToDer(cert->get());
    return { der, ossl::sha256Hex(der), CsrCheck::publicKeySha256(key->key()) };
}
DeviceIdentity device(const QString& serial)
{
    return { serial, QStringLiteral("Model"), QStringLiteral("1.0"), QStringLiteral("blank"), {} };
}
} // namespace

TEST_CASE("A new store is created at the latest schema, in WAL mode")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.sqlite"));
    {
        auto store = RecordStore::open(path);
        REQUIRE(store.has_value());
        CHECK(store->schemaVersion() == 11);
    }
    {
        // Reopening does not migrate again and keeps the version.
        auto store = RecordStore::open(path);
        REQUIRE(store.has_value());
        CHECK(store->schemaVersion() == 11);
    }
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("probe"));
    db.setDatabaseName(path);
    REQUIRE(db.open());
    QSqlQuery q(db);
    REQUIRE(q.exec(QStringLiteral("PRAGMA journal_mode")));
    REQUIRE(q.next());
    CHECK(q.value(0).toString() == QLatin1String("wal"));
    q = QSqlQuery();
    db.close();
    db = QSqlDatabase();
    QSqlDatabase::removeDatabase(QStringLiteral("probe"));
}

TEST_CASE("A job's story is recorded and read back")
{
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("s.sqlite")));
    REQUIRE(store.has_value());
    auto job = store->jobs().begin(
        device(QStringLiteral("SN-1")), QStringLiteral("/dev/pts/9"), QStringLiteral("st"), QStringLiteral("alice"));
    REQUIRE(job.has_value());
    REQUIRE(store->ledger()
                .recordIssued({ { *job, QStringLiteral("SN-1"), "DER", QStringLiteral("0A0B"), QStringLiteral("h"),
                    QStringLiteral("keyhash"), {} } })
                .has_value());
    REQUIRE(store->ledger().setState(*job, QStringLiteral("0A0B"), CertificateState::Verified).has_value());
    REQUIRE(store->jobs().finish(*job, QStringLiteral("SN-1"), JobOutcome::Passed, {}).has_value());

    auto d = store->records().device(QStringLiteral("SN-1"));
    REQUIRE(d.has_value());
    REQUIRE(d->has_value());
    CHECK((*d)->status == DeviceStatus::Passed);
    auto certs = store->ledger().ofDevice(QStringLiteral("SN-1"));
    REQUIRE(certs.has_value());
    REQUIRE(certs->size() == 1);
    CHECK(certs->first().state == CertificateState::Verified);
    CHECK(certs->first().der == "DER");
    auto steps = store->records().timeline(QStringLiteral("SN-1"));
    REQUIRE(steps.has_value());
    QStringList names;
    for (const auto& s : *steps)
        names << text(s.step);
    CHECK(names
        == QStringList { QStringLiteral("identify"), QStringLiteral("issue"), QStringLiteral("read-back"),
            QStringLiteral("challenge"), QStringLiteral("lock"), QStringLiteral("finish") });

    auto owner = store->ledger().keyOwner(QStringLiteral("keyhash"));
    REQUIRE(owner.has_value());
    CHECK(owner->value_or(QString()) == QLatin1String("SN-1"));
    auto none = store->ledger().keyOwner(QStringLiteral("other"));
    REQUIRE(none.has_value());
    CHECK_FALSE(none->has_value());
}

TEST_CASE("A certificate serial can never be recorded twice, and the first record survives")
{
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("s.sqlite")));
    REQUIRE(store.has_value());
    auto a = store->jobs().begin(device(QStringLiteral("SN-A")), QStringLiteral("p"), QStringLiteral("st"), {});
    auto b = store->jobs().begin(device(QStringLiteral("SN-B")), QStringLiteral("p"), QStringLiteral("st"), {});
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    REQUIRE(store->ledger()
                .recordIssued({ { *a, QStringLiteral("SN-A"), "A", QStringLiteral("77"), QStringLiteral("h"),
                    QStringLiteral("ka"), {} } })
                .has_value());
    auto dup = store->ledger().recordIssued(
        { { *b, QStringLiteral("SN-B"), "B", QStringLiteral("77"), QStringLiteral("h"), QStringLiteral("kb"), {} } });
    REQUIRE_FALSE(dup.has_value());
    CHECK(dup.error().code == ErrorCode::Store);
    auto certs = store->ledger().ofDevice(QStringLiteral("SN-A"));
    REQUIRE(certs.has_value());
    REQUIRE(certs->size() == 1);
    CHECK(certs->first().der == "A");
    auto none = store->ledger().ofDevice(QStringLiteral("SN-B"));
    REQUIRE(none.has_value());
    CHECK(none->isEmpty());
    // The failed transaction left no step behind either.
    auto steps = store->records().timeline(QStringLiteral("SN-B"));
    REQUIRE(steps.has_value());
    CHECK(steps->size() == 1);
}

TEST_CASE("A file that is not a database is refused in plain words")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("bad.sqlite"));
    QFile f(path);
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write(QByteArray(4096, 'x'));
    f.close();
    auto store = RecordStore::open(path);
    REQUIRE_FALSE(store.has_value());
    CHECK(store.error().code == ErrorCode::Store);
    CHECK(store.error().message.contains(QStringLiteral("record store")));
}

TEST_CASE("A store from a newer version is not touched")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.sqlite"));
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("future"));
        db.setDatabaseName(path);
        REQUIRE(db.open());
        QSqlQuery q(db);
        REQUIRE(q.exec(QStringLiteral("PRAGMA user_version = 99")));
        q = QSqlQuery();
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("future"));
    auto store = RecordStore::open(path);
    REQUIRE_FALSE(store.has_value());
    CHECK(store.error().message.contains(QStringLiteral("newer")));
}

TEST_CASE("A store at schema 1 is migrated to the latest, its records kept")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("old.sqlite"));
    {
        auto store = RecordStore::open(path);
        REQUIRE(store.has_value());
        auto job = store->jobs().begin(
            device(QStringLiteral("OLD-1")), QStringLiteral("p"), QStringLiteral("st"), QStringLiteral("op"));
        REQUIRE(job.has_value());
        const TestCert c = testCert(QStringLiteral("OLD-1"));
        REQUIRE(store->ledger()
                    .recordIssued(
                        { { *job, QStringLiteral("OLD-1"), c.der, QStringLiteral("0C"), c.sha256, c.spkiSha256, {} } })
                    .has_value());
    }
    {
        // Back to what schema 1 had: no QA indexes, user_version 1.
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("downgrade"));
        db.setDatabaseName(path);
        REQUIRE(db.open());
        QSqlQuery q(db);
        QStringList triggers;
        REQUIRE(q.exec(QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'trigger'")));
        while (q.next())
            triggers << q.value(0).toString();
        for (const QString& t : triggers)
            REQUIRE(q.exec(QStringLiteral("DROP TRIGGER ") + t));
        for (const char* sql : { "DROP TABLE plant_log", "DROP TABLE plant_sent", "DROP TABLE plant_contact",
                 "DROP INDEX devices_by_lot_updated", "DROP INDEX jobs_unfinished", "DROP INDEX jobs_by_finished",
                 "DROP INDEX certificates_by_job", "DROP TABLE serials", "DROP TABLE lots", "DROP TABLE outbox",
                 "DROP INDEX audit_by_kind", "DROP INDEX jobs_failed", "DROP TABLE sign_in_attempts",
                 "ALTER TABLE certificates DROP COLUMN revocation_reason", "ALTER TABLE jobs DROP COLUMN lot",
                 "ALTER TABLE devices DROP COLUMN lot", "DROP TABLE leases", "DROP TABLE upstream_contact",
                 "DROP TABLE crls", "ALTER TABLE certificates DROP COLUMN request",
                 "ALTER TABLE certificates DROP COLUMN upstream_der", "DROP TABLE station", "DROP TABLE attempts" })
            REQUIRE(q.exec(QString::fromLatin1(sql)));
        REQUIRE(q.exec(QStringLiteral("DROP TABLE audit")));
        REQUIRE(q.exec(QStringLiteral("DROP INDEX IF EXISTS audit_by_subject")));
        REQUIRE(q.exec(QStringLiteral("DROP INDEX devices_by_status_updated")));
        REQUIRE(q.exec(QStringLiteral("DROP INDEX devices_by_updated")));
        REQUIRE(q.exec(QStringLiteral("PRAGMA user_version = 1")));
        q = QSqlQuery();
        db.close();
        db = QSqlDatabase();
        QSqlDatabase::removeDatabase(QStringLiteral("downgrade"));
    }
    auto store = RecordStore::open(path);
    REQUIRE(store.has_value());
    CHECK(store->schemaVersion() == 11);
    auto old = store->records().device(QStringLiteral("OLD-1"));
    REQUIRE(old.has_value());
    CHECK(old->has_value());
    // The certificate issued before the audit log existed is its first entry.
    auto verdict = store->audit().verify();
    REQUIRE(verdict.has_value());
    CHECK(verdict->problem.isEmpty());
    CHECK(verdict->entries == 1);
    // Its serial is on record as used, and it waits in the outbox for upstream.
    auto again = store->ledger().reserve({ { 1, QStringLiteral("EC-P256"), QStringLiteral("0C") } });
    REQUIRE(again.has_value());
    CHECK(*again == QList<bool> { false });
    auto outbox = store->outbox().pending();
    REQUIRE(outbox.has_value());
    REQUIRE(outbox->size() == 1);
    CHECK(outbox->first().kind == OutboxKind::Certificate);
    CHECK(outbox->first().subject == QLatin1String("0C"));
}

TEST_CASE("A store knows which station it belongs to: set once, never changed")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.sqlite"));
    {
        auto store = RecordStore::open(path);
        REQUIRE(store.has_value());
        auto none = store->stationId();
        REQUIRE(none.has_value());
        CHECK(none->isEmpty());
        auto first = store->claimStationId(QStringLiteral("station-a"));
        REQUIRE(first.has_value());
        CHECK(*first == QLatin1String("station-a"));
        auto second = store->claimStationId(QStringLiteral("station-b"));
        REQUIRE(second.has_value());
        CHECK(*second == QLatin1String("station-a")); // the first one stays
    }
    auto reopened = RecordStore::open(path, true);
    REQUIRE(reopened.has_value());
    auto id = reopened->stationId();
    REQUIRE(id.has_value());
    CHECK(*id == QLatin1String("station-a"));
}

TEST_CASE("Devices are listed by status and time a page at a time, counted per shift, and scrapped with a reason")
{
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("s.sqlite")));
    REQUIRE(store.has_value());
    const QDateTime start = QDateTime::currentDateTimeUtc().addSecs(-1);
    for (int i = 0; i < 25; ++i) {
        const QString serial = QStringLiteral("Q-%1").arg(i, 2, 10, QLatin1Char('0'));
        auto job = store->jobs().begin(device(serial), QStringLiteral("p"), QStringLiteral("st"), QStringLiteral("op"));
        REQUIRE(job.has_value());
        REQUIRE(
            store->jobs().finish(*job, serial, i % 5 == 0 ? JobOutcome::Failed : JobOutcome::Passed, {}).has_value());
    }
    DeviceQuery passed;
    passed.status = DeviceStatus::Passed;
    passed.limit = 8;
    QStringList seen;
    while (true) {
        auto page = store->records().devices(passed);
        REQUIRE(page.has_value());
        for (const auto& d : *page) {
            CHECK(d.status == DeviceStatus::Passed);
            seen << d.serial;
        }
        if (page->size() < passed.limit)
            break;
        passed.before = page->last().serial;
    }
    CHECK(seen.size() == 20);
    CHECK(QSet<QString>(seen.begin(), seen.end()).size() == 20); // no row twice across pages

    // Two attempts that never identified a device: counted beside the jobs, listed as failed.
    for (const char* code : { "timeout", "bad-frames" }) {
        Attempt a;
        a.port = QStringLiteral("/dev/ttyUSB9");
        a.station = QStringLiteral("st");
        a.code = QString::fromLatin1(code);
        a.reason = QStringLiteral("nothing usable came back");
        REQUIRE(store->jobs().recordAttempt(a).has_value());
    }
    auto figures = store->records().shift(start, QDateTime::currentDateTimeUtc().addSecs(1));
    REQUIRE(figures.has_value());
    CHECK(figures->passed == 20);
    CHECK(figures->failed == 5);
    CHECK(figures->noDevice == 2);
    CHECK(figures->allFailed() == 7);
    int bucketed = 0;
    for (const auto& b : figures->buckets)
        bucketed += b.noDevice;
    CHECK(bucketed == 2);
    CHECK(figures->failureReasons.contains(qMakePair(QStringLiteral("bad-frames"), 1)));
    DeviceQuery failedOnes;
    failedOnes.status = DeviceStatus::Failed;
    auto attempts = store->records().attempts(failedOnes);
    REQUIRE(attempts.has_value());
    REQUIRE(attempts->size() == 2);
    CHECK(attempts->first().code == QLatin1String("bad-frames")); // newest first
    CHECK(store->records().attempts(passed)->isEmpty()); // not for other statuses

    REQUIRE(store->jobs()
                .scrap(QStringLiteral("Q-00"), QStringLiteral("cracked housing"), QStringLiteral("st"),
                    QStringLiteral("qa-carol"))
                .has_value());
    auto scrapped = store->records().device(QStringLiteral("Q-00"));
    REQUIRE(scrapped.has_value());
    CHECK((*scrapped)->status == DeviceStatus::Scrapped);
    CHECK((*scrapped)->statusReason == QLatin1String("cracked housing"));
    auto steps = store->records().timeline(QStringLiteral("Q-00"));
    REQUIRE(steps.has_value());
    CHECK(steps->last().step == StepName::Scrap);
    // A second scrap changes nothing and says what the first one recorded.
    auto again = store->jobs().scrap(
        QStringLiteral("Q-00"), QStringLiteral("dropped"), QStringLiteral("st"), QStringLiteral("qa-dave"));
    REQUIRE_FALSE(again.has_value());
    CHECK(again.error().reason == QLatin1String("already-scrapped"));
    CHECK(again.error().message.contains(QStringLiteral("cracked housing")));
    CHECK(again.error().message.contains(QStringLiteral("qa-carol")));
    CHECK(store->records().device(QStringLiteral("Q-00")).value()->statusReason == QLatin1String("cracked housing"));
    CHECK(store->records().timeline(QStringLiteral("Q-00"))->size() == steps->size());
    auto missing
        = store->jobs().scrap(QStringLiteral("NOPE"), QStringLiteral("x"), QStringLiteral("st"), QStringLiteral("op"));
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == ErrorCode::NotFound);
}

using imprint::test::tamper;

namespace {
/// What audit verify says of a copy of the store at `path` after `sql` ran on it behind
/// the station's back.
AuditVerdict verdictAfterTamper(
    const QTemporaryDir& tmp, const QString& path, const QString& sql, const CheckpointVerifier& verifier = {})
{
    const QString copy = tmp.filePath(QStringLiteral("copy-%1.sqlite").arg(qHash(sql)));
    REQUIRE(QFile::copy(path, copy));
    tamper(copy, sql);
    auto store = RecordStore::open(copy);
    REQUIRE(store.has_value());
    auto v = store->audit().verify(verifier);
    REQUIRE(v.has_value());
    return *v;
}
} // namespace

TEST_CASE("The audit log shows tampering with itself or with the certificates, and names the place")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.sqlite"));
    {
        auto store = RecordStore::open(path);
        REQUIRE(store.has_value());
        for (int i = 1; i <= 3; ++i) {
            const QString sn = QStringLiteral("AU-%1").arg(i);
            auto job
                = store->jobs().begin(device(sn), QStringLiteral("p"), QStringLiteral("st-1"), QStringLiteral("dave"));
            REQUIRE(job.has_value());
            const TestCert c = testCert(sn);
            REQUIRE(store->ledger()
                        .recordIssued({ { *job, sn, c.der, QStringLiteral("C%1").arg(i), c.sha256, c.spkiSha256, {} } })
                        .has_value());
            REQUIRE(
                store->ledger().setState(*job, QStringLiteral("C%1").arg(i), CertificateState::Verified).has_value());
        }
        auto verdict = store->audit().verify();
        REQUIRE(verdict.has_value());
        CHECK(verdict->problem.isEmpty());
        CHECK(verdict->entries == 6);
        auto entries = store->audit().entries(0, 10);
        REQUIRE(entries.has_value());
        REQUIRE(entries->size() == 6);
        CHECK(entries->first().kind == QLatin1String("issued"));
        CHECK(entries->first().station == QLatin1String("st-1"));
        CHECK(entries->first().operatorName == QLatin1String("dave"));
    }
    auto verdictAfter = [&](const QString& sql) { return verdictAfterTamper(tmp, path, sql); };
    SECTION("an entry edited")
    {
        auto v = verdictAfter(QStringLiteral("UPDATE audit SET operator = 'mallory' WHERE seq = 3"));
        CHECK(v.firstBadEntry == 3);
        CHECK(v.problem.contains(QStringLiteral("Entry 3")));
        CHECK(v.problem.contains(QStringLiteral("edited")));
    }
    SECTION("an entry deleted")
    {
        auto v = verdictAfter(QStringLiteral("DELETE FROM audit WHERE seq = 2"));
        CHECK(v.firstBadEntry == 2);
        CHECK(v.problem.contains(QStringLiteral("Entry 2 is missing")));
    }
    SECTION("entries reordered")
    {
        auto v = verdictAfter(QStringLiteral("UPDATE audit SET seq = 100 WHERE seq = 4; UPDATE audit SET seq = 4 "
                                             "WHERE seq = 5; UPDATE audit SET seq = 5 WHERE seq = 100"));
        CHECK(v.firstBadEntry == 4);
        CHECK_FALSE(v.problem.isEmpty());
    }
    SECTION("a certificate edited")
    {
        auto v = verdictAfter(QStringLiteral("UPDATE certificates SET der = X'00' WHERE serial = 'C2'"));
        CHECK(v.problem.contains(QStringLiteral("Certificate C2")));
        CHECK(v.problem.contains(QStringLiteral("edited")));
    }
    SECTION("a certificate deleted")
    {
        auto v = verdictAfter(QStringLiteral("DELETE FROM certificates WHERE serial = 'C1'"));
        CHECK(v.problem.contains(QStringLiteral("Certificate C1")));
        CHECK(v.problem.contains(QStringLiteral("missing")));
    }
    SECTION("a certificate slipped in")
    {
        auto v = verdictAfter(QStringLiteral("INSERT INTO certificates(serial, device_serial, job_id, der, sha256, "
                                             "spki_sha256, state, issued_at) VALUES('C9', 'AU-1', 1, X'00', 'x', "
                                             "'y', 'issued', 'now')"));
        CHECK(v.problem.contains(QStringLiteral("Certificate C9")));
        CHECK(v.problem.contains(QStringLiteral("never recorded")));
    }
}

namespace {
/// Seals every store this process opens meanwhile with `key`, every `every` entries.
struct SealingWith {
    SealingWith(std::shared_ptr<Signer> key, int every) { AuditLog::sealWith(std::move(key), every); }
    ~SealingWith() { AuditLog::sealWith(nullptr, 100); }
};
} // namespace

TEST_CASE("Checkpoints are entries of the chain, made every N entries and when a store closes")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.sqlite"));
    auto made = EvpSigner::generateP256();
    REQUIRE(made.has_value());
    auto key = std::make_shared<EvpSigner>(std::move(*made));
    auto verifier = [&](const QString&, const QByteArray& message, const QByteArray& signature) {
        return ossl::verifySha256(key->key(), message, signature);
    };
    {
        SealingWith sealing(key, 3);
        auto store = RecordStore::open(path);
        REQUIRE(store.has_value());
        auto login = [&](int i) {
            REQUIRE(store->audit()
                        .append(AuditKind::Login, QStringLiteral("op%1").arg(i), {}, QStringLiteral("st"),
                            QStringLiteral("op%1").arg(i))
                        .has_value());
        };
        // A log with no checkpoint is not sealed by itself (it could be one rewritten
        // behind the station's back): a person's act seals it first (the station's set-up).
        login(1);
        CHECK_FALSE(*store->audit().seal());
        CHECK(*store->audit().seal(true));
        for (int i = 2; i <= 4; ++i)
            login(i);
        // op1, its checkpoint (2), op2-op4 (3-5), the checkpoint for them (6).
        REQUIRE(*store->audit().lastCheckpoint() == 6);
        login(5);
        auto v = store->audit().verify(verifier);
        REQUIRE(v.has_value());
        CHECK(v->problem.isEmpty());
        CHECK(v->entries == 7);
        CHECK(v->checkpoints == 2);
        CHECK(v->unsealed() == 1);
        // Sealing now seals op5; sealing again with nothing new adds nothing.
        CHECK(*store->audit().seal());
        CHECK_FALSE(*store->audit().seal());
        REQUIRE(
            store->audit().append(AuditKind::Setting, QStringLiteral("x"), {}, QStringLiteral("st"), {}).has_value());
    } // the store closes: the setting entry is sealed
    auto store = RecordStore::open(path);
    REQUIRE(store.has_value());
    auto v = store->audit().verify(verifier);
    REQUIRE(v.has_value());
    CHECK(v->problem.isEmpty());
    CHECK(v->checkpoints == 4);
    CHECK(v->entries == 10);
    CHECK(v->lastCheckpoint == 10);
    CHECK(v->signaturesChecked);
    auto head = store->audit().newestCheckpoint();
    REQUIRE(head.has_value());
    REQUIRE(head->has_value());
    CHECK((*head)->seq == 9);

    auto verdictAfter = [&](const QString& sql) { return verdictAfterTamper(tmp, path, sql, verifier); };
    SECTION("a checkpoint deleted breaks the chain")
    {
        auto v2 = verdictAfter(QStringLiteral("DELETE FROM audit WHERE seq = 6"));
        CHECK(v2.firstBadEntry == 6);
    }
    SECTION("a checkpoint checked against another key")
    {
        auto other = EvpSigner::generateP256();
        REQUIRE(other.has_value());
        auto foreign = [&](const QString&, const QByteArray& message, const QByteArray& signature) {
            return ossl::verifySha256(other->key(), message, signature);
        };
        auto v2 = verdictAfterTamper(tmp, path, QStringLiteral("SELECT 1"), foreign);
        CHECK(v2.firstBadEntry == 2);
        CHECK(v2.problem.contains(QStringLiteral("valid signature")));
    }
    SECTION("a head kept elsewhere shows entries cut off the end")
    {
        auto copy = tmp.filePath(QStringLiteral("cut.sqlite"));
        REQUIRE(QFile::copy(path, copy));
        tamper(copy, QStringLiteral("DELETE FROM audit WHERE seq >= 8"));
        auto cut = RecordStore::open(copy);
        REQUIRE(cut.has_value());
        auto v2 = cut->audit().verify(verifier, {}, **head);
        REQUIRE(v2.has_value());
        CHECK(v2->problem.contains(QStringLiteral("removed from the end")));
        // Without the head, the shorter log is consistent.
        auto alone = cut->audit().verify(verifier);
        REQUIRE(alone.has_value());
        CHECK(alone->problem.isEmpty());
    }
}

TEST_CASE("Write-ahead: serials are reserved once, unfinished jobs are listed, closed and continued")
{
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("s.sqlite")));
    REQUIRE(store.has_value());
    auto job = store->jobs().begin(device(QStringLiteral("W-1")), QStringLiteral("/dev/ttyUSB0"), QStringLiteral("st"),
        QStringLiteral("eve"), QStringLiteral("LOT-7"));
    REQUIRE(job.has_value());
    auto reserved = store->ledger().reserve({ { *job, QStringLiteral("EC-P256"), QStringLiteral("5A01") },
        { *job, QStringLiteral("EC-P256"), QStringLiteral("5A01") } });
    REQUIRE(reserved.has_value());
    CHECK(*reserved == QList<bool> { true, false }); // the same serial twice: once only

    // The station stops here: the job is listed, with its reserved serial.
    auto unfinished = store->jobs().unfinished();
    REQUIRE(unfinished.has_value());
    REQUIRE(unfinished->size() == 1);
    CHECK(unfinished->first().deviceSerial == QLatin1String("W-1"));
    CHECK(unfinished->first().lot == QLatin1String("LOT-7"));
    CHECK(unfinished->first().reservedSerial == QLatin1String("5A01"));
    CHECK(unfinished->first().lastStep == QLatin1String("issue intent"));

    // The device comes back: the old job is closed as interrupted, its serial void for good.
    auto next = store->jobs().begin(
        device(QStringLiteral("W-1")), QStringLiteral("/dev/ttyUSB0"), QStringLiteral("st"), QStringLiteral("eve"));
    REQUIRE(next.has_value());
    CHECK(store->jobs().unfinished()->size() == 1);
    CHECK(store->jobs().unfinished()->first().jobId == *next);
    auto again = store->ledger().reserve({ { *next, QStringLiteral("EC-P256"), QStringLiteral("5A01") } });
    CHECK(*again == QList<bool> { false });
    auto steps = store->records().timeline(QStringLiteral("W-1"));
    REQUIRE(steps.has_value());
    bool interrupted = false, resumed = false;
    for (const StepRecord& s : *steps) {
        interrupted |= s.jobId == *job && s.status == StepStatus::Interrupted;
        resumed |= s.jobId == *next && s.step == StepName::Resume;
        CHECK(s.station == QLatin1String("st"));
        CHECK(s.operatorName == QLatin1String("eve"));
    }
    CHECK(interrupted);
    CHECK(resumed);

    // A certificate issued and installed is what the next job continues with.
    const TestCert w1 = testCert(QStringLiteral("W-1"));
    REQUIRE(store->ledger()
                .recordIssued(
                    { { *next, QStringLiteral("W-1"), w1.der, QStringLiteral("5A02"), w1.sha256, w1.spkiSha256, {} } })
                .has_value());
    REQUIRE(store->ledger().setState(*next, QStringLiteral("5A02"), CertificateState::Installed).has_value());
    auto pending = store->ledger().pending(QStringLiteral("W-1"));
    REQUIRE(pending.has_value());
    REQUIRE(pending->has_value());
    CHECK((*pending)->certificate.serialHex == QLatin1String("5A02"));
    CHECK((*pending)->certificate.state == CertificateState::Installed);
    CHECK_FALSE((*pending)->jobResult.has_value());

    // Superseded: nothing pending any more, and a revocation waits for upstream.
    REQUIRE(store->ledger()
                .setState(*next, QStringLiteral("5A02"), CertificateState::Superseded, QStringLiteral("reflashed"))
                .has_value());
    CHECK_FALSE(store->ledger().pending(QStringLiteral("W-1"))->has_value());
    auto outbox = store->outbox().pending();
    REQUIRE(outbox.has_value());
    REQUIRE(outbox->size() == 2);
    CHECK(outbox->at(0).kind == OutboxKind::Certificate);
    CHECK(outbox->at(1).kind == OutboxKind::Revocation);
    CHECK(outbox->at(1).subject == QLatin1String("5A02"));
    CHECK(store->ledger().setState(*next, QStringLiteral("5A02"), CertificateState::Issued).error().code
        == ErrorCode::Store);
    CHECK(store->audit().verify()->problem.isEmpty());
}

TEST_CASE("Scrapping revokes the device's certificates and closes its unfinished job, lots count their devices")
{
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("s.sqlite")));
    REQUIRE(store.has_value());
    REQUIRE(store->lots()
                .create(Lot { QStringLiteral("WO-1"), QStringLiteral("idevid"), 2, QStringLiteral("Acme"), {},
                    QStringLiteral("st"), QStringLiteral("ann"), {} })
                .has_value());
    CHECK(store->lots()
              .create(Lot { QStringLiteral("WO-1"), QStringLiteral("idevid"), 5, {}, {}, {}, {}, {} })
              .error()
              .code
        == ErrorCode::BadInput);
    auto a = store->jobs().begin(device(QStringLiteral("S-1")), QStringLiteral("p"), QStringLiteral("st"),
        QStringLiteral("ann"), QStringLiteral("WO-1"));
    auto b = store->jobs().begin(device(QStringLiteral("S-2")), QStringLiteral("p"), QStringLiteral("st"),
        QStringLiteral("ann"), QStringLiteral("WO-1"));
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    const TestCert s1 = testCert(QStringLiteral("S-1"));
    REQUIRE(
        store->ledger()
            .recordIssued({ { *a, QStringLiteral("S-1"), s1.der, QStringLiteral("51"), s1.sha256, s1.spkiSha256, {} } })
            .has_value());
    REQUIRE(store->jobs().finish(*b, QStringLiteral("S-2"), JobOutcome::Passed, {}).has_value());
    auto counts = store->records().lotCounts(QStringLiteral("WO-1"));
    REQUIRE(counts.has_value());
    CHECK(*counts == QList<QPair<DeviceStatus, int>> { { DeviceStatus::InProgress, 1 }, { DeviceStatus::Passed, 1 } });
    DeviceQuery inLot;
    inLot.lot = QStringLiteral("WO-1");
    CHECK(store->records().devices(inLot)->size() == 2);

    REQUIRE(
        store->jobs()
            .scrap(QStringLiteral("S-1"), QStringLiteral("cracked housing"), QStringLiteral("st"), QStringLiteral("qa"))
            .has_value());
    CHECK(store->jobs().unfinished()->isEmpty());
    CHECK(store->ledger().ofDevice(QStringLiteral("S-1"))->first().state == CertificateState::Revoked);
    auto outbox = store->outbox().pending();
    REQUIRE(outbox->size() == 2);
    CHECK(outbox->at(1).kind == OutboxKind::Revocation);
    CHECK(outbox->at(1).detail.contains(QStringLiteral("cracked housing")));
    CHECK(store->audit().verify()->problem.isEmpty());
}

TEST_CASE("A job ends once, an old job never overwrites the device's newest outcome, shipped certificates stay")
{
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("s.sqlite")));
    REQUIRE(store.has_value());
    auto old = store->jobs().begin(device(QStringLiteral("O-1")), QStringLiteral("p1"), QStringLiteral("st"), {});
    auto next = store->jobs().begin(device(QStringLiteral("O-1")), QStringLiteral("p2"), QStringLiteral("st"), {});
    REQUIRE(old.has_value());
    REQUIRE(next.has_value());
    // The first job was closed as interrupted by the second; its late end changes nothing.
    REQUIRE(store->jobs().finish(*old, QStringLiteral("O-1"), JobOutcome::Failed, QStringLiteral("late")).has_value());
    CHECK(store->records().device(QStringLiteral("O-1"))->value().status == DeviceStatus::InProgress);
    REQUIRE(store->ledger()
                .recordIssued({ { *next, QStringLiteral("O-1"), "D", QStringLiteral("0E01"), ossl::sha256Hex("D"),
                    QStringLiteral("k"), {} } })
                .has_value());
    REQUIRE(store->ledger().setState(*next, QStringLiteral("0E01"), CertificateState::Verified).has_value());
    REQUIRE(store->jobs().finish(*next, QStringLiteral("O-1"), JobOutcome::Passed, {}).has_value());
    CHECK(store->records().device(QStringLiteral("O-1"))->value().status == DeviceStatus::Passed);
    // Shipped: never superseded; revoked: never verified again.
    auto superseded = store->ledger().setState(*next, QStringLiteral("0E01"), CertificateState::Superseded);
    REQUIRE_FALSE(superseded.has_value());
    CHECK(superseded.error().message.contains(QStringLiteral("cannot become superseded")));
    REQUIRE(
        store->jobs().scrap(QStringLiteral("O-1"), QStringLiteral("dropped"), QStringLiteral("st"), {}).has_value());
    CHECK_FALSE(store->ledger().setState(*next, QStringLiteral("0E01"), CertificateState::Verified).has_value());
    CHECK(store->ledger().ofDevice(QStringLiteral("O-1"))->first().state == CertificateState::Revoked);
}

TEST_CASE("A pass for a job closed already is an error, a store another writer holds writes nothing")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.sqlite"));
    auto store = RecordStore::open(path);
    REQUIRE(store.has_value());
    auto old = store->jobs().begin(device(QStringLiteral("P-1")), QStringLiteral("p1"), QStringLiteral("st"), {});
    auto next = store->jobs().begin(device(QStringLiteral("P-1")), QStringLiteral("p2"), QStringLiteral("st"), {});
    REQUIRE(old.has_value());
    REQUIRE(next.has_value());
    auto pass = store->jobs().finish(*old, QStringLiteral("P-1"), JobOutcome::Passed, {});
    REQUIRE_FALSE(pass.has_value());
    CHECK(pass.error().message.contains(QStringLiteral("closed already")));
    CHECK(store->records().device(QStringLiteral("P-1"))->value().status == DeviceStatus::InProgress);

    // Another process holds the write lock past the busy timeout: the entry is refused whole.
    const qint64 before = store->audit().head()->seq;
    {
        QSqlDatabase other = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("other-writer"));
        other.setDatabaseName(path);
        REQUIRE(other.open());
        QSqlQuery lock(other);
        REQUIRE(lock.exec(QStringLiteral("BEGIN IMMEDIATE")));
        auto r = store->audit().append(AuditKind::Login, QStringLiteral("x"), {}, QStringLiteral("st"), {});
        CHECK_FALSE(r.has_value());
        REQUIRE(lock.exec(QStringLiteral("ROLLBACK")));
    }
    QSqlDatabase::removeDatabase(QStringLiteral("other-writer"));
    CHECK(store->audit().head()->seq == before);
    CHECK(store->audit().append(AuditKind::Login, QStringLiteral("x"), {}, QStringLiteral("st"), {}).has_value());
}

namespace {
template <typename E> void roundTrips(std::initializer_list<E> all)
{
    QSet<QString> seen;
    for (E e : all) {
        const QString t = text(e);
        CHECK_FALSE(t.isEmpty());
        CHECK(parseState<E>(t) == e);
        seen.insert(t);
    }
    CHECK(seen.size() == static_cast<qsizetype>(all.size())); // no two states share a text
    CHECK(stateTexts<E>().size() == static_cast<qsizetype>(all.size()));
    CHECK_FALSE(parseState<E>(u"no-such-state").has_value());
}
} // namespace

TEST_CASE("Every state has one text that reads back as itself")
{
    roundTrips({ DeviceStatus::InProgress, DeviceStatus::Passed, DeviceStatus::Failed, DeviceStatus::Issued,
        DeviceStatus::Scrapped });
    roundTrips({ CertificateState::Issued, CertificateState::Installed, CertificateState::Verified,
        CertificateState::Superseded, CertificateState::Revoked });
    roundTrips({ SerialState::Reserved, SerialState::Used, SerialState::Void });
    roundTrips({ JobOutcome::Passed, JobOutcome::Failed, JobOutcome::Issued, JobOutcome::Interrupted,
        JobOutcome::Scrapped, JobOutcome::DoneEarlier });
    roundTrips({ StepName::Identify, StepName::Resume, StepName::CheckCsr, StepName::Issue, StepName::Inject,
        StepName::Verify, StepName::Supersede, StepName::Disconnect, StepName::Reconnect, StepName::Scrap,
        StepName::Finish, StepName::Keygen, StepName::InjectKey, StepName::Install, StepName::ReadBack,
        StepName::Challenge, StepName::Lock });
    roundTrips({ StepStatus::Done, StepStatus::Intent, StepStatus::Rejected, StepStatus::Waiting, StepStatus::Passed,
        StepStatus::Failed, StepStatus::Issued, StepStatus::Interrupted, StepStatus::DoneEarlier });
    roundTrips({ OutboxKind::Certificate, OutboxKind::Revocation });
    roundTrips({ OutboxState::Pending, OutboxState::Sent, OutboxState::Waiting, OutboxState::Answered,
        OutboxState::Confirmed, OutboxState::Rejected, OutboxState::Failed, OutboxState::Skipped });
    roundTrips({ AuditKind::Issued, AuditKind::IssuedBatch, AuditKind::Installed, AuditKind::Verified,
        AuditKind::Superseded, AuditKind::Revoked, AuditKind::Rejected, AuditKind::Scrapped, AuditKind::LotCreated,
        AuditKind::LotClosed, AuditKind::Login, AuditKind::Setting, AuditKind::Exported, AuditKind::UpstreamCertified,
        AuditKind::UpstreamRevoked, AuditKind::UpstreamRejected, AuditKind::UpstreamRefused, AuditKind::Imported,
        AuditKind::CrlIssued, AuditKind::Checkpoint, AuditKind::Refused });
}

TEST_CASE("The store keeps each state as the text it always had, and refuses one it does not know")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.sqlite"));
    {
        auto store = RecordStore::open(path);
        REQUIRE(store.has_value());
        auto job = store->jobs().begin(
            device(QStringLiteral("T-1")), QStringLiteral("p"), QStringLiteral("st"), QStringLiteral("op"));
        REQUIRE(job.has_value());
        REQUIRE(store->ledger().reserve({ { *job, QStringLiteral("EC-P256"), QStringLiteral("7A") } }).has_value());
        REQUIRE(store->ledger()
                    .recordIssued({ { *job, QStringLiteral("T-1"), "DER", QStringLiteral("7A"), QStringLiteral("h"),
                        QStringLiteral("k"), {} } })
                    .has_value());
        REQUIRE(store->ledger().setState(*job, QStringLiteral("7A"), CertificateState::Superseded).has_value());
        REQUIRE(store->jobs().finish(*job, QStringLiteral("T-1"), JobOutcome::Failed, QStringLiteral("x")).has_value());
    }
    QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("raw-states"));
    db.setDatabaseName(path);
    REQUIRE(db.open());
    {
        QSqlQuery q(db);
        auto one = [&](const char* sql) {
            REQUIRE(q.exec(QString::fromLatin1(sql)));
            REQUIRE(q.next());
            return q.value(0).toString();
        };
        CHECK(one("SELECT status FROM devices") == QLatin1String("failed"));
        CHECK(one("SELECT state FROM certificates") == QLatin1String("superseded"));
        CHECK(one("SELECT state FROM serials") == QLatin1String("used"));
        CHECK(one("SELECT result FROM jobs") == QLatin1String("failed"));
        CHECK(one("SELECT group_concat(step || '/' || status, ' ') FROM (SELECT step, status FROM job_steps ORDER BY "
                  "id)")
            == QLatin1String(
                "identify/done keygen/done check-csr/done issue/intent issue/done supersede/done finish/failed"));
        CHECK(one("SELECT group_concat(kind, ' ') FROM (SELECT kind FROM outbox ORDER BY id)")
            == QLatin1String("certificate revocation"));
        CHECK(one("SELECT group_concat(kind, ' ') FROM (SELECT kind FROM audit ORDER BY seq)")
            == QLatin1String("issued superseded"));
        // A state this Imprint does not know (a newer one wrote it, or a hand edit).
        REQUIRE(q.exec(QStringLiteral("UPDATE devices SET status = 'melted'")));
    }
    db.close();
    db = QSqlDatabase();
    QSqlDatabase::removeDatabase(QStringLiteral("raw-states"));
    auto store = RecordStore::open(path, true);
    REQUIRE(store.has_value());
    auto d = store->records().device(QStringLiteral("T-1"));
    REQUIRE_FALSE(d.has_value());
    CHECK(d.error().code == ErrorCode::Store);
    CHECK(d.error().message.contains(QStringLiteral("\"melted\"")));
}

TEST_CASE("A request file's job tells its story without steps of its own, and its serial is never drawn again")
{
    QTemporaryDir tmp;
    auto store = RecordStore::open(tmp.filePath(QStringLiteral("imprint.sqlite")));
    REQUIRE(store.has_value());
    // The device failed on the line first (no certificate), then its request came in a batch.
    auto job = store->jobs().begin(
        device(QStringLiteral("F-1")), QStringLiteral("/dev/pts/9"), QStringLiteral("st"), QStringLiteral("alice"));
    REQUIRE(job.has_value());
    REQUIRE(
        store->jobs().finish(*job, QStringLiteral("F-1"), JobOutcome::Failed, QStringLiteral("no-reply")).has_value());
    auto before = store->records().timeline(QStringLiteral("F-1"));
    REQUIRE(before.has_value());
    REQUIRE_FALSE(before->isEmpty());
    REQUIRE(store->ledger()
                .recordBatch({ BatchIssued { QStringLiteral("F-1"), QStringLiteral("in/F-1.der"), "DER",
                                 QStringLiteral("5B01"), QStringLiteral("h"), QStringLiteral("key"), "REQ" } },
                    QStringLiteral("st"), QStringLiteral("bob"))
                .has_value());
    CHECK(imprint::test::query(tmp.path(), QStringLiteral("SELECT COUNT(*) FROM job_steps WHERE job_id > %1").arg(*job))
        == QStringList { QStringLiteral("0") });
    auto steps = store->records().timeline(QStringLiteral("F-1"));
    REQUIRE(steps.has_value());
    REQUIRE(steps->size() == before->size() + 1);
    const StepRecord& last = steps->last();
    CHECK(last.jobId > *job);
    CHECK(last.step == StepName::Issue);
    CHECK(last.status == StepStatus::Done);
    CHECK(last.detail == QLatin1String("certificate 5B01 for request file in/F-1.der"));
    CHECK(last.operatorName == QLatin1String("bob"));
    CHECK(last.at.isValid());
    // The earlier job's steps come first, as recorded.
    for (qsizetype i = 0; i < before->size(); ++i)
        CHECK((*steps)[i].detail == (*before)[i].detail);
    // The batch recorded no write-ahead serial; the line still never draws it again.
    auto next = store->jobs().begin(
        device(QStringLiteral("F-2")), QStringLiteral("/dev/pts/9"), QStringLiteral("st"), QStringLiteral("alice"));
    REQUIRE(next.has_value());
    auto again = store->ledger().reserve({ { *next, QStringLiteral("EC-P256"), QStringLiteral("5B01") } });
    REQUIRE(again.has_value());
    CHECK(*again == QList<bool> { false });

    // A job the station never finished is closed when its device comes back: that step,
    // written after the batch, comes after the batch's step.
    auto unfinished = store->jobs().begin(
        device(QStringLiteral("G-1")), QStringLiteral("/dev/pts/9"), QStringLiteral("st"), QStringLiteral("alice"));
    REQUIRE(unfinished.has_value());
    auto open = store->records().timeline(QStringLiteral("G-1"));
    REQUIRE(open.has_value());
    REQUIRE(store->ledger()
                .recordBatch({ BatchIssued { QStringLiteral("G-1"), QStringLiteral("in/G-1.der"), "DER",
                                 QStringLiteral("5B02"), QStringLiteral("h2"), QStringLiteral("key2"), "REQ" } },
                    QStringLiteral("st"), QStringLiteral("bob"))
                .has_value());
    QThread::msleep(5); // the steps' times have milliseconds
    REQUIRE(store->jobs()
                .begin(device(QStringLiteral("G-1")), QStringLiteral("/dev/pts/9"), QStringLiteral("st"),
                    QStringLiteral("alice"))
                .has_value());
    auto later = store->records().timeline(QStringLiteral("G-1"));
    REQUIRE(later.has_value());
    REQUIRE(later->size() > open->size() + 1);
    CHECK((*later)[open->size()].detail == QLatin1String("certificate 5B02 for request file in/G-1.der"));
    CHECK(imprint::test::query(
              tmp.path(), QStringLiteral("SELECT COUNT(*) FROM job_steps WHERE job_id = %1").arg(*unfinished))
        != QStringList { QString::number(open->size()) }); // the old job was given a step after the batch
}

TEST_CASE("One audit entry vouches for a batch's certificates, and names any one changed behind its back")
{
    QTemporaryDir tmp;
    const QString path = tmp.filePath(QStringLiteral("s.sqlite"));
    {
        auto store = RecordStore::open(path);
        REQUIRE(store.has_value());
        for (int chunk = 0; chunk < 2; ++chunk) {
            QList<BatchIssued> batch;
            for (int i = 0; i < 5; ++i) {
                const TestCert c = testCert(QStringLiteral("B-%1-%2").arg(chunk).arg(i));
                batch.append(
                    BatchIssued { QStringLiteral("B-%1-%2").arg(chunk).arg(i), QStringLiteral("b%1.der").arg(i), c.der,
                        QStringLiteral("BA%1%2").arg(chunk).arg(i), c.sha256, c.spkiSha256, {} });
            }
            REQUIRE(store->ledger().recordBatch(batch, QStringLiteral("st"), QStringLiteral("op")).has_value());
        }
        auto entries = store->audit().entries(0, 100);
        REQUIRE(entries.has_value());
        REQUIRE(entries->size() == 2); // one per chunk, not one per certificate
        CHECK(entries->first().kind == QLatin1String("issued-batch"));
        auto v = store->audit().verify();
        REQUIRE(v.has_value());
        CHECK(v->problem.toStdString().empty());
        CHECK(store->records().timeline(QStringLiteral("B-1-3"))->size() == 1);
    }
    auto verdictAfter = [&](const QString& sql) { return verdictAfterTamper(tmp, path, sql); };
    SECTION("a certificate's DER replaced")
    {
        auto v = verdictAfter(QStringLiteral("UPDATE certificates SET der = x'00' WHERE serial = 'BA12'"));
        CHECK(v.problem.contains(QStringLiteral("Certificate BA12 (entry 2) was edited")));
    }
    SECTION("a certificate replaced with its hash")
    {
        const QString sha = imprint::core::ossl::sha256Hex("forged");
        auto v
            = verdictAfter(QStringLiteral("UPDATE certificates SET der = CAST('forged' AS BLOB), sha256 = '%1' WHERE "
                                          "serial = 'BA03'")
                               .arg(sha));
        CHECK(v.firstBadEntry == 1);
        // Named by its key (no longer the one on record) before the digest is reached.
        CHECK(v.problem.contains(QStringLiteral("Certificate BA03 (entry 1) was edited")));
    }
    SECTION("a certificate removed")
    {
        auto v = verdictAfter(QStringLiteral("DELETE FROM certificates WHERE serial = 'BA11'"));
        CHECK(v.firstBadEntry == 2);
    }
    SECTION("a certificate added under a job no entry covers")
    {
        auto v = verdictAfter(QStringLiteral(
            "INSERT INTO jobs(device_serial, port, station, operator, started) VALUES('B-0-0', 'x', 'x', 'x', 'x'); "
            "INSERT INTO certificates(serial, device_serial, job_id, der, sha256, spki_sha256, state, issued_at) "
            "VALUES('EVIL', 'B-0-0', (SELECT MAX(id) FROM jobs), x'00', 'x', 'y', 'issued', 'x')"));
        CHECK(v.problem.contains(QStringLiteral("Certificate EVIL is in the store but the audit log never recorded")));
    }
}
