// imprintctl backup, restore: a data directory in one archive, and back.

#include "Backup.h"
#include "StationSetup.h"
#include "cli/Command.h"

#include <QFileInfo>

#include <algorithm>

namespace imprint::app::cli {

int backup(const QStringList& args)
{
    CommandLine p(QStringLiteral("Write a backup of the data directory to one archive (tar, or .tar.gz; created "
                                 "readable by you only): a consistent snapshot of the records (taken while the "
                                 "station runs), the settings, profiles, CA chain and CRL, the RA certificate, the "
                                 "upstream's anchors and the SoftHSM2 token files, with a manifest of SHA-256 sums "
                                 "signed by the station's audit key in the token (unlocked from the CA key's "
                                 "pin-source, or the PIN is asked for). No PIN goes in."));
    QCommandLineOption outFile(QStringLiteral("out"), QStringLiteral("The archive to write."), QStringLiteral("FILE"));
    p.addOption(outFile);
    p.parse(args);
    if (!p.isSet(outFile))
        return usageError(args, QStringLiteral("give --out FILE"));
    const core::DataDir dir = p.dataDir();
    // The manifest is signed by the audit key, as the audit log's checkpoints are. Only the
    // token is opened, as the key ceremony commands do, not the whole station (openStation
    // also refuses a nearly full disk and needs a working certificate profile): a backup must
    // be possible exactly when something is wrong.
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto auditKey = hsm::openAuditKey(*ca, dir, config);
    if (!auditKey)
        return report(auditKey.error());
    auto written = core::backup(dir, p.value(outFile), **auditKey);
    if (!written)
        return report(written.error());
    out() << "Backed up " << written->files.size() << " files to " << p.value(outFile) << " (records at audit entry "
          << written->auditSeq << ", schema " << written->schema << ")." << Qt::endl
          << "Signed with the station's audit key, SHA-256 " << written->auditKeySha256 << Qt::endl
          << "Note that SHA-256 apart from the backup: restoring it where this station's token is not needs it "
             "(restore --audit-key-sha256)."
          << Qt::endl
          << "The PIN files (secrets/) are not in it: keep them, or the token's PIN, apart." << Qt::endl;
    return 0;
}

int restore(const QStringList& args)
{
    CommandLine p(QStringLiteral(
        "Restore a backup into a data directory (new or empty; --force replaces one, keeping its secrets/). The "
        "backup must be signed by the audit key of the station that made it: restored over that station, the key is "
        "read from its token; anywhere else (a new folder, a new machine) name the key with --audit-key-sha256. The "
        "signature, and every file against the manifest, are checked before anything is written; an archive holding "
        "anything a backup does not (secrets/, links, devices, paths out of the folder) is refused."));
    QCommandLineOption inFile(QStringLiteral("in"), QStringLiteral("The backup archive."), QStringLiteral("FILE"));
    QCommandLineOption force(QStringLiteral("force"), QStringLiteral("Replace what the data directory holds."));
    QCommandLineOption auditKeySha256(QStringLiteral("audit-key-sha256"),
        QStringLiteral("The SHA-256 of the audit key of the station that made the backup, as \"imprintctl backup\" "
                       "printed it: the backup is restored only if that key signed it. Needed where the data "
                       "directory holds no station whose token has the key; where it does, it must name that key."),
        QStringLiteral("HEX"));
    p.addOptions({ inFile, force, auditKeySha256 });
    p.parse(args);
    if (!p.isSet(inFile))
        return usageError(args, QStringLiteral("give --in FILE [--data-dir DIR] [--force] [--audit-key-sha256 HEX]"));
    const core::DataDir dir = p.dataDir();
    core::BackupTrust trust;
    if (p.isSet(auditKeySha256)) {
        QString hex = p.value(auditKeySha256).toLower();
        hex.remove(u':');
        if (hex.size() != 64 || !std::all_of(hex.begin(), hex.end(), [](QChar c) {
                return (c >= u'0' && c <= u'9') || (c >= u'a' && c <= u'f');
            }))
            return usageError(
                args, QStringLiteral("--audit-key-sha256 takes the key's SHA-256: 64 hexadecimal digits"));
        trust.auditKeySha256 = hex;
    }
    // A backup is believed only when it carries the signature of an audit key this station
    // trusts. Restored over a station, that is the key in its token, whose public half is
    // read without a PIN, before anything is written. With no token to ask there is nothing
    // here to check against, and a signature checked against a key the archive brings would
    // prove nothing; so such a restore is refused unless the person restoring names the key
    // (--audit-key-sha256, from the backup's own output, kept apart from it) rather than
    // skipping the check altogether.
    if (QFileInfo::exists(dir.configFile())) {
        auto config = dir.loadConfig();
        if (!config) {
            trust.tokenProblem = config.error().text();
        } else if (auto key = hsm::readAuditPublicKey(*config); !key) {
            trust.tokenProblem = key.error().text();
        } else {
            trust.auditKey = *key;
        }
    } else {
        trust.tokenProblem = QStringLiteral("no station.ini in %1").arg(dir.path());
    }
    auto restored = core::restore(p.value(inFile), dir.path(), p.isSet(force), trust);
    if (!restored)
        return report(restored.error());
    out() << "Restored " << restored->files.size() << " files into " << dir.path() << " (records up to audit entry "
          << restored->auditSeq << "), signed by the audit key with SHA-256 " << restored->auditKeySha256 << "."
          << Qt::endl;
    if (!QFileInfo::exists(dir.pinFile()))
        out() << "Put the token's PIN file back at " << dir.pinFile()
              << " (mode 0600), or unlock at the prompt; then check with \"imprintctl audit verify" << dir.ctlArg()
              << "\"." << Qt::endl;
    else
        out() << "Check it with \"imprintctl audit verify" << dir.ctlArg() << "\"." << Qt::endl;
    return 0;
}

} // namespace imprint::app::cli
