#include "DataDir.h"

#include "pki/OpenSsl.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSettings>
#include <QStandardPaths>
#include <QStorageInfo>
#include <QTime>
#include <QUuid>

#include <optional>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace imprint::core {

QString DataDir::resolve(const QString& explicitDir)
{
    if (!explicitDir.isEmpty())
        return QDir(explicitDir).absolutePath();
    const QString env = qEnvironmentVariable("IMPRINT_DATA_DIR");
    if (!env.isEmpty())
        return QDir(env).absolutePath();
    QString base = qEnvironmentVariable("XDG_DATA_HOME");
    if (base.isEmpty())
        base = QDir::homePath() + QStringLiteral("/.local/share");
    return base + QStringLiteral("/imprint");
}

DataDir::DataDir(QString path)
    : m_path(std::move(path))
{
}

QString DataDir::configFile() const
{
    return m_path + QStringLiteral("/station.ini");
}
QString DataDir::database() const
{
    return m_path + QStringLiteral("/imprint.sqlite");
}
QString DataDir::softhsmConf() const
{
    return m_path + QStringLiteral("/softhsm2.conf");
}
QString DataDir::tokenDir() const
{
    return m_path + QStringLiteral("/tokens");
}
QString DataDir::pinFile() const
{
    return m_path + QStringLiteral("/secrets/user.pin");
}
QString DataDir::soPinFile() const
{
    return m_path + QStringLiteral("/secrets/so.pin");
}
QString DataDir::rootCertFile() const
{
    return m_path + QStringLiteral("/ca/root.pem");
}
QString DataDir::caCertFile() const
{
    return m_path + QStringLiteral("/ca/issuing-ca.pem");
}
QString DataDir::chainFile() const
{
    return m_path + QStringLiteral("/ca/chain.pem");
}

