// A data directory that moves: after mv, and after cp -a with the original removed, the
// station works where it is, on its own token and records, and a station.ini written with
// absolute paths (before they were kept relative) is read as this directory's and written
// again. A module that does not start is an error in plain words, never a crash. A backup
// restores only when signed by the station's audit key, takes only what a backup carries, and
// restores after the directory was moved.

#include "Backup.h"
#include "TestSupport.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QThread>

#include <catch2/catch.hpp>

#include <functional>

#include <sys/stat.h>
#include <unistd.h>

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

void writeFile(const QString& path, const QByteArray& contents)
{
    REQUIRE(QDir().mkpath(QFileInfo(path).absolutePath()));
    QFile f(path);
    REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    REQUIRE(f.write(contents) == contents.size());
}

QString sha256(const QByteArray& bytes)
{
    return QString::fromLatin1(QCryptographicHash::hash(bytes, QCryptographicHash::Sha256).toHex());
}

/// The audit key's SHA-256 as `imprintctl backup` printed it.
QString printedKey(const QByteArray& out)
{
    static const QRegularExpression printed(QStringLiteral("audit key, SHA-256 ([0-9a-f]{64})"));
    const QRegularExpressionMatch m = printed.match(QString::fromUtf8(out));
    INFO(out.toStdString());
    REQUIRE(m.hasMatch());
    return m.captured(1);
}

/// Unpacks an archive with tar, as someone crafting one from a backup starts.
void unpack(const QString& archive, const QString& stage)
{
    REQUIRE(QDir().mkpath(stage));
    auto r = test::run(QStringLiteral("tar"), { QStringLiteral("-xf"), archive, QStringLiteral("-C"), stage });
    INFO(r.err.toStdString());
    REQUIRE(r.exitCode == 0);
}

/// Packs what is under `stage` with tar, each member named relative to it (a link stays a
/// link), then `more` as given (-P: an absolute path or a ".." is kept as it is).
void pack(const QString& stage, const QString& archive, const QStringList& more = {})
{
    QStringList names;
    QDirIterator it(stage, QDir::Files | QDir::System | QDir::Hidden, QDirIterator::Subdirectories);
    while (it.hasNext())
        names << QDir(stage).relativeFilePath(it.next());
    names.sort();
    auto r = test::run(QStringLiteral("tar"),
        QStringList { QStringLiteral("-cPf"), archive, QStringLiteral("-C"), stage } + names + more);
    INFO(r.err.toStdString());
    REQUIRE(r.exitCode == 0);
}

/// Changes the MANIFEST.json of an unpacked backup with `edit`, and signs it again with `key`
/// (nullptr: the old signature stays).
void editManifest(const QString& stage, const std::function<void(QJsonObject&)>& edit, core::Signer* key)
{
    const QString path = stage + QStringLiteral("/MANIFEST.json");
    QJsonObject manifest = QJsonDocument::fromJson(readAll(path)).object();
    REQUIRE_FALSE(manifest.isEmpty());
    edit(manifest);
    const QByteArray bytes = QJsonDocument(manifest).toJson(QJsonDocument::Indented);
    writeFile(path, bytes);
    if (key) {
        auto signature = key->signSha256(core::backupManifestMessage(bytes));
        REQUIRE(signature.has_value());
        writeFile(stage + QStringLiteral("/MANIFEST.sig"), *signature);
    }
}

/// What a restore leaves beside its target while it works, or when it did not finish.
QStringList leftovers(const QString& parent)
{
    return QDir(parent).entryList({ QStringLiteral(".imprint-restore-*"), QStringLiteral("*.before-restore") },
        QDir::AllEntries | QDir::Hidden | QDir::System | QDir::NoDotAndDotDot);
}

