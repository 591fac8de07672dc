#include "engine/BatchIssue.h"

#include "engine/ParallelFor.h"
#include "pki/CsrCheck.h"

#include <QHash>

#include <atomic>
#include <future>
#include <vector>

namespace imprint::core {

namespace {

struct Checked {
    QByteArray spki;
    QString spkiSha256;
    QString keyType;
};

/// The job port a request file's job is recorded under.
QString filePort(const QString& source)
{
    return QStringLiteral("file:") + source;
}

} // namespace

struct BatchIssue::Chunk {
    QList<BatchRequest> requests;
    QList<BatchOutcome> outcomes;
    std::vector<Checked> checked; // move-only keys, indexed as the requests
};

BatchIssue::BatchIssue(const IssuingCa& ca, const CertificateTemplate& profile, RecordStore& store)
    : m_ca(ca)
    , m_profile(profile)
    , m_store(store)
{
}

Result<void> BatchIssue::readAndCheck(RequestSource& requests, Chunk& chunk, int threads) const
{
    while (chunk.requests.size() < m_chunk) {
        auto r = requests.next();
        if (!r)
            return std::unexpected(r.error());
        if (!*r)
            break;
        chunk.requests.append(std::move(**r));
    }
    const qsizetype n = chunk.requests.size();
    chunk.outcomes.resize(n);
    chunk.checked.resize(static_cast<size_t>(n));
    // Each request on its own, in parallel: strict DER, signature, key type, serial.
    const CsrCheck check(m_profile.profile().csrPolicy);
    return parallelFor(n, threads, [&](qsizetype i) -> Result<void> {
        BatchOutcome& o = chunk.outcomes[i];
        o.source = chunk.requests[i].source;
        auto r = check.check(chunk.requests[i].der, QString(), {});
        if (!r) {
            o.code = r.error().reason.isEmpty() ? errorCodeName(r.error().code) : r.error().reason;
            o.reason = r.error().message;
            return {};
        }
        o.deviceSerial = r->subjectSerial;
        chunk.checked[static_cast<size_t>(i)] = Checked { std::move(r->publicKeyDer), r->publicKeySha256, r->keyType };
        return {};
    });
}

Result<void> BatchIssue::classify(Chunk& chunk) const
{
    // Against the records (every chunk before is recorded) and the chunk itself, in order:
    // the first of two claims wins.
    QHash<QString, qsizetype> serials;
    QHash<QString, QString> keys;
    for (qsizetype i = 0; i < chunk.outcomes.size(); ++i) {
        BatchOutcome& o = chunk.outcomes[i];
        if (!o.issued())
            continue;
        const Checked& c = chunk.checked[static_cast<size_t>(i)];
        auto refuse = [&o](const char* code, QString reason) {
            o.code = QString::fromLatin1(code);
            o.reason = std::move(reason);
        };
        if (auto it = serials.constFind(o.deviceSerial); it != serials.cend()) {
            refuse("duplicate-serial",
                QStringLiteral("Another request in this batch (%1) is for the same serial.")
                    .arg(chunk.requests[*it].source));
            continue;
        }
        if (auto it = keys.constFind(c.spkiSha256); it != keys.cend()) {
            refuse("key-reused",
                QStringLiteral("Device %1 in this batch has the same key: its random generator may be broken.")
                    .arg(*it));
            continue;
        }
        auto held = m_store.ledger().newest(o.deviceSerial);
        if (!held)
            return std::unexpected(held.error());
        if (*held) {
            const HeldCertificate& h = **held;
            // This very request, recorded by an earlier run of the batch: given again.
            if (h.publicKeySha256 == c.spkiSha256 && h.port == filePort(o.source)
                && h.certificate.state == CertificateState::Issued) {
                o.earlier = true;
                o.certificate = IssuedCertificate { h.certificate.der, h.certificate.serialHex, h.certificate.sha256 };
            } else {
                refuse("already-certified",
                    QStringLiteral("Device %1 already holds a certificate from this station (%2, %3).")
                        .arg(o.deviceSerial, h.port, text(h.certificate.state)));
                continue;
            }
        } else {
            auto owner = m_store.ledger().keyOwner(c.spkiSha256);
            if (!owner)
                return std::unexpected(owner.error());
            if (owner->has_value() && **owner != o.deviceSerial) {
                refuse("key-reused",
                    QStringLiteral("This key was already certified for device %1: the device's random generator may "
                                   "be broken.")
                        .arg(**owner));
                continue;
            }
        }
        serials.insert(o.deviceSerial, i);
        keys.insert(c.spkiSha256, o.deviceSerial);
    }
    return {};
}

Result<void> BatchIssue::sign(Chunk& chunk, int threads) const
{
    // The signing service has a session per thread.
    return parallelFor(chunk.outcomes.size(), threads, [&](qsizetype i) -> Result<void> {
        BatchOutcome& o = chunk.outcomes[i];
        if (!o.issued() || o.earlier)
            return {};
        DeviceIdentity device;
        device.serial = o.deviceSerial;
        auto cert = m_ca.issue(m_profile, device, chunk.checked[static_cast<size_t>(i)].spki);
        if (!cert) {
            if (cert.error().code != ErrorCode::BadInput)
                return std::unexpected(cert.error());
            o.code = QStringLiteral("serial-invalid");
            o.reason = cert.error().message;
            return {};
        }
        o.certificate = std::move(*cert);
        return {};
    });
}

Result<void> BatchIssue::record(Chunk& chunk, const QString& station, const QString& operatorName)
{
    QList<BatchIssued> records;
    for (qsizetype i = 0; i < chunk.outcomes.size(); ++i) {
        const BatchOutcome& o = chunk.outcomes[i];
        if (!o.issued() || o.earlier)
            continue;
        const Checked& c = chunk.checked[static_cast<size_t>(i)];
        records.append(BatchIssued { o.deviceSerial, o.source, o.certificate.der, o.certificate.serialHex,
            o.certificate.sha256, c.spkiSha256, c.keyType });
    }
    if (records.isEmpty())
        return {};
    return m_store.ledger().recordBatch(records, station, operatorName);
}

Result<BatchSummary> BatchIssue::run(RequestSource& requests, const Sink& sink, int threads, const QString& station,
    const QString& operatorName, const Progress& progress)
{
    threads = std::max(1, threads);
    const qsizetype total = requests.total();
    BatchSummary summary;
    // Durable, then handed on: no certificate leaves before its chunk is recorded.
    auto finish = [&](Chunk& c) -> Result<void> {
        if (auto r = record(c, station, operatorName); !r)
            return r;
        for (const BatchOutcome& o : std::as_const(c.outcomes)) {
            if (auto r = sink(o); !r)
                return r;
            ++summary.requests;
            if (!o.issued())
                ++summary.refused;
            else if (o.earlier)
                ++summary.earlier;
            else
                ++summary.issued;
        }
        if (progress)
            progress(summary.requests, total);
        return {};
    };
    std::unique_ptr<Chunk> previous;
    while (true) {
        auto current = std::make_unique<Chunk>();
        // Reading and checking this chunk overlaps with recording the one before.
        auto reading
            = std::async(std::launch::async, [&, c = current.get()] { return readAndCheck(requests, *c, threads); });
        Result<void> handed = previous ? finish(*previous) : Result<void> {};
        Result<void> read = reading.get();
        if (!handed)
            return std::unexpected(handed.error());
        if (!read)
            return std::unexpected(read.error());
        previous.reset();
        if (current->requests.isEmpty())
            break;
        if (auto r = classify(*current); !r)
            return std::unexpected(r.error());
        if (auto r = sign(*current, threads); !r)
            return std::unexpected(r.error());
        previous = std::move(current);
    }
    return summary;
}

} // namespace imprint::core