namespace {

const QRegularExpression PinSourceFile(QStringLiteral("pin-source=file:([^;&]*)"));

/// SoftHSM2 reads its token directory from softhsm2.conf as an absolute path; the line the
/// data directory's own file has for it.
QByteArray tokenDirLine(const QString& tokenDir)
{
    return "directories.tokendir = " + QFile::encodeName(tokenDir);
}

/// Every key station.ini may hold, by section: anything else is a mistake worth a word
/// (QSettings alone ignores a misspelt key and a line that does not parse).
const QHash<QString, QStringList>& knownSettings()
{
    static const QHash<QString, QStringList> known {
        { QStringLiteral("station"), { QStringLiteral("name"), QStringLiteral("id") } },
        { QStringLiteral("hsm"),
            { QStringLiteral("module"), QStringLiteral("ca-key"), QStringLiteral("softhsm2-conf") } },
        { QStringLiteral("timeouts"),
            { QStringLiteral("identify-ms"), QStringLiteral("keygen-ms"), QStringLiteral("exchange-ms"),
                QStringLiteral("attempts"), QStringLiteral("reconnect-ms") } },
        { QStringLiteral("audit"),
            { QStringLiteral("checkpoint-every"), QStringLiteral("key-sha256"), QStringLiteral("key-label"),
                QStringLiteral("retired-keys") } },
        { QStringLiteral("upstream"),
            { QStringLiteral("url"), QStringLiteral("trusted"), QStringLiteral("recipient"),
                QStringLiteral("server-cert"), QStringLiteral("server-name"), QStringLiteral("ra-key"),
                QStringLiteral("ra-cert"), QStringLiteral("batch-size"), QStringLiteral("message-timeout-s"),
                QStringLiteral("total-timeout-s"), QStringLiteral("retry-min-s"), QStringLiteral("retry-max-s"),
                QStringLiteral("sync-every-s"), QStringLiteral("in-flight"), QStringLiteral("connect-timeout-s"),
                QStringLiteral("implicit-confirm") } },
        { QStringLiteral("line"),
            { QStringLiteral("rows"), QStringLiteral("columns"), QStringLiteral("names"), QStringLiteral("shifts") } },
        { QStringLiteral("plant"),
            { QStringLiteral("conninfo"), QStringLiteral("password-file"), QStringLiteral("line"),
                QStringLiteral("push-every-s"), QStringLiteral("batch-rows"), QStringLiteral("connect-timeout-s"),
                QStringLiteral("answer-timeout-s"), QStringLiteral("retry-max-s") } },
        { QStringLiteral("roles"), { QStringLiteral("idle-minutes") } },
        { QStringLiteral("certificates"), { QStringLiteral("unshipped-grace-minutes") } },
    };
    return known;
}

/// Refuses a settings file with a line that does not parse, a section or a key this
/// station does not know, naming the line.
/// Checks every line of station.ini against the known sections and keys; returns where each
/// setting is ("section/key" -> line number), for messages about its value.
Result<QHash<QString, int>> checkSettingsFile(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return fail(
            ErrorCode::BadInput, QStringLiteral("The settings file %1 cannot be read.").arg(path), f.errorString());
    static const QRegularExpression section(QStringLiteral("^\\[([^\\]]*)\\]$"));
    static const QRegularExpression entry(QStringLiteral("^([A-Za-z0-9_.-]+)\\s*=(.*)$"));
    QString current;
    int number = 0;
    QHash<QString, int> lines;
    auto refuse = [&](const QString& what) {
        return fail(ErrorCode::BadInput,
            QStringLiteral("The settings file %1, line %2: %3. Correct or remove the line; nothing was changed.")
                .arg(path)
                .arg(number)
                .arg(what));
    };
    while (!f.atEnd()) {
        ++number;
        const QString line = QString::fromUtf8(f.readLine()).trimmed();
        if (line.isEmpty() || line.startsWith(u';') || line.startsWith(u'#'))
            continue;
        if (auto m = section.match(line); m.hasMatch()) {
            current = m.captured(1).trimmed();
            if (!knownSettings().contains(current))
                return refuse(QStringLiteral("[%1] is not a section of station.ini (known: %2)")
                                  .arg(current, QStringList(knownSettings().keys()).join(QStringLiteral(", "))));
            continue;
        }
        const auto m = entry.match(line);
        if (!m.hasMatch())
            return refuse(QStringLiteral("\"%1\" is not a setting (KEY = VALUE) or a [section]").arg(line.left(60)));
        if (current.isEmpty())
            return refuse(QStringLiteral("\"%1\" comes before any [section]").arg(m.captured(1)));
        if (!knownSettings().value(current).contains(m.captured(1)))
            return refuse(QStringLiteral("\"%1\" is not a setting of [%2] (known: %3)")
                              .arg(m.captured(1), current, knownSettings().value(current).join(QStringLiteral(", "))));
        lines.insert(current + u'/' + m.captured(1), number);
    }
    return lines;
}

} // namespace

QString DataDir::absolute(const QString& path) const
{
    if (path.isEmpty() || QDir::isAbsolutePath(path))
        return path;
    return QDir::cleanPath(m_path + u'/' + path);
}

QString DataDir::relative(const QString& path) const
{
    const QString inside = m_path + u'/';
    return path.startsWith(inside) ? path.mid(inside.size()) : path;
}

Result<void> DataDir::checkFreeSpace() const
{
    const QStorageInfo disk(m_path);
    if (!disk.isValid())
        return {}; // not there yet, or unknown: the writes themselves will say
    const qint64 free = disk.bytesAvailable();
    if (free >= MinimumFreeBytes)
        return {};
    return fail(ErrorCode::Io,
        QStringLiteral(
            "The disk holding the data directory %1 is nearly full: %2 MiB free, and the station needs at least "
            "%3 MiB to record devices. Free some space on it (or move the data directory to a larger disk) "
            "and start again. Nothing was recorded.")
            .arg(m_path)
            .arg(static_cast<double>(free) / (1024.0 * 1024.0), 0, 'f', 1)
            .arg(MinimumFreeBytes / (1024 * 1024)),
        {}, QStringLiteral("disk-full"));
}

