// imprintctl plant: the plant record, every station's records in one PostgreSQL database
// (configure, migrate, add-station, push, status).

#include "StationContext.h"
#include "cli/Command.h"
#include "pki/OpenSsl.h"
#include "plant/PlantDatabase.h"
#include "plant/PlantPush.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <openssl/rand.h>

namespace imprint::app::cli {

namespace {

const QCommandLineOption conninfoOption(QStringLiteral("conninfo"),
    QStringLiteral("The plant database: a libpq connection string without a password (host=... dbname=... "
                   "user=... sslmode=verify-full sslrootcert=...)."),
    QStringLiteral("STRING"));
const QCommandLineOption passwordFileOption(QStringLiteral("password-file"),
    QStringLiteral("A file only you can read (0600) holding the role's password; without it, libpq's own ways "
                   "(a .pgpass file, a client certificate, peer authentication on a local socket)."),
    QStringLiteral("FILE"));

/// A host reached over the network must be checked as TLS checks it (sslmode=verify-full);
/// a local socket or the loopback needs not.
core::Result<void> checkTransport(const QString& conninfo)
{
    if (auto c = core::pg::checkConninfo(conninfo); !c)
        return c;
    // Every host libpq may try (a list, and hostaddr beside it) must be a local socket or the
    // loopback; a service name may stand for any.
    const QString host = core::pg::conninfoValue(conninfo, "host");
    const QString hostaddr = core::pg::conninfoValue(conninfo, "hostaddr");
    auto loopback = [](const QString& h) {
        return h.isEmpty() || h.startsWith(u'/') || h.startsWith(u'@') || h == QLatin1String("localhost")
            || h == QLatin1String("127.0.0.1") || h == QLatin1String("::1");
    };
    bool local = core::pg::conninfoValue(conninfo, "service").isEmpty();
    for (const QString& h : host.split(u',') + hostaddr.split(u','))
        local = local && loopback(h.trimmed());
    if (!local && core::pg::conninfoValue(conninfo, "sslmode") != QLatin1String("verify-full"))
        return core::fail(core::ErrorCode::BadInput,
            QStringLiteral("The plant database %1 is reached over the network: give sslmode=verify-full (and "
                           "sslrootcert=FILE, the plant's CA) in the connection string, so that the station "
                           "checks whom it talks to.")
                .arg(host.isEmpty() ? hostaddr : host));
    if (!core::pg::conninfoValue(conninfo, "password").isEmpty())
        return core::fail(core::ErrorCode::BadInput,
            QStringLiteral("The connection string holds a password: put it in a file only you can read and give "
                           "--password-file FILE instead."));
    return {};
}

/// A connection as a plant administrator (migrate, add-station): --conninfo and --password-file.
core::Result<core::pg::Connection> adminConnection(const CommandLine& p)
{
    const QString conninfo = p.value(conninfoOption);
    if (auto c = core::pg::checkConninfo(conninfo); !c)
        return std::unexpected(c.error());
    core::Secret password;
    if (p.isSet(passwordFileOption)) {
        auto read = core::DataDir::readSecretFile(p.value(passwordFileOption));
        if (!read)
            return std::unexpected(read.error());
        password = std::move(*read);
    }
    // A migration may build an index over every row the plant holds: its answer may take long.
    return core::pg::Connection::open(core::pg::Target { conninfo, std::move(password), 10, 86400 });
}

/// The station's CA chain as PEM, for the plant's copy.
QByteArray chainPem(const core::DataDir& dir)
{
    auto chain = dir.loadChain();
    QByteArray pem;
    if (chain) {
        for (const QByteArray& der : *chain)
            pem += core::ossl::derToPem(der);
    }
    return pem;
}

} // namespace

int plantConfigure(const QStringList& args)
{
    CommandLine p(QStringLiteral("Point the station at the plant record (a PostgreSQL database). The password file is "
                                 "copied into the data directory, readable by the station only."));
    QCommandLineOption line(
        QStringLiteral("line"), QStringLiteral("The line this station stands on."), QStringLiteral("NAME"));
    p.addOptions({ conninfoOption, passwordFileOption, line });
    p.parse(args);
    if (!p.isSet(conninfoOption))
        return usageError(args, QStringLiteral("give --conninfo STRING"));
    const core::DataDir dir = p.dataDir();
    auto config = dir.loadConfig();
    if (!config)
        return report(config.error());
    const QString conninfo = p.value(conninfoOption).trimmed();
    if (auto c = checkTransport(conninfo); !c)
        return report(c.error());
    // The plant knows the station by its id: made now if the station has not started yet.
    if (auto mine = app::checkStoreIdentity(dir, *config, true); !mine)
        return report(mine.error());
    config->plant.conninfo = conninfo;
    if (p.isSet(line))
        config->plant.line = p.value(line);
    if (p.isSet(passwordFileOption)) {
        auto password = core::DataDir::readSecretFile(p.value(passwordFileOption));
        if (!password)
            return report(password.error());
        const QString kept = dir.path() + QStringLiteral("/plant-password");
        if (auto w = core::DataDir::writePrivateFile(kept, QByteArray(password->data(), password->size())); !w)
            return report(w.error());
        config->plant.passwordFile = kept;
    }
    if (auto s = dir.saveConfig(*config); !s)
        return report(s.error());
    out() << "The plant record is " << conninfo << "." << Qt::endl
          << "This station's id is " << config->stationId
          << " (the plant's administrator gives it a role: imprintctl plant add-station --station-id "
          << config->stationId << " ...)." << Qt::endl;
    auto db = core::openPlant(config->plant);
    if (!db) {
        out() << "It cannot be reached now (" << db.error().message
              << "); the station keeps its changes and pushes them when it can." << Qt::endl;
        return 0;
    }
    auto version = core::plant::schemaVersion(*db);
    if (version && *version == core::plant::latestSchema())
        out() << "Reached " << db->where() << ", schema " << *version << "." << Qt::endl;
    else if (version)
        out() << "Reached " << db->where() << ", but its schema is " << *version << ", not "
              << core::plant::latestSchema() << ": the plant's administrator runs imprintctl plant migrate."
              << Qt::endl;
    return 0;
}

int plantMigrate(const QStringList& args)
{
    CommandLine p(QStringLiteral("Create or upgrade the plant record's schema, roles and views (as the plant "
                                 "database's administrator)."));
    p.addOptions({ conninfoOption, passwordFileOption });
    p.parse(args);
    if (!p.isSet(conninfoOption))
        return usageError(args, QStringLiteral("give --conninfo STRING (the administrator's)"));
    auto db = adminConnection(p);
    if (!db)
        return report(db.error());
    auto before = core::plant::schemaVersion(*db);
    if (!before)
        return report(before.error());
    auto after = core::plant::migrate(*db);
    if (!after)
        return report(after.error());
    if (*after == *before)
        out() << "The plant record at " << db->where() << " has schema " << *after << " already." << Qt::endl;
    else
        out() << "The plant record at " << db->where() << " now has schema " << *after << " (was " << *before << ")."
              << Qt::endl;
    return 0;
}

int plantAddStation(const QStringList& args)
{
    CommandLine p(QStringLiteral("Give a station its own role in the plant record (as the plant database's "
                                 "administrator): it may insert its own rows only. Its password is written to a "
                                 "new file only you can read, for the station's plant configure."));
    QCommandLineOption station(QStringLiteral("station-id"),
        QStringLiteral("The station's id ([station] id in its station.ini, or imprintctl status)."),
        QStringLiteral("ID"));
    QCommandLineOption line(QStringLiteral("line"), QStringLiteral("Its line."), QStringLiteral("NAME"));
    QCommandLineOption name(QStringLiteral("name"), QStringLiteral("Its name."), QStringLiteral("NAME"));
    QCommandLineOption passwordOut(QStringLiteral("password-out"),
        QStringLiteral("Where to write the new role's password (0600)."), QStringLiteral("FILE"));
    QCommandLineOption qa(QStringLiteral("qa-role"),
        QStringLiteral("Instead: give this existing login role QA's read-only rights."), QStringLiteral("ROLE"));
    p.addOptions({ conninfoOption, passwordFileOption, station, line, name, passwordOut, qa });
    p.parse(args);
    if (!p.isSet(conninfoOption))
        return usageError(args, QStringLiteral("give --conninfo STRING (the administrator's)"));
    if (!p.isSet(qa) && (!p.isSet(station) || !p.isSet(passwordOut)))
        return usageError(args, QStringLiteral("give --station-id ID and --password-out FILE, or --qa-role ROLE"));
    auto db = adminConnection(p);
    if (!db)
        return report(db.error());
    if (p.isSet(qa)) {
        if (auto g = core::plant::grantQa(*db, p.value(qa)); !g)
            return report(g.error());
        out() << "Role " << p.value(qa) << " reads the plant record (QA)." << Qt::endl;
        return 0;
    }
    QByteArray raw(24, Qt::Uninitialized);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1)
        return report(
            core::Error { core::ErrorCode::Crypto, QStringLiteral("No random password could be made."), {}, {} });
    const core::Secret password(raw.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals));
    OPENSSL_cleanse(raw.data(), static_cast<size_t>(raw.size()));
    if (auto w = core::DataDir::writePrivateFile(p.value(passwordOut), QByteArray(password.data(), password.size()));
        !w)
        return report(w.error());
    auto role = core::plant::addStation(*db, p.value(station), p.value(line), p.value(name), password);
    if (!role)
        return report(role.error());
    out() << "Station " << p.value(station) << " pushes as role " << *role << "; its password is in "
          << p.value(passwordOut) << "." << Qt::endl;
    return 0;
}