/// The files of a station a restore would replace, as they are now.
struct StationFiles {
    explicit StationFiles(const QString& dir)
        : m_dir(dir)
    {
        for (const QString& name : names())
            m_contents << readAll(dir + u'/' + name);
    }
    static QStringList names()
    {
        return { QStringLiteral("station.ini"), QStringLiteral("imprint.sqlite"), QStringLiteral("secrets/user.pin") };
    }
    /// Checks that the station still holds them, unchanged.
    void unchanged() const
    {
        for (int i = 0; i < names().size(); ++i) {
            INFO(names()[i].toStdString());
            CHECK(readAll(m_dir + u'/' + names()[i]) == m_contents[i]);
        }
    }

private:
    QString m_dir;
    QList<QByteArray> m_contents;
};

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
    QString auditKey; // its SHA-256, as the backup printed it
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
        auditKey = printedKey(b.out);
        REQUIRE(line.waitForFinished(60000));
        CHECK(line.exitCode() == 0);
    }
    // No secret went in.
    auto listing = test::run(QStringLiteral("tar"), { QStringLiteral("tzf"), archive });
    REQUIRE(listing.exitCode == 0);
    CHECK(listing.out.contains("imprint.sqlite"));
    CHECK(listing.out.contains("MANIFEST.json"));
    CHECK(listing.out.contains("MANIFEST.sig"));
    CHECK(listing.out.contains("tokens/"));
    CHECK_FALSE(listing.out.contains("secrets/"));

    // Restored into a new folder (no token there to check it with: the audit key is named by
    // its SHA-256), given its PIN file back: intact, and a working station.
    const QString restored = tmp.filePath(QStringLiteral("restored"));
    auto r = test::ctl(restored,
        { QStringLiteral("restore"), QStringLiteral("--in"), archive, QStringLiteral("--audit-key-sha256"), auditKey });
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
        auto d = test::ctl(target,
            { QStringLiteral("restore"), QStringLiteral("--in"), f.fileName(), QStringLiteral("--audit-key-sha256"),
                auditKey });
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

TEST_CASE("A station takes an id on its first start, in station.ini and its store, and one from before ids is claimed")
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
    // As the release before station ids left its store (schema 6: no station table, the
    // checkpoints beside the chain, no revocation reasons).
    test::tamper(db,
        QStringLiteral("DROP TRIGGER plant_device_added; DROP TRIGGER plant_device_changed; DROP TRIGGER "
                       "plant_job_started; DROP TRIGGER plant_job_changed; DROP TRIGGER "
                       "plant_certificate; DROP TRIGGER plant_certificate_state; DROP TRIGGER plant_crl; DROP TRIGGER "
                       "plant_lot_added; DROP TRIGGER plant_lot_changed; DROP TRIGGER plant_attempt; DROP TRIGGER "
                       "plant_audit_head; DROP TABLE plant_log; DROP TABLE plant_sent; DROP TABLE plant_contact; "
                       "DROP TABLE attempts; DROP TABLE station; DROP TABLE sign_in_attempts; DROP INDEX "
                       "audit_by_kind; DROP INDEX "
                       "jobs_failed; ALTER TABLE certificates "
                       "DROP COLUMN revocation_reason; ALTER TABLE outbox DROP COLUMN reason; CREATE TABLE "
                       "audit_checkpoints (seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, at TEXT NOT NULL, key_sha256 "
                       "TEXT NOT NULL, signature BLOB NOT NULL); PRAGMA user_version = 6"));

    auto r = list();
    INFO(r.err.toStdString());
    CHECK(r.exitCode == 0);
    CHECK(r.out == before);
    CHECK(schema() == latest);
}