Result<void> DataDir::writeSoftHsmConf() const
{
    // SoftHSM2 reads everything after a '#' on a line of its configuration as a comment.
    if (tokenDir().contains(u'#'))
        return fail(ErrorCode::BadInput,
            QStringLiteral("The data directory %1 has a '#' in its path, which SoftHSM2 cannot read in its "
                           "configuration; move it to a path without '#'.")
                .arg(m_path));
    const QByteArray conf = "# SoftHSM2 token store of this Imprint station (written by Imprint: the token "
                            "directory follows the data directory when it moves)\n"
        + tokenDirLine(tokenDir()) + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
    QSaveFile f(softhsmConf());
    if (!f.open(QIODevice::WriteOnly) || f.write(conf) != conf.size() || !f.commit())
        return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(softhsmConf()), f.errorString());
    return {};
}

Result<void> DataDir::followMove(StationConfig* c) const
{
    // Paths into the data directory are kept relative to it (see saveConfig). A station.ini
    // from before that names the place the directory was made: where those files are here
    // too (the directory was moved, or copied), they are read as this directory's, and the
    // settings are written again the new way. A copy never works on the original's files.
    const QString conf = c->softhsmConf;
    bool rewrite = false;
    if (QDir::isAbsolutePath(conf) && conf.endsWith(QLatin1String("/softhsm2.conf"))) {
        const QString oldRoot = conf.left(conf.size() - int(qstrlen("/softhsm2.conf")));
        if (oldRoot != m_path && QFileInfo::exists(softhsmConf())) {
            c->softhsmConf = softhsmConf();
            QRegularExpressionMatch m = PinSourceFile.match(c->keyUri);
            if (m.hasMatch() && m.captured(1).startsWith(oldRoot + u'/'))
                c->keyUri.replace(m.capturedStart(1), m.capturedLength(1), m_path + m.captured(1).mid(oldRoot.size()));
            rewrite = true;
        } else if (oldRoot == m_path) {
            rewrite = true; // absolute, but here: written again relative, so it can move later
        }
    }
    c->softhsmConf = absolute(c->softhsmConf);
    QRegularExpressionMatch m = PinSourceFile.match(c->keyUri);
    if (m.hasMatch() && !m.captured(1).isEmpty() && !QDir::isAbsolutePath(m.captured(1)))
        c->keyUri.replace(m.capturedStart(1), m.capturedLength(1), absolute(m.captured(1)));
    // Written again the new way where the directory allows it; read-only, the paths above
    // are made this directory's again at every start.
    if (rewrite)
        (void)saveConfig(*c);
    // The embedded token's softhsm2.conf must name this directory's tokens, not those of
    // the place the directory came from.
    if (c->softhsmConf == softhsmConf() && QFileInfo::exists(softhsmConf())) {
        QFile f(softhsmConf());
        const QByteArray current = f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        if (!current.contains(tokenDirLine(tokenDir()) + '\n'))
            return writeSoftHsmConf();
    }
    return {};
}

bool DataDir::isInitialized() const
{
    return QFileInfo::exists(configFile()) && QFileInfo::exists(chainFile());
}

QStringList DataDir::knownStations()
{
    QStringList found;
    for (const QString& candidate :
        { resolve({}), qEnvironmentVariable("IMPRINT_DATA_DIR"), QStringLiteral("/var/lib/imprint") }) {
        if (candidate.isEmpty())
            continue;
        const QString path = QDir(candidate).absolutePath();
        if (!found.contains(path) && QFileInfo::exists(path + QStringLiteral("/station.ini")))
            found << path;
    }
    return found;
}

QString DataDir::ctlArg() const
{
    if (QDir(m_path).absolutePath() == resolve({}))
        return {};
    // Quoted for a POSIX shell unless it is plain: copied as printed, it names this folder.
    QString path = m_path;
    static const QRegularExpression plain(QStringLiteral("^[A-Za-z0-9_./+:,@%=-]+$"));
    if (!plain.match(path).hasMatch())
        path = QStringLiteral("'") + path.replace(QStringLiteral("'"), QStringLiteral("'\\''")) + QStringLiteral("'");
    return QStringLiteral(" --data-dir ") + path;
}