int plantPush(const QStringList& args)
{
    CommandLine p(QStringLiteral("Push the station's changes to the plant record now, in the foreground."));
    QCommandLineOption progress(QStringLiteral("progress"), QStringLiteral("JSON progress lines on standard error."));
    p.addOption(progress);
    p.parse(args);
    return withRecords(p, Access::Write, [&](core::RecordStore& records, const core::StationConfig& config) {
        if (!config.plant.configured())
            return report(core::Error { core::ErrorCode::NotInitialized,
                QStringLiteral("No plant record is configured (imprintctl plant configure%1 --conninfo ...).")
                    .arg(p.dataDir().ctlArg()),
                {}, {} });
        auto password = core::readPlantPassword(config.plant);
        if (!password)
            return report(password.error());
        core::PlantPush push(records, config.plant, config.stationId, std::move(*password), chainPem(p.dataDir()));
        Progress shown(p.isSet(progress), QStringLiteral("changes"));
        auto round = push.drain([&](qint64 done, qint64 total) { shown(done, total); });
        shown.finish();
        push.release();
        if (!round)
            return report(round.error());
        if (!round->leaseHolder.isEmpty()) {
            out() << "Another process pushes to the plant record now (" << round->leaseHolder << ")." << Qt::endl;
            return 0;
        }
        out() << round->pushed << " change(s) pushed to the plant record, " << round->again << " it had already, "
              << round->flagged << " flagged (another record under the same key); " << round->backlog << " waiting."
              << Qt::endl;
        return 0;
    });
}