TEST_CASE("A restore takes only what a backup carries: never secrets/, a link, a device or a path out of the folder")
{
    QTemporaryDir tmp;
    const QString station = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(station);
    issueSome(station, QStringLiteral("SEC"));
    // Made and checked here with a key in memory, so that the archive below can carry a valid
    // signature of the very key the restore trusts: what a backup never holds is refused all
    // the same, whoever signed it.
    auto key = core::EvpSigner::generateP256();
    REQUIRE(key.has_value());
    const core::BackupTrust trust { key->publicKey(), {}, {} };
    const QString genuine = tmp.filePath(QStringLiteral("genuine.tar"));
    auto written = core::backup(core::DataDir(station), genuine, *key);
    INFO((written ? QString() : written.error().text()).toStdString());
    REQUIRE(written.has_value());
    CHECK_FALSE(written->files.join(u' ').contains(QLatin1String("secrets")));

    // The attack: a PIN file and a QA passphrase of the attacker's, named in the manifest with
    // their right sums, the manifest signed again.
    const QString stage = tmp.filePath(QStringLiteral("stage"));
    unpack(genuine, stage);
    const QByteArray pin = "000000\n";
    const QByteArray passphrase = "scrypt$attacker$known\n";
    writeFile(stage + QStringLiteral("/secrets/user.pin"), pin);
    writeFile(stage + QStringLiteral("/secrets/qa-passphrase"), passphrase);
    editManifest(
        stage,
        [&](QJsonObject& manifest) {
            QJsonObject files = manifest[QStringLiteral("files")].toObject();
            files[QStringLiteral("secrets/user.pin")] = sha256(pin);
            files[QStringLiteral("secrets/qa-passphrase")] = sha256(passphrase);
            manifest[QStringLiteral("files")] = files;
        },
        &*key);
    const QString crafted = tmp.filePath(QStringLiteral("crafted.tar"));
    pack(stage, crafted);

    // Into a new folder: refused, and nothing is written.
    const QString fresh = tmp.filePath(QStringLiteral("fresh"));
    auto intoNew = core::restore(crafted, fresh, false, trust);
    REQUIRE_FALSE(intoNew.has_value());
    INFO(intoNew.error().text().toStdString());
    CHECK(intoNew.error().message.contains(QLatin1String("secrets/")));
    CHECK(intoNew.error().message.contains(QLatin1String("nothing was restored")));
    CHECK_FALSE(QFileInfo::exists(fresh));
    CHECK(leftovers(tmp.path()).isEmpty());

    // Over the station (--force): refused, its own PIN file and settings as they were, and
    // the attacker's passphrase nowhere.
    const StationFiles before(station);
    auto over = core::restore(crafted, station, true, trust);
    REQUIRE_FALSE(over.has_value());
    before.unchanged();
    CHECK((!QFileInfo::exists(station + QStringLiteral("/secrets/qa-passphrase"))
        || readAll(station + QStringLiteral("/secrets/qa-passphrase")) != passphrase));
    CHECK(leftovers(tmp.path()).isEmpty());

    // As it was reported: imprintctl restore --force of that archive (signed here by a key
    // that is not the station's) exits with an error and leaves the station's secrets/ alone.
    auto forced
        = test::ctl(station, { QStringLiteral("restore"), QStringLiteral("--in"), crafted, QStringLiteral("--force") });
    INFO(forced.err.toStdString());
    CHECK(forced.exitCode == 2);
    CHECK(forced.err.contains("nothing was restored"));
    before.unchanged();
    CHECK(leftovers(tmp.path()).isEmpty());

    // Links, a FIFO, a path that goes up out of the folder, an absolute path: each refused
    // before anything is written, wherever it points.
    const QString outside = tmp.filePath(QStringLiteral("outside"));
    writeFile(outside, "outside\n");
    struct Variant {
        const char* what;
        std::function<void(const QString&)> add; ///< adds the member to an unpacked backup
        QStringList more; ///< members named as given
    };
    const QList<Variant> variants {
        { "a symbolic link",
            [&](const QString& s) { REQUIRE(QFile::link(outside, s + QStringLiteral("/ca/evil.pem"))); }, {} },
        { "a hard link",
            [](const QString& s) {
                REQUIRE(::link(QFile::encodeName(s + QStringLiteral("/station.ini")).constData(),
                            QFile::encodeName(s + QStringLiteral("/ca/hard.pem")).constData())
                    == 0);
            },
            {} },
        { "a FIFO",
            [](const QString& s) {
                REQUIRE(::mkfifo(QFile::encodeName(s + QStringLiteral("/ca/pipe")).constData(), 0600) == 0);
            },
            {} },
        { "a path with ..", [](const QString&) {}, { QStringLiteral("ca/../../outside") } },
        { "an absolute path", [](const QString&) {}, { outside } },
    };
    int n = 0;
    for (const Variant& v : variants) {
        INFO(v.what);
        const QString s = tmp.filePath(QStringLiteral("stage-%1").arg(++n));
        unpack(genuine, s);
        v.add(s);
        const QString bad = tmp.filePath(QStringLiteral("bad-%1.tar").arg(n));
        pack(s, bad, v.more);
        auto r = core::restore(bad, fresh, false, trust);
        REQUIRE_FALSE(r.has_value());
        INFO(r.error().text().toStdString());
        CHECK(r.error().message.contains(QLatin1String("nothing was restored")));
        CHECK_FALSE(QFileInfo::exists(fresh));
        CHECK(readAll(outside) == "outside\n");
        CHECK(leftovers(tmp.path()).isEmpty());
    }

    // The genuine backup restores (the refusals above are the archives', not the setup's).
    auto fine = core::restore(genuine, fresh, false, trust);
    INFO((fine ? QString() : fine.error().text()).toStdString());
    CHECK(fine.has_value());
    CHECK_FALSE(QFileInfo::exists(fresh + QStringLiteral("/secrets")));
}