Result<StationConfig> DataDir::loadConfig() const
{
    if (!QFileInfo(m_path).isDir()) {
        // A typo, not a station to be set up: say so, and which stations there are.
        const QStringList known = knownStations();
        return fail(ErrorCode::NotFound,
            QStringLiteral("The data directory %1 does not exist. %2")
                .arg(m_path,
                    known.isEmpty()
                        ? QStringLiteral("No station is set up for this account; \"imprintctl init\" sets one up.")
                        : QStringLiteral("Stations set up here: %1. Check --data-dir (or IMPRINT_DATA_DIR).")
                              .arg(known.join(QStringLiteral(", ")))));
    }
    if (!QFileInfo::exists(configFile()))
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("The data directory %1 is not set up; run \"imprintctl init%2\" first.")
                .arg(m_path, ctlArg()));
    auto lines = checkSettingsFile(configFile());
    if (!lines)
        return std::unexpected(lines.error());
    QSettings s(configFile(), QSettings::IniFormat);
    if (s.status() != QSettings::NoError)
        return fail(ErrorCode::BadInput, QStringLiteral("The settings file %1 cannot be read.").arg(configFile()));
    StationConfig c;
    c.stationName = s.value(QStringLiteral("station/name")).toString();
    c.stationId = s.value(QStringLiteral("station/id")).toString();
    c.modulePath = s.value(QStringLiteral("hsm/module")).toString();
    c.keyUri = s.value(QStringLiteral("hsm/ca-key")).toString();
    c.softhsmConf = s.value(QStringLiteral("hsm/softhsm2-conf")).toString();
    if (c.modulePath.isEmpty() || c.keyUri.isEmpty())
        return fail(ErrorCode::BadInput,
            QStringLiteral("The settings file %1 does not name the PKCS#11 module and CA key "
                           "(hsm/module, hsm/ca-key).")
                .arg(configFile()));
    if (c.stationName.isEmpty())
        c.stationName = QStringLiteral("station");
    // A whole number in its range; the first one that is not is said with its line.
    std::optional<Error> badNumber;
    auto timeout = [&](const char* key, int fallback, int lowest, int highest) -> std::optional<int> {
        const QVariant v = s.value(QLatin1String(key));
        if (!v.isValid())
            return fallback;
        bool ok = false;
        const int n = v.toString().trimmed().toInt(&ok);
        if (ok && n >= lowest && n <= highest)
            return n;
        if (!badNumber) {
            const QString name = QString::fromLatin1(key);
            badNumber = Error { ErrorCode::BadInput,
                QStringLiteral("The settings file %1, line %2: [%3] %4 = %5 is %6 (%7 to %8)%9. Correct the line; "
                               "nothing was changed.")
                    .arg(configFile())
                    .arg(lines->value(name))
                    .arg(name.section(u'/', 0, 0), name.section(u'/', 1), v.toString().left(40),
                        ok ? QStringLiteral("out of range") : QStringLiteral("not a whole number"))
                    .arg(lowest)
                    .arg(highest)
                    .arg(name.endsWith(QLatin1String("-ms")) ? QStringLiteral(", in milliseconds: 5 s is 5000")
                                                             : QString()),
                {}, QStringLiteral("setting") };
        }
        return std::nullopt;
    };
    const auto identify = timeout("timeouts/identify-ms", c.timeouts.identifyMs, 100, 600000);
    const auto keygen = timeout("timeouts/keygen-ms", c.timeouts.keygenMs, 100, 3600000);
    const auto exchange = timeout("timeouts/exchange-ms", c.timeouts.exchangeMs, 100, 600000);
    const auto attempts = timeout("timeouts/attempts", c.timeouts.attempts, 1, 10);
    const auto reconnect = timeout("timeouts/reconnect-ms", c.timeouts.reconnectMs, 0, 3600000);
    if (!identify || !keygen || !exchange || !attempts || !reconnect)
        return std::unexpected(*badNumber);
    c.timeouts = StepTimeouts { *identify, *keygen, *exchange, *attempts, *reconnect };
    const auto every = timeout("audit/checkpoint-every", c.auditCheckpointEvery, 1, 1000000);
    if (!every)
        return std::unexpected(*badNumber);
    c.auditCheckpointEvery = *every;
    c.auditKeySha256 = s.value(QStringLiteral("audit/key-sha256")).toString().trimmed().toLower();
    if (const QString label = s.value(QStringLiteral("audit/key-label")).toString().trimmed(); !label.isEmpty())
        c.auditKeyLabel = label;
    for (const QString& label :
        s.value(QStringLiteral("audit/retired-keys")).toString().split(u',', Qt::SkipEmptyParts))
        c.auditRetiredLabels << label.trimmed();

    UpstreamConfig& u = c.upstream;
    u.url = s.value(QStringLiteral("upstream/url")).toString().trimmed();
    u.trustedFile = s.value(QStringLiteral("upstream/trusted")).toString();
    u.recipient = s.value(QStringLiteral("upstream/recipient")).toString();
    u.serverCertFile = s.value(QStringLiteral("upstream/server-cert")).toString();
    u.serverName = s.value(QStringLiteral("upstream/server-name")).toString().trimmed();
    u.raKeyUri = s.value(QStringLiteral("upstream/ra-key")).toString();
    u.raCertFile = s.value(QStringLiteral("upstream/ra-cert")).toString();
    const QString implicit = s.value(QStringLiteral("upstream/implicit-confirm")).toString().trimmed().toLower();
    if (!implicit.isEmpty() && implicit != QLatin1String("true") && implicit != QLatin1String("false"))
        return fail(ErrorCode::BadInput,
            QStringLiteral("The settings file %1 has [upstream] implicit-confirm \"%2\"; it is true or false.")
                .arg(configFile(), implicit));
    u.implicitConfirm = implicit == QLatin1String("true");
    PlantConfig& plant = c.plant;
    plant.conninfo = s.value(QStringLiteral("plant/conninfo")).toString().trimmed();
    plant.passwordFile = s.value(QStringLiteral("plant/password-file")).toString();
    plant.line = s.value(QStringLiteral("plant/line")).toString().trimmed();
    for (QString* path : { &u.trustedFile, &u.raCertFile, &u.serverCertFile, &plant.passwordFile }) {
        if (!path->isEmpty())
            *path = absolute(*path);
    }
    struct Range {
        const char* key;
        int* value;
        int lowest;
        int highest;
    };
    for (const Range& r : { Range { "upstream/batch-size", &u.batchSize, 1, 10000 },
             Range { "upstream/message-timeout-s", &u.messageTimeoutS, 1, 3600 },
             Range { "upstream/total-timeout-s", &u.totalTimeoutS, 1, 86400 },
             Range { "upstream/retry-min-s", &u.retryMinS, 1, 86400 },
             Range { "upstream/retry-max-s", &u.retryMaxS, 1, 604800 },
             Range { "upstream/sync-every-s", &u.syncEveryS, 1, 86400 },
             Range { "upstream/in-flight", &u.inFlight, 1, 64 },
             Range { "upstream/connect-timeout-s", &u.connectTimeoutS, 1, 600 },
             Range { "plant/push-every-s", &plant.pushEveryS, 1, 86400 },
             Range { "plant/batch-rows", &plant.batchRows, 1, 50000 },
             Range { "plant/connect-timeout-s", &plant.connectTimeoutS, 1, 600 },
             Range { "plant/answer-timeout-s", &plant.answerTimeoutS, 1, 3600 },
             Range { "plant/retry-max-s", &plant.retryMaxS, 1, 86400 }, Range { "line/rows", &c.line.rows, 0, 64 },
             Range { "line/columns", &c.line.columns, 0, 64 },
             Range { "roles/idle-minutes", &c.line.roleIdleMinutes, 1, 1440 },
             Range { "certificates/unshipped-grace-minutes", &c.unshippedGraceMinutes, 0, 525600 } }) {
        const auto v = timeout(r.key, *r.value, r.lowest, r.highest);
        if (!v)
            return std::unexpected(*badNumber);
        *r.value = *v;
    }
    if (!u.url.isEmpty() && !u.url.startsWith(QLatin1String("http://")) && !u.url.startsWith(QLatin1String("https://")))
        return fail(ErrorCode::BadInput,
            QStringLiteral("The settings file %1 has [upstream] url \"%2\", which is not an http:// or https:// URL.")
                .arg(configFile(), u.url));
    LineConfig& line = c.line;
    // A list in an INI value: QSettings splits it at commas itself, or hands the one string.
    auto list = [&s](const char* key) {
        const QVariant v = s.value(QLatin1String(key));
        QStringList items
            = v.typeId() == QMetaType::QStringList ? v.toStringList() : v.toString().split(u',', Qt::SkipEmptyParts);
        for (QString& item : items)
            item = item.trimmed();
        items.removeAll(QString());
        return items;
    };
    line.names = list("line/names");
    if (s.contains(QStringLiteral("line/shifts"))) {
        line.shiftStartsMin.clear();
        for (const QString& start : list("line/shifts")) {
            const QTime t = QTime::fromString(start, QStringLiteral("H:mm"));
            if (!t.isValid()
                || (!line.shiftStartsMin.isEmpty() && t.msecsSinceStartOfDay() / 60000 <= line.shiftStartsMin.last()))
                return fail(ErrorCode::BadInput,
                    QStringLiteral("The settings file %1 has [line] shifts \"%2\": give the times the shifts start, "
                                   "in order within a day, e.g. shifts = 06:00, 14:00, 22:00.")
                        .arg(configFile(), list("line/shifts").join(QStringLiteral(", "))));
            line.shiftStartsMin << t.msecsSinceStartOfDay() / 60000;
        }
        if (line.shiftStartsMin.isEmpty())
            line.shiftStartsMin << 0;
    }
    if (auto r = followMove(&c); !r)
        return std::unexpected(r.error());
    return c;
}

