#include "LineRecovery.h"

#include "TestSupport.h"
#include "pki/OpenSsl.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>

#include <catch2/catch.hpp>

namespace imprint::test {

StoreSnapshot inspectStore(const QString& dbPath)
{
    StoreSnapshot s;
    {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("inspect"));
        db.setDatabaseName(dbPath);
        REQUIRE(db.open());
        QSqlQuery q(db);
        REQUIRE(q.exec(QStringLiteral("PRAGMA integrity_check")));
        while (q.next())
            s.integrity += q.value(0).toString();
        REQUIRE(q.exec(QStringLiteral("SELECT serial, der, sha256, state, device_serial FROM certificates")));
        QSet<QString> serials;
        while (q.next()) {
            ++s.certificates;
            const QString serial = q.value(0).toString();
            const QByteArray der = q.value(1).toByteArray();
            auto cert = core::ossl::certFromDer(der);
            if (!cert) {
                s.problems << QStringLiteral("certificate %1 does not parse").arg(serial);
                continue;
            }
            // The serial inside the certificate is the one on record, and it is unique.
            const QString inside = core::ossl::serialHex(cert->get());
            if (inside.compare(serial, Qt::CaseInsensitive) != 0)
                s.problems << QStringLiteral("certificate %1 carries serial %2").arg(serial, inside);
            if (serials.contains(inside.toUpper()))
                s.problems << QStringLiteral("serial %1 used twice").arg(inside);
            serials.insert(inside.toUpper());
            if (core::ossl::sha256Hex(der) != q.value(2).toString())
                s.problems << QStringLiteral("certificate %1 does not match its hash").arg(serial);
            s.certStateBySha.insert(q.value(2).toString(), q.value(3).toString());
            s.deviceBySha.insert(q.value(2).toString(), q.value(4).toString());
            s.superseded += q.value(3).toString() == QLatin1String("superseded");
        }
        // A serial reserved for signing is never in two places.
        REQUIRE(q.exec(QStringLiteral("SELECT COUNT(*) FROM serials s WHERE s.state <> 'used' AND EXISTS (SELECT 1 "
                                      "FROM certificates c WHERE c.serial = s.serial)")));
        REQUIRE(q.next());
        if (q.value(0).toInt() != 0)
            s.problems << QStringLiteral("a certificate uses a serial that is not marked used");
        REQUIRE(q.exec(QStringLiteral("SELECT COUNT(*) FROM job_steps WHERE step = 'resume'")));
        REQUIRE(q.next());
        s.resumed = q.value(0).toInt();
        REQUIRE(q.exec(QStringLiteral("SELECT serial, status FROM devices")));
        while (q.next())
            s.deviceStatus.insert(q.value(0).toString(), q.value(1).toString());
    }
    QSqlDatabase::removeDatabase(QStringLiteral("inspect"));
    return s;
}

QList<QPair<QString, QString>> receivedCertificates(const QString& log)
{
    QList<QPair<QString, QString>> out;
    QFile f(log);
    if (!f.open(QIODevice::ReadOnly))
        return out;
    for (const QByteArray& line : f.readAll().split('\n')) {
        const QList<QByteArray> parts = line.trimmed().split(' ');
        if (parts.size() == 2)
            out.append({ QString::fromLatin1(parts[0]), QString::fromLatin1(parts[1]) });
    }
    return out;
}

QStringList portArgs(const QStringList& ports)
{
    QStringList a;
    for (const QString& p : ports)
        a << QStringLiteral("--port") << p;
    return a;
}

QString Line::serial(int i) const
{
    return QStringLiteral("%1-%2").arg(prefix).arg(i + 1, 4, 10, QLatin1Char('0'));
}

int checkAndResumeLine(const QString& dataDir, const Line& line)
{
    const QString ctlProgram = QStringLiteral(IMPRINT_CTL);
    const QString db = dataDir + QStringLiteral("/imprint.sqlite");
    // After the stop: what the store says.
    const StoreSnapshot s = inspectStore(db);
    CHECK(s.integrity == QLatin1String("ok"));
    CHECK(s.problems.join(u'\n').toStdString().empty());
    for (const auto& [serial, sha] : receivedCertificates(line.log)) {
        INFO("device " << serial.toStdString() << " took " << sha.toStdString());
        CHECK(s.certStateBySha.contains(sha)); // it left the station: it is on record
    }
    // The chain is whole; what the killed station appended after its last checkpoint is
    // unsealed (exit 5) until the next start seals it.
    auto audit = ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
    INFO(audit.out.toStdString() << audit.err.toStdString());
    CHECK((audit.exitCode == 0 || audit.exitCode == 5));
    // Every device of this line that is not passed is listed as interrupted or never
    // reached a job at all.
    auto jobs = ctl(dataDir, { QStringLiteral("jobs"), QStringLiteral("--json") });
    REQUIRE(jobs.exitCode == 0);
    QSet<QString> unfinished;
    for (const auto& v : QJsonDocument::fromJson(jobs.out).array())
        unfinished.insert(v.toObject()[QStringLiteral("serial")].toString());
    QStringList remaining;
    for (int i = 0; i < line.devices; ++i) {
        const QString serial = line.serial(i);
        const QString status = s.deviceStatus.value(serial);
        if (status == QLatin1String("passed"))
            continue;
        INFO("device " << serial.toStdString() << " is " << status.toStdString());
        CHECK((status.isEmpty() || unfinished.contains(serial)));
        remaining << line.links + u'/' + serial;
    }

    // Start again on the devices not passed: each one is resumed to a pass.
    if (!remaining.isEmpty()) {
        auto again = run(ctlProgram,
            QStringList { QStringLiteral("provision"), QStringLiteral("--data-dir"), dataDir, QStringLiteral("--json") }
                + portArgs(remaining));
        INFO(again.out.toStdString() << again.err.toStdString());
        CHECK(again.exitCode == 0);
        auto sealed = ctl(dataDir, { QStringLiteral("audit"), QStringLiteral("verify") });
        INFO(sealed.out.toStdString() << sealed.err.toStdString());
        CHECK(sealed.exitCode == 0);
    }
    const StoreSnapshot after = inspectStore(db);
    CHECK(after.integrity == QLatin1String("ok"));
    CHECK(after.problems.join(u'\n').toStdString().empty());
    // The certificate each device holds now (the last one it took) is its verified one.
    QHash<QString, QString> holds;
    for (const auto& [serial, sha] : receivedCertificates(line.log))
        holds.insert(serial, sha);
    CHECK(holds.size() == line.devices);
    for (auto it = holds.cbegin(); it != holds.cend(); ++it) {
        INFO("device " << it.key().toStdString());
        CHECK(after.deviceStatus.value(it.key()) == QLatin1String("passed"));
        CHECK(after.certStateBySha.value(it.value()) == QLatin1String("verified"));
    }
    // Nothing is left half-way: every other certificate of these devices is superseded
    // (issued, never shipped; its revocation waits in the outbox).
    for (auto it = after.certStateBySha.cbegin(); it != after.certStateBySha.cend(); ++it) {
        const QString device = after.deviceBySha.value(it.key());
        if (!device.startsWith(line.prefix))
            continue;
        INFO("certificate " << it.key().toStdString() << " of " << device.toStdString());
        CHECK((it.value() == QLatin1String("superseded") || holds.value(device) == it.key()));
    }
    auto jobsAfter = ctl(dataDir, { QStringLiteral("jobs"), QStringLiteral("--json") });
    CHECK(QJsonDocument::fromJson(jobsAfter.out).array().isEmpty());
    return static_cast<int>(remaining.size());
}

} // namespace imprint::test