TEST_CASE(
    "A backup restores only with a valid signature of the station's audit key, checked before anything is written")
{
    QTemporaryDir tmp;
    const QString station = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(station);
    issueSome(station, QStringLiteral("SIG"));
    const QString archive = tmp.filePath(QStringLiteral("backup.tar"));
    auto b = test::ctl(station, { QStringLiteral("backup"), QStringLiteral("--out"), archive });
    INFO(b.out.toStdString() << b.err.toStdString());
    REQUIRE(b.exitCode == 0);
    const QString auditKey = printedKey(b.out);
    const QStringList withKey { QStringLiteral("--audit-key-sha256"), auditKey };
    const StationFiles before(station);
    const QByteArray pin = readAll(station + QStringLiteral("/secrets/user.pin"));
    const QString fresh = tmp.filePath(QStringLiteral("fresh"));
    auto refusedEverywhere = [&](const QString& bad, const char* why) {
        INFO(why);
        // Over the station: checked with the audit key read from its token.
        auto over
            = test::ctl(station, { QStringLiteral("restore"), QStringLiteral("--in"), bad, QStringLiteral("--force") });
        INFO(over.err.toStdString());
        CHECK(over.exitCode == 2);
        CHECK(over.err.contains("nothing was restored"));
        before.unchanged();
        // Into a new folder: checked with the key named by its SHA-256.
        auto intoNew
            = test::ctl(fresh, QStringList { QStringLiteral("restore"), QStringLiteral("--in"), bad } + withKey);
        INFO(intoNew.err.toStdString());
        CHECK(intoNew.exitCode == 2);
        CHECK(intoNew.err.contains("nothing was restored"));
        CHECK_FALSE(QFileInfo::exists(fresh));
        CHECK(leftovers(tmp.path()).isEmpty());
    };

    // A file changed and its sum in the manifest with it, the signature as it was.
    const QString stage = tmp.filePath(QStringLiteral("stage"));
    unpack(archive, stage);
    const QByteArray ini = readAll(stage + QStringLiteral("/station.ini")) + "; changed behind the station's back\n";
    writeFile(stage + QStringLiteral("/station.ini"), ini);
    editManifest(
        stage,
        [&](QJsonObject& manifest) {
            QJsonObject files = manifest[QStringLiteral("files")].toObject();
            files[QStringLiteral("station.ini")] = sha256(ini);
            manifest[QStringLiteral("files")] = files;
        },
        nullptr);
    const QString tampered = tmp.filePath(QStringLiteral("tampered.tar"));
    pack(stage, tampered);
    refusedEverywhere(tampered, "a tampered manifest");

    // Signed again by another key, which the manifest then names as its signer.
    auto other = core::EvpSigner::generateP256();
    REQUIRE(other.has_value());
    editManifest(
        stage,
        [&](QJsonObject& manifest) {
            QJsonObject signer = manifest[QStringLiteral("signer")].toObject();
            signer[QStringLiteral("public_key")] = QString::fromLatin1(other->publicKey().toBase64());
            signer[QStringLiteral("public_key_sha256")] = sha256(other->publicKey());
            manifest[QStringLiteral("signer")] = signer;
        },
        &*other);
    const QString foreign = tmp.filePath(QStringLiteral("foreign.tar"));
    pack(stage, foreign);
    refusedEverywhere(foreign, "signed by another key");

    // No signature at all.
    REQUIRE(QFile::remove(stage + QStringLiteral("/MANIFEST.sig")));
    const QString bare = tmp.filePath(QStringLiteral("unsigned.tar"));
    pack(stage, bare);
    refusedEverywhere(bare, "not signed");

    // With no token to check against and no key named, even the genuine backup is refused, in
    // plain words that say what to do.
    auto unvouched = test::ctl(fresh, { QStringLiteral("restore"), QStringLiteral("--in"), archive });
    INFO(unvouched.err.toStdString());
    CHECK(unvouched.exitCode == 2);
    CHECK(unvouched.err.contains("--audit-key-sha256"));
    CHECK(unvouched.err.contains("nothing was restored"));
    CHECK_FALSE(QFileInfo::exists(fresh));

    // The genuine one restores: into a new folder with the key named, and over the station.
    auto intoNew
        = test::ctl(fresh, QStringList { QStringLiteral("restore"), QStringLiteral("--in"), archive } + withKey);
    INFO(intoNew.err.toStdString());
    CHECK(intoNew.exitCode == 0);
    auto over
        = test::ctl(station, { QStringLiteral("restore"), QStringLiteral("--in"), archive, QStringLiteral("--force") });
    INFO(over.err.toStdString());
    CHECK(over.exitCode == 0);
    CHECK(readAll(station + QStringLiteral("/secrets/user.pin")) == pin);
}