std::pair<QDateTime, QDateTime> LineConfig::shiftAround(const QDateTime& now) const
{
    const QDateTime local = now.toLocalTime();
    const QList<int> starts = shiftStartsMin.isEmpty() ? QList<int> { 0 } : shiftStartsMin;
    auto at = [](QDate d, int minutes) { return QDateTime(d, QTime(0, 0)).addSecs(qint64(minutes) * 60); };
    // The newest start at or before now: today's, else yesterday's last.
    QDateTime start = at(local.date().addDays(-1), starts.last());
    for (int m : starts) {
        if (at(local.date(), m) <= local)
            start = at(local.date(), m);
    }
    QDateTime end = at(start.date().addDays(1), starts.first());
    for (int m : starts) {
        const QDateTime candidate = at(start.date(), m);
        if (candidate > start) {
            end = candidate;
            break;
        }
    }
    return { start.toUTC(), end.toUTC() };
}

QString LineConfig::slotName(int index) const
{
    if (index >= 0 && index < names.size())
        return names.at(index);
    // Named as the tiles are laid out when `rows` is not set (with rows, the columns grow with the slots).
    const int across = columns > 0 ? columns : DefaultColumns;
    if ((columns > 0 || rows <= 0) && index / across < 26)
        return QStringLiteral("%1%2").arg(QChar(u'A' + index / across)).arg(index % across + 1);
    return QString::number(index + 1);
}

