#pragma once

// Backup and restore of a data directory: one archive (tar) holding a consistent snapshot
// of the store, the settings, profiles, CA chain and CRL, the RA certificate and the
// upstream's anchors, the SoftHSM2 token files (encrypted by the token under its PIN), and
// MANIFEST.json with every file's SHA-256. No PIN and no other secret goes in.

#include "DataDir.h"
#include "Error.h"

#include <QStringList>

namespace imprint::core {

struct BackupReport {
    QStringList files; ///< as named in the archive, the manifest last
    qint64 auditSeq = 0; ///< the audit log's head in the snapshot
    QString auditHash;
    int schema = 0;
};

/// Writes the backup of `dir` to `archive` (atomically). Safe while the station runs: the
/// store is copied with VACUUM INTO.
[[nodiscard]] Result<BackupReport> backup(const DataDir& dir, const QString& archive);

/// Restores `archive` into `target` (created; it must be empty unless `force`). Every file
/// is checked against the manifest before anything is put in place; a damaged archive
/// changes nothing. The PIN files are not in a backup: a folder restored over keeps its own
/// `secrets/`; a new one needs them put back by hand.
[[nodiscard]] Result<BackupReport> restore(const QString& archive, const QString& target, bool force);

} // namespace imprint::core
