#pragma once

// Plants with no link to the upstream: the outbox carried by hand (RFC 9483 6, file-based
// transfer). An export writes the very CMP messages the sync would send and the same requests
// as plain PKCS#10, in parts of up to part-rows rows: each part one tar archive (its rows'
// messages and requests, their local certificates, the CRL and the audit log's head), and a
// manifest naming every row and file with its SHA-256 and the archive's, signed (detached
// CMS) by the RA key in the token: each part checks alone with openssl cms -verify. A batch
// of any size is written as it is read, a part at a time. batch.json (signed too) is written
// last and lists the parts; only then are the rows marked exported. An import takes the
// upstream's answers back, part by part: its certificates, each recorded as an online answer
// would be, and its CRLs, which end the revocations they list.

#include "Error.h"
#include "pki/Signer.h"
#include "store/RecordStore.h"
#include "upstream/CmpClient.h"

#include <QStringList>

#include <functional>
#include <memory>

namespace imprint::core {

struct ExportInputs {
    QString station;
    std::shared_ptr<Signer> raKey;
    QList<QByteArray> raChain; ///< RA certificate first
    QList<QByteArray> caChain; ///< the local issuing CA's chain
    QByteArray crlPem; ///< the local CA's current CRL
    QString person; ///< who exports, for the audit log (empty: the user running the program)
    /// Told the rows written so far and the rows in the batch, after each row (optional).
    std::function<void(qint64 written, qint64 rows)> progress;
    int partRows = 20000; ///< rows per part
    int threads = 0; ///< threads that make the CMP messages (0: one per core)
};

struct ExportReport {
    QString batch;
    int certificates = 0;
    int revocations = 0;
    int held = 0; ///< revocations whose certificate the upstream has not certified yet (a later batch)
    QStringList files; ///< relative to the folder: each part's archive, manifest and signature; batch.json last
    int parts = 0;
};

/// Writes one batch of every row not yet synced or exported into `dir` (created; empty, or
/// holding an export that was stopped before its batch.json, which is cleared), or, with
/// `again`, the rows of that earlier batch once more. Marks the rows with the batch and audits
/// it once the batch is whole.
[[nodiscard]] Result<ExportReport> exportBatch(
    RecordStore& store, CmpClient& client, const ExportInputs& in, const QString& dir, const QString& again = {});

struct ImportReport {
    int recorded = 0;
    int already = 0; ///< recorded before (importing twice is harmless)
    int revoked = 0; ///< revocations ended by a CRL of the upstream
    QStringList refused; ///< one plain line per certificate or CRL that was not taken, and why
};

/// Records the upstream's answers found in `files`: certificates (PKCS#7 or PEM), each matched
/// to its device by public key and verifying to `anchors` (through the CA certificates in the
/// files); and CRLs (*.crl, PEM or DER), each signed by an issuer that verifies to the
/// anchors, which end the open revocations of certificates it lists. A certificate for no key
/// of this station, from an issuer the anchors do not vouch for, or a CRL that does not verify,
/// is refused and listed. Each file is recorded in a transaction of its own. Audited.
[[nodiscard]] Result<ImportReport> importAnswers(RecordStore& store, const QList<QByteArray>& anchors,
    const QStringList& files, const QString& station, const QString& person = {});

} // namespace imprint::core