int LineConfig::columnsFor(int slots) const
{
    if (columns > 0)
        return columns;
    if (rows > 0)
        return std::max(1, (slots + rows - 1) / rows);
    return DefaultColumns;
}

Result<void> DataDir::saveConfig(const StationConfig& c) const
{
    QSettings s(configFile(), QSettings::IniFormat);
    s.setValue(QStringLiteral("station/name"), c.stationName);
    if (!c.stationId.isEmpty())
        s.setValue(QStringLiteral("station/id"), c.stationId);
    s.setValue(QStringLiteral("hsm/module"), c.modulePath);
    // Paths into the data directory are written relative to it: the directory can be moved
    // or copied (a backup) and works where it is, on its own files.
    QString keyUri = c.keyUri;
    if (QRegularExpressionMatch m = PinSourceFile.match(keyUri); m.hasMatch())
        keyUri.replace(m.capturedStart(1), m.capturedLength(1), relative(m.captured(1)));
    s.setValue(QStringLiteral("hsm/ca-key"), keyUri);
    s.setValue(QStringLiteral("hsm/softhsm2-conf"), relative(c.softhsmConf));
    if (!c.auditKeySha256.isEmpty())
        s.setValue(QStringLiteral("audit/key-sha256"), c.auditKeySha256);
    if (c.auditKeyLabel != QLatin1String("imprint-audit"))
        s.setValue(QStringLiteral("audit/key-label"), c.auditKeyLabel);
    if (!c.auditRetiredLabels.isEmpty())
        s.setValue(QStringLiteral("audit/retired-keys"), c.auditRetiredLabels.join(u','));
    const UpstreamConfig& u = c.upstream;
    const std::pair<const char*, QString> upstreamValues[] = { { "upstream/url", u.url },
        { "upstream/trusted", relative(u.trustedFile) }, { "upstream/recipient", u.recipient },
        { "upstream/server-cert", relative(u.serverCertFile) }, { "upstream/server-name", u.serverName },
        { "upstream/ra-key", u.raKeyUri }, { "upstream/ra-cert", relative(u.raCertFile) } };
    for (const auto& [key, value] : upstreamValues) {
        if (!value.isEmpty())
            s.setValue(QLatin1String(key), value);
    }
    const std::pair<const char*, QString> plantValues[] = { { "plant/conninfo", c.plant.conninfo },
        { "plant/password-file", relative(c.plant.passwordFile) }, { "plant/line", c.plant.line } };
    for (const auto& [key, value] : plantValues) {
        if (!value.isEmpty())
            s.setValue(QLatin1String(key), value);
    }
    // The signer is pinned by certificate or by name: `upstream configure` setting one
    // replaces the other, which would otherwise stay in the file and still be checked.
    if (u.serverCertFile.isEmpty() != u.serverName.isEmpty())
        s.remove(u.serverCertFile.isEmpty() ? QStringLiteral("upstream/server-cert")
                                            : QStringLiteral("upstream/server-name"));
    s.sync();
    if (s.status() != QSettings::NoError)
        return fail(ErrorCode::Io, QStringLiteral("The settings file %1 could not be written.").arg(configFile()));
    return {};
}