int plantStatus(const QStringList& args)
{
    CommandLine p(QStringLiteral("The plant record: this station's backlog and last push, and every station's last "
                                 "push, backlog and audit head as the plant holds them."),
        CommandLine::DataDirAndJson);
    p.parse(args);
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig& config) {
        auto backlog = records.plant().backlog();
        auto contact = records.plant().contact();
        if (!backlog)
            return report(backlog.error());
        if (!contact)
            return report(contact.error());
        QJsonObject o { { QStringLiteral("configured"), config.plant.configured() },
            { QStringLiteral("backlog"), *backlog },
            { QStringLiteral("last_attempt"), contact->attempted.toString(Qt::ISODateWithMs) },
            { QStringLiteral("last_push"), contact->reached.toString(Qt::ISODateWithMs) },
            { QStringLiteral("last_error"), contact->plainError() },
            { QStringLiteral("last_error_detail"), contact->errorDetail() } };
        if (!config.plant.configured()) {
            if (p.json())
                out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
            else
                out() << "No plant record is configured (imprintctl plant configure" << p.dataDir().ctlArg()
                      << " --conninfo ...); " << *backlog << " change(s) kept for it." << Qt::endl;
            return 0;
        }
        auto db = core::openPlant(config.plant);
        QJsonArray stations;
        QString plantError;
        if (db) {
            auto all = core::plant::stations(*db);
            if (all) {
                for (const auto& s : *all)
                    stations.append(QJsonObject { { QStringLiteral("station"), s.stationId },
                        { QStringLiteral("line"), s.line }, { QStringLiteral("name"), s.name },
                        { QStringLiteral("last_push"), s.lastPush.toString(Qt::ISODateWithMs) },
                        { QStringLiteral("backlog"), s.backlog }, { QStringLiteral("rows"), s.rows },
                        { QStringLiteral("audit_head"), s.auditHead }, { QStringLiteral("audit_hash"), s.auditHash },
                        { QStringLiteral("conflicts"), s.conflicts } });
            } else {
                plantError = all.error().message;
            }
        } else {
            plantError = db.error().message;
        }
        o[QStringLiteral("stations")] = stations;
        o[QStringLiteral("plant_error")] = plantError;
        if (p.json()) {
            out() << QJsonDocument(o).toJson(QJsonDocument::Compact) << Qt::endl;
            return 0;
        }
        out() << "This station: " << *backlog << " change(s) waiting; last push "
              << (contact->reached.isValid() ? contact->reached.toString(Qt::ISODate) : QStringLiteral("never"))
              << Qt::endl;
        if (!contact->lastError.isEmpty())
            out() << "  last error:  " << contact->plainError() << Qt::endl;
        if (!contact->errorDetail().isEmpty())
            out() << "  detail:      " << contact->errorDetail() << Qt::endl;
        if (!plantError.isEmpty()) {
            out() << "The plant record cannot be read now: " << plantError << Qt::endl;
            return 0;
        }
        out() << "Stations in the plant record:" << Qt::endl;
        for (const QJsonValue& v : stations) {
            const QJsonObject s = v.toObject();
            out() << "  " << s[QStringLiteral("line")].toString() << "  " << s[QStringLiteral("station")].toString()
                  << "  last push "
                  << (s[QStringLiteral("last_push")].toString().isEmpty() ? QStringLiteral("never")
                                                                          : s[QStringLiteral("last_push")].toString())
                  << ", backlog " << s[QStringLiteral("backlog")].toInteger() << ", "
                  << s[QStringLiteral("rows")].toInteger() << " rows, audit head "
                  << s[QStringLiteral("audit_head")].toInteger()
                  << (s[QStringLiteral("conflicts")].toInteger() > 0
                             ? QStringLiteral(", %1 CONFLICT(S)").arg(s[QStringLiteral("conflicts")].toInteger())
                             : QString())
                  << Qt::endl;
        }
        return 0;
    });
}

} // namespace imprint::app::cli
