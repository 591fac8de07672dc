#pragma once

// Plants with no link to the upstream: the outbox carried by hand (RFC 9483 6, file-based
// transfer). An export writes the very CMP messages the sync would send, the same requests
// as plain PKCS#10, the local certificates, the CRL and the audit log's head, and a manifest
// with a SHA-256 of every file, signed (detached CMS) by the RA key in the token. An import
// takes the upstream's certificates back and records each as an online answer would be.

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
    std::function<void(int written, int rows)> progress;
};

struct ExportReport {
    QString batch;
    int certificates = 0;
    int revocations = 0;
    int held = 0; ///< revocations whose certificate the upstream has not certified yet (a later batch)
    QStringList files; ///< relative to the folder, manifest last
};

/// Writes one batch of every row not yet synced or exported into `dir` (created; must be
/// empty), or, with `again`, the rows of that earlier batch once more. Marks the rows with
/// the batch and audits it.
[[nodiscard]] Result<ExportReport> exportBatch(
    RecordStore& store, CmpClient& client, const ExportInputs& in, const QString& dir, const QString& again = {});

struct ImportReport {
    int recorded = 0;
    int already = 0; ///< recorded before (importing twice is harmless)
    QStringList refused; ///< one plain line per certificate that was not taken, and why
};

/// Records the upstream's certificates found in `files` (PKCS#7 or PEM): each is matched to
/// its device by public key and must verify to `anchors` (through the CA certificates in the
/// files); a certificate for no key of this station, or from an issuer the anchors do not
/// vouch for, is refused and listed. Audited.
[[nodiscard]] Result<ImportReport> importAnswers(RecordStore& store, const QList<QByteArray>& anchors,
    const QStringList& files, const QString& station, const QString& person = {});

} // namespace imprint::core