Result<QList<QByteArray>> DataDir::loadChain() const
{
    QFile f(chainFile());
    if (!f.open(QIODevice::ReadOnly))
        return fail(ErrorCode::NotInitialized,
            QStringLiteral("The CA chain %1 is missing; run \"imprintctl init\".").arg(chainFile()), f.errorString());
    auto certs = ossl::certsDerFromPem(f.readAll());
    if (!certs)
        return fail(ErrorCode::BadInput, QStringLiteral("The CA chain %1 holds no certificate.").arg(chainFile()));
    return certs;
}

QString DataDir::serviceLockFile() const
{
    return m_path + QStringLiteral("/service.lock");
}

Result<void> DataDir::holdDirectly() const
{
    if (!QFile::exists(configFile()))
        return {};
    const int fd
        = ::open(QFile::encodeName(serviceLockFile()).constData(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return {}; // not ours to write: the data directory's own files will say so
    if (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
        ::close(fd);
        return fail(ErrorCode::BadInput,
            QStringLiteral("The station service runs on %1: its commands go through it, and set-up, the CA ceremony "
                           "and restore wait until it is stopped (systemctl stop imprint-station).")
                .arg(m_path));
    }
    // Kept open (and the claim with it) until the process ends.
    return {};
}

QString DataDir::crlFile() const
{
    return m_path + QStringLiteral("/ca/crl.pem");
}

QString DataDir::raCertFile() const
{
    return m_path + QStringLiteral("/ra/ra-chain.pem");
}

QString DataDir::qaPassphraseFile() const
{
    return m_path + QStringLiteral("/secrets/qa-passphrase");
}

QString DataDir::upstreamTrustFile() const
{
    return m_path + QStringLiteral("/upstream/trusted.pem");
}

QString DataDir::upstreamServerCertFile() const
{
    return m_path + QStringLiteral("/upstream/server-cert.pem");
}

QString DataDir::profileDir() const
{
    return m_path + QStringLiteral("/profiles");
}

Result<void> DataDir::saveChain(const QList<QByteArray>& chain) const
{
    if (chain.isEmpty())
        return fail(ErrorCode::BadInput, QStringLiteral("There is no CA certificate to save."));
    QByteArray all;
    for (const QByteArray& der : chain)
        all += ossl::derToPem(der);
    const std::pair<QString, QByteArray> files[] = {
        { caCertFile(), ossl::derToPem(chain.first()) },
        { rootCertFile(), ossl::derToPem(chain.last()) },
        { chainFile(), all },
    };
    QDir().mkpath(QFileInfo(chainFile()).absolutePath());
    for (const auto& [path, pem] : files) {
        QSaveFile f(path);
        if (!f.open(QIODevice::WriteOnly) || f.write(pem) != pem.size() || !f.commit())
            return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path), f.errorString());
    }
    return {};
}

