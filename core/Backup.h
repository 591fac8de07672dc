#pragma once

// Backup and restore of a data directory: one archive (tar) holding a consistent snapshot
// of the store, the settings, profiles, CA chain and CRL, the RA certificate and the
// upstream's anchors, the SoftHSM2 token files (encrypted by the token under its PIN), and
// MANIFEST.json with every file's SHA-256, signed by the station's audit key
// (MANIFEST.sig). No PIN and no other secret goes in, and a restore takes nothing else.

#include "DataDir.h"
#include "Error.h"
#include "pki/Signer.h"

#include <QByteArray>
#include <QStringList>

namespace imprint::core {

struct BackupReport {
    QStringList files; ///< as named in the archive, the manifest and its signature last
    qint64 auditSeq = 0; ///< the audit log's head in the snapshot
    QString auditHash;
    int schema = 0;
    QString auditKeySha256; ///< SHA-256 (hex) of the audit key that signed the manifest
};

/// Whose signature a restore accepts on a backup's manifest. A backup is restored only when
/// its manifest carries a valid signature of an audit key the person restoring trusts.
struct BackupTrust {
    /// The audit key (DER SubjectPublicKeyInfo) read from the token of the station restored
    /// over; empty when there is no token to ask.
    QByteArray auditKey;
    /// The SHA-256 (hex) of the audit key of the station that made the backup, as the person
    /// restoring gives it (imprintctl restore --audit-key-sha256). Used when there is no token
    /// to ask; with one, it must name the token's key.
    QString auditKeySha256;
    /// Why no key was read from a token, for the refusal when neither is known.
    QString tokenProblem;
};

/// What the audit key signs for a backup: `manifest` behind a label of its own, so that no
/// signature of a backup is ever one of an audit checkpoint, or the other way round.
[[nodiscard]] QByteArray backupManifestMessage(const QByteArray& manifest);

/// Writes the backup of `dir` to `archive` (atomically; the file is created 0600, and
/// never through a link), its manifest signed by `auditKey`. Safe while the station runs:
/// the store is copied with VACUUM INTO, every other file is copied before it is hashed.
[[nodiscard]] Result<BackupReport> backup(const DataDir& dir, const QString& archive, Signer& auditKey);

/// Restores `archive` into `target` (created; it must be empty unless `force`). The archive
/// is read whole first, writing nothing: it must hold only what a backup carries (regular
/// files, by names a backup uses; never secrets/, a link, a device, an absolute path or a
/// "..") and its manifest must carry a valid signature of the key `trust` names, and name
/// every file with its SHA-256. Only then is it unpacked beside the target, checked again,
/// and put in place. The PIN files are not in a backup: a folder restored over keeps its
/// own `secrets/` (when they cannot be kept, nothing changes); a new one needs them put
/// back by hand.
[[nodiscard]] Result<BackupReport> restore(
    const QString& archive, const QString& target, bool force, const BackupTrust& trust);

} // namespace imprint::core
