// imprintctl backup, restore: a data directory in one archive, and back.

#include "Backup.h"
#include "cli/Command.h"

#include <QFileInfo>

namespace imprint::app::cli {

int backup(const QStringList& args)
{
    CommandLine p(QStringLiteral("Write a backup of the data directory to one archive (tar, or .tar.gz): a "
                                 "consistent snapshot of the records (taken while the station runs), the settings, "
                                 "profiles, CA chain and CRL, the RA certificate, the upstream's anchors and the "
                                 "SoftHSM2 token files, with a manifest of SHA-256 sums. No PIN goes in."));
    QCommandLineOption outFile(QStringLiteral("out"), QStringLiteral("The archive to write."), QStringLiteral("FILE"));
    p.addOption(outFile);
    p.parse(args);
    if (!p.isSet(outFile))
        return usageError(args, QStringLiteral("give --out FILE"));
    auto written = core::backup(p.dataDir(), p.value(outFile));
    if (!written)
        return report(written.error());
    out() << "Backed up " << written->files.size() << " files to " << p.value(outFile) << " (records at audit entry "
          << written->auditSeq << ", schema " << written->schema << ")." << Qt::endl
          << "The PIN files (secrets/) are not in it: keep them, or the token's PIN, apart." << Qt::endl;
    return 0;
}

int restore(const QStringList& args)
{
    CommandLine p(QStringLiteral("Restore a backup into a data directory (new or empty; --force replaces one, "
                                 "keeping its secrets/). Every file is checked against the backup's manifest before "
                                 "anything is put in place."));
    QCommandLineOption inFile(QStringLiteral("in"), QStringLiteral("The backup archive."), QStringLiteral("FILE"));
    QCommandLineOption force(QStringLiteral("force"), QStringLiteral("Replace what the data directory holds."));
    p.addOptions({ inFile, force });
    p.parse(args);
    if (!p.isSet(inFile))
        return usageError(args, QStringLiteral("give --in FILE [--data-dir DIR] [--force]"));
    const core::DataDir dir = p.dataDir();
    auto restored = core::restore(p.value(inFile), dir.path(), p.isSet(force));
    if (!restored)
        return report(restored.error());
    out() << "Restored " << restored->files.size() << " files into " << dir.path() << " (records up to audit entry "
          << restored->auditSeq << ")." << Qt::endl;
    if (!QFileInfo::exists(dir.pinFile()))
        out() << "Put the token's PIN file back at " << dir.pinFile()
              << " (mode 0600), or unlock at the prompt; then check with \"imprintctl audit verify\"." << Qt::endl;
    else
        out() << "Check it with \"imprintctl audit verify\"." << Qt::endl;
    return 0;
}

} // namespace imprint::app::cli