Result<void> DataDir::writePrivateFile(const QString& path, const QByteArray& contents)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    // A new file of a name no one can guess, created 0600 from the start (never one that is
    // there already, nor through a link: in a folder others may write, a file or link put
    // there first would otherwise receive the secret), then renamed over the path.
    const QByteArray tmp
        = QFile::encodeName(path + QStringLiteral(".%1.tmp").arg(QUuid::createUuid().toString(QUuid::Id128).left(12)));
    const int fd = ::open(tmp.constData(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, S_IRUSR | S_IWUSR);
    if (fd < 0)
        return fail(
            ErrorCode::Io, QStringLiteral("Could not create %1.").arg(path), QString::fromLocal8Bit(strerror(errno)));
    const bool ok = ::write(fd, contents.constData(), static_cast<size_t>(contents.size())) == contents.size()
        && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.constData(), QFile::encodeName(path).constData()) != 0) {
        ::unlink(tmp.constData());
        return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path));
    }
    return {};
}

Result<Secret> DataDir::readSecretFile(const QString& path)
{
    const QByteArray name = QFile::encodeName(path);
    const int fd = ::open(name.constData(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fail(ErrorCode::BadInput, QStringLiteral("The PIN file %1 cannot be opened.").arg(path),
            QString::fromLocal8Bit(strerror(errno)));
    struct stat st { };
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return fail(ErrorCode::BadInput, QStringLiteral("The PIN file %1 is not a regular file.").arg(path));
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0 || st.st_uid != ::geteuid()) {
        ::close(fd);
        return fail(ErrorCode::BadInput,
            QStringLiteral("The PIN file %1 may be read by others (mode %2); it must belong to you and have "
                           "mode 0600 or 0400. Fix it with: chmod 600 %1")
                .arg(path)
                .arg(st.st_mode & 07777, 4, 8, QLatin1Char('0')));
    }
    QByteArray buf(4096, Qt::Uninitialized);
    const ssize_t n = ::read(fd, buf.data(), static_cast<size_t>(buf.size()));
    ::close(fd);
    if (n < 0) {
        OPENSSL_cleanse(buf.data(), static_cast<size_t>(buf.size()));
        return fail(ErrorCode::Io, QStringLiteral("The PIN file %1 cannot be read.").arg(path));
    }
    qsizetype len = n;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        --len;
    QByteArray pin = buf.left(len);
    OPENSSL_cleanse(buf.data(), static_cast<size_t>(buf.size()));
    return Secret(std::move(pin));
}

} // namespace imprint::core