TEST_CASE("A backup of a data directory that was moved, or copied, restores")
{
    QTemporaryDir tmp;
    const QString made = tmp.filePath(QStringLiteral("made"));
    test::initQuickStation(made);
    issueSome(made, QStringLiteral("MV"));
    const QString moved = tmp.filePath(QStringLiteral("moved"));
    REQUIRE(QDir().rename(made, moved));

    // Backed up before anything used it where it is now: its softhsm2.conf still names the
    // place it was made, and reading its settings during the backup writes that file again.
    auto key = core::EvpSigner::generateP256();
    REQUIRE(key.has_value());
    const QString archive = tmp.filePath(QStringLiteral("moved.tar"));
    auto written = core::backup(core::DataDir(moved), archive, *key);
    INFO((written ? QString() : written.error().text()).toStdString());
    REQUIRE(written.has_value());
    const QString restored = tmp.filePath(QStringLiteral("restored"));
    auto back = core::restore(archive, restored, false, core::BackupTrust { key->publicKey(), {}, {} });
    INFO((back ? QString() : back.error().text()).toStdString());
    REQUIRE(back.has_value());
    REQUIRE(QDir().mkpath(restored + QStringLiteral("/secrets")));
    REQUIRE(QFile::copy(moved + QStringLiteral("/secrets/user.pin"), restored + QStringLiteral("/secrets/user.pin")));
    QFile::setPermissions(
        restored + QStringLiteral("/secrets/user.pin"), QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    auto ca = test::ctl(restored, { QStringLiteral("ca"), QStringLiteral("show") });
    INFO(ca.err.toStdString());
    CHECK(ca.exitCode == 0);

    // The same with the commands, from a copy (cp -a, the original removed).
    const QString copied = tmp.filePath(QStringLiteral("copied"));
    REQUIRE(test::run(QStringLiteral("cp"), { QStringLiteral("-a"), moved, copied }).exitCode == 0);
    REQUIRE(QDir(moved).removeRecursively());
    const QString archive2 = tmp.filePath(QStringLiteral("copied.tar.gz"));
    auto b = test::ctl(copied, { QStringLiteral("backup"), QStringLiteral("--out"), archive2 });
    INFO(b.out.toStdString() << b.err.toStdString());
    REQUIRE(b.exitCode == 0);
    const QString restored2 = tmp.filePath(QStringLiteral("restored2"));
    auto r = test::ctl(restored2,
        { QStringLiteral("restore"), QStringLiteral("--in"), archive2, QStringLiteral("--audit-key-sha256"),
            printedKey(b.out) });
    INFO(r.out.toStdString() << r.err.toStdString());
    CHECK(r.exitCode == 0);
}

TEST_CASE("The backup archive is created readable by its owner only, and never through a link at its name")
{
    QTemporaryDir tmp;
    const QString station = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(station);
    issueSome(station, QStringLiteral("MODE"));
    const QString archive = tmp.filePath(QStringLiteral("backup.tar.gz"));
    // A link planted where the archive is first written, to a file of someone else's choosing.
    const QString victim = tmp.filePath(QStringLiteral("victim"));
    writeFile(victim, "victim\n");
    REQUIRE(QFile::link(victim, archive + QStringLiteral(".partial")));
    // No umask to help: the mode the file is created with is all that keeps the token files in
    // it from others, from its first byte.
    const mode_t umaskBefore = ::umask(0);
    auto b = test::ctl(station, { QStringLiteral("backup"), QStringLiteral("--out"), archive });
    ::umask(umaskBefore);
    INFO(b.out.toStdString() << b.err.toStdString());
    REQUIRE(b.exitCode == 0);
    struct stat st { };
    REQUIRE(::lstat(QFile::encodeName(archive).constData(), &st) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(readAll(victim) == "victim\n");
    CHECK_FALSE(QFileInfo(archive + QStringLiteral(".partial")).isSymLink());
    CHECK_FALSE(QFileInfo::exists(archive + QStringLiteral(".partial")));
}

TEST_CASE("A restore over a station whose PIN files cannot be kept changes nothing")
{
    if (::geteuid() == 0) {
        WARN("skipped: root may move a folder it cannot write");
        return;
    }
    QTemporaryDir tmp;
    const QString station = tmp.filePath(QStringLiteral("station"));
    test::initQuickStation(station);
    issueSome(station, QStringLiteral("KEEP"));
    const QString archive = tmp.filePath(QStringLiteral("backup.tar"));
    REQUIRE(test::ctl(station, { QStringLiteral("backup"), QStringLiteral("--out"), archive }).exitCode == 0);
    const StationFiles before(station);
    const QByteArray pin = readAll(station + QStringLiteral("/secrets/user.pin"));
    // A folder that may not be written cannot move into another folder (its ".." would change).
    const QString secrets = station + QStringLiteral("/secrets");
    const auto writable = QFileDevice::ReadOwner | QFileDevice::WriteOwner | QFileDevice::ExeOwner;
    REQUIRE(QFile::setPermissions(secrets, QFileDevice::ReadOwner | QFileDevice::ExeOwner));
    auto r
        = test::ctl(station, { QStringLiteral("restore"), QStringLiteral("--in"), archive, QStringLiteral("--force") });
    QFile::setPermissions(secrets, writable);
    QFile::setPermissions(station + QStringLiteral(".before-restore/secrets"), writable);
    INFO(r.out.toStdString() << r.err.toStdString());
    CHECK(r.exitCode == 1);
    CHECK(r.err.contains("Could not keep the PIN files"));
    before.unchanged();
    CHECK(leftovers(tmp.path()).isEmpty());

    // Once they can be moved, the same restore goes through and keeps them.
    auto again
        = test::ctl(station, { QStringLiteral("restore"), QStringLiteral("--in"), archive, QStringLiteral("--force") });
    INFO(again.err.toStdString());
    CHECK(again.exitCode == 0);
    CHECK(readAll(secrets + QStringLiteral("/user.pin")) == pin);
    CHECK(leftovers(tmp.path()).isEmpty());
}
