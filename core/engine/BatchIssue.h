#pragma once

#include "engine/RequestSource.h"
#include "pki/CertificateTemplate.h"
#include "pki/IssuingCa.h"
#include "store/RecordStore.h"

#include <QList>
#include <QString>

#include <functional>
#include <memory>
#include <vector>

namespace imprint::core {

/// What became of one request: issued now, recorded by an earlier run of the same batch
/// (`earlier`; its certificate is the one on record), or refused with a stable code.
struct BatchOutcome {
    QString source;
    QString deviceSerial; ///< the request's serialNumber, when it could be read
    QString code; ///< empty when issued; else a CsrCheck reason, duplicate-serial, already-certified, ...
    QString reason; ///< plain words
    IssuedCertificate certificate;
    bool earlier = false;

    bool issued() const { return code.isEmpty(); }
};

/// A batch's counts.
struct BatchSummary {
    qsizetype requests = 0;
    qsizetype issued = 0; ///< signed by this run
    qsizetype earlier = 0; ///< recorded by an earlier run of the batch, given again
    qsizetype refused = 0;
};

/// Issues certificates for a contract manufacturer's requests with no device present,
/// streaming: requests are read, checked, signed and recorded a chunk at a time, so memory
/// is bounded by the chunk, never by the batch, and a batch stopped anywhere (kill -9, a
/// power cut) and run again with the same input continues where it was: what a finished
/// chunk recorded is given again, never signed twice.
///
/// Three stages run at once, each on chunks in order: reading and checking (on `threads`
/// workers); comparing with the records, the chunks not yet recorded and the chunk itself
/// (a serial or a key twice is refused), then signing (on the workers); and recording, on
/// a connection and thread of its own, a few chunks to a synced transaction — a chunk is
/// handed to the sink (the bundle, the report) only once it is recorded, so no
/// certificate leaves unrecorded. The sink and the progress are called on the recorder's
/// thread.
class BatchIssue {
public:
    /// Takes each outcome, in the order of the requests; an error stops the batch.
    using Sink = std::function<Result<void>(const BatchOutcome& outcome)>;
    /// After each chunk: requests done, and in all (-1 when the source cannot tell).
    using Progress = std::function<void(qsizetype done, qsizetype total)>;

    BatchIssue(const IssuingCa& ca, const CertificateTemplate& profile, RecordStore& store);

    /// Fails as a whole only when reading, signing, the store or the sink fails; what the
    /// chunks before recorded stays recorded (run the batch again to continue).
    [[nodiscard]] Result<BatchSummary> run(RequestSource& requests, const Sink& sink, int threads,
        const QString& station, const QString& operatorName, const Progress& progress = {});

    /// Requests per chunk (the memory bound: a chunk's requests and certificates).
    void setChunkSize(int n) { m_chunk = std::max(1, n); }

private:
    struct Chunk;
    struct InFlight;
    Result<void> readAndCheck(RequestSource& requests, Chunk& chunk, int threads) const;
    Result<void> classify(Chunk& chunk, const std::vector<std::shared_ptr<Chunk>>& inFlight,
        CertificateLedger::Lookup& lookup, qint64 runFirstJob) const;
    Result<void> sign(Chunk& chunk, int threads) const;
    /// The chunk's certificates that this run signed, as the ledger records them.
    static QList<BatchIssued> issuedOf(const Chunk& chunk);

    const IssuingCa& m_ca;
    const CertificateTemplate& m_profile;
    RecordStore& m_store;
    int m_chunk = 2048;
};

} // namespace imprint::core
