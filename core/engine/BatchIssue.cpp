#include "engine/BatchIssue.h"

#include "engine/ParallelFor.h"
#include "pki/CsrCheck.h"

#include <QHash>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace imprint::core {

namespace {

struct Checked {
    QByteArray spki;
    QString spkiSha256;
};

/// The page cache of each of the batch's two connections: their indexes' upper levels fit,
/// and the batch's memory stays bounded.
constexpr int BatchCacheMiB = 16;

/// The write-ahead log the recorder's commits let grow before one copies it into the store
/// (64 MiB measured 8-15 % slower over 100,000 requests on a store of a million). Other
/// connections keep SQLite's 4 MiB: a station or the sync service committing beside a
/// batch may do part of this copying in one of its commits.
constexpr int BatchCheckpointMiB = 256;

/// Requests recorded per transaction, at most: a batch stopped loses at most this many
/// signatures (never a certificate that left: none leaves before its commit).
constexpr qsizetype CommitEvery = 16384;

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
    // What the chunk claims, once compared: its serials (-> request) and keys (-> serial).
    // Read by the comparison of later chunks while this one waits to be recorded.
    QHash<QString, qsizetype> serials;
    QHash<QString, QString> keys;
};

/// Chunks signed and not yet recorded, oldest first: later chunks are compared with them as
/// with the records.
struct BatchIssue::InFlight {
    std::mutex mutex;
    std::condition_variable changed;
    std::deque<std::shared_ptr<Chunk>> chunks; // waiting for the recorder, or being recorded
    std::optional<Error> failure; // the recorder's, which stops the batch
    bool done = false; // no more chunks will come
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
            o.reason = CsrCheck::aboutFile(r.error(), o.source).message;
            return {};
        }
        o.deviceSerial = r->subjectSerial;
        chunk.checked[static_cast<size_t>(i)] = Checked { std::move(r->publicKeyDer), r->publicKeySha256 };
        // The request stays with its chunk until recorded: the upstream is sent this very PKCS#10.
        return {};
    });
}

Result<void> BatchIssue::classify(Chunk& chunk, const std::vector<std::shared_ptr<Chunk>>& inFlight,
    CertificateLedger::Lookup& lookup, qint64 runFirstJob) const
{
    // Against the records, the chunks signed and not yet recorded, and the chunk itself, in
    // order: the first of two claims wins.
    QHash<QString, qsizetype>& serials = chunk.serials;
    QHash<QString, QString>& keys = chunk.keys;
    auto claimedEarlier = [&](const QString& serial, const QString& key) -> std::optional<QPair<const char*, QString>> {
        for (const auto& c : inFlight) {
            if (auto it = c->serials.constFind(serial); it != c->serials.cend())
                return QPair<const char*, QString> { "duplicate-serial",
                    QStringLiteral("Another request in this batch (%1) is for the same serial.")
                        .arg(c->requests[*it].source) };
            if (auto it = c->keys.constFind(key); it != c->keys.cend())
                return QPair<const char*, QString> { "key-reused",
                    QStringLiteral("Device %1 in this batch has the same key: its random generator may be broken.")
                        .arg(*it) };
        }
        return std::nullopt;
    };
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
        if (auto earlier = claimedEarlier(o.deviceSerial, c.spkiSha256)) {
            refuse(earlier->first, earlier->second);
            continue;
        }
        auto held = lookup.newest(o.deviceSerial);
        if (!held)
            return std::unexpected(held.error());
        if (*held) {
            const HeldCertificate& h = **held;
            if (h.certificate.jobId >= runFirstJob) { // recorded by this run: an earlier request of the batch
                refuse("duplicate-serial",
                    QStringLiteral("Another request in this batch (%1) is for the same serial.")
                        .arg(h.port.mid(filePort({}).size())));
                continue;
            }
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
            auto owner = lookup.keyOwner(c.spkiSha256);
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

QList<BatchIssued> BatchIssue::issuedOf(const Chunk& chunk)
{
    QList<BatchIssued> records;
    for (qsizetype i = 0; i < chunk.outcomes.size(); ++i) {
        const BatchOutcome& o = chunk.outcomes[i];
        if (!o.issued() || o.earlier)
            continue;
        const Checked& c = chunk.checked[static_cast<size_t>(i)];
        records.append(BatchIssued { o.deviceSerial, o.source, o.certificate.der, o.certificate.serialHex,
            o.certificate.sha256, c.spkiSha256, chunk.requests[i].der });
    }
    return records;
}

Result<BatchSummary> BatchIssue::run(RequestSource& requests, const Sink& sink, int threads, const QString& station,
    const QString& operatorName, const Progress& progress)
{
    threads = std::max(1, threads);
    const qsizetype total = requests.total();
    BatchSummary summary;
    InFlight inFlight;
    const QString path = m_store.path();
    m_store.setCacheSize(BatchCacheMiB);
    // What this run records has job ids from here on: a request that meets one of them is
    // a second request of the batch, not one an earlier run recorded.
    auto newest = m_store.jobs().newestId();
    if (!newest)
        return std::unexpected(newest.error());
    const qint64 runFirstJob = *newest + 1;

    auto fail = [&](const Error& e) {
        std::lock_guard lock(inFlight.mutex);
        if (!inFlight.failure)
            inFlight.failure = e;
        inFlight.chunks.clear();
        inFlight.changed.notify_all();
    };
    // The recorder: signed chunks are made durable on a connection of its own, several at a
    // time in one synced transaction (a store of a million devices has random-keyed indexes
    // — certificate serials, key hashes — whose pages each commit writes again: fewer, larger
    // commits write far less), and only then handed to the sink. It works while the next
    // chunks are read, checked, compared and signed, so no core waits for the disk.
    const qsizetype chunksPerCommit = std::clamp<qsizetype>(CommitEvery / m_chunk, 1, 64);
    const qsizetype maxInFlight = chunksPerCommit + 2;
    auto recordChunks = [&] {
        auto store = RecordStore::open(path);
        if (!store)
            return fail(store.error());
        store->setCacheSize(BatchCacheMiB);
        store->setCheckpointEvery(BatchCheckpointMiB);
        // However the recording ends (after its transaction is rolled back, on an error),
        // what the log holds is copied in: the next writer starts the log over instead of
        // copying it (the file keeps its size until the store's last connection closes).
        struct Checkpointed {
            RecordStore& store;
            ~Checkpointed() { store.checkpoint(); }
        } checkpointed { *store };
        std::optional<CertificateLedger::BatchRecorder> open;
        qsizetype added = 0; // chunks at the front of the queue that are in the open transaction
        while (true) {
            std::shared_ptr<Chunk> chunk;
            bool last = false; // no chunk after this one will come
            {
                std::unique_lock lock(inFlight.mutex);
                inFlight.changed.wait(lock,
                    [&] { return inFlight.failure || qsizetype(inFlight.chunks.size()) > added || inFlight.done; });
                if (inFlight.failure)
                    return;
                if (qsizetype(inFlight.chunks.size()) > added)
                    chunk = inFlight.chunks[static_cast<size_t>(added)];
                last = inFlight.done && qsizetype(inFlight.chunks.size()) <= added + 1;
            }
            if (chunk) {
                if (!open)
                    open.emplace(store->ledger(), station, operatorName);
                if (auto r = open->add(issuedOf(*chunk)); !r)
                    return fail(r.error());
                ++added;
            }
            if (open && (added >= chunksPerCommit || last || !chunk)) {
                if (auto r = open->commit(); !r)
                    return fail(r.error());
                open.reset();
                std::vector<std::shared_ptr<Chunk>> committed;
                {
                    std::lock_guard lock(inFlight.mutex);
                    committed.assign(inFlight.chunks.begin(), inFlight.chunks.begin() + added);
                }
                for (const auto& c : committed) {
                    for (const BatchOutcome& o : std::as_const(c->outcomes)) {
                        if (auto r = sink(o); !r)
                            return fail(r.error());
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
                }
                std::lock_guard lock(inFlight.mutex);
                // Recorded: the records answer for them now.
                inFlight.chunks.erase(inFlight.chunks.begin(), inFlight.chunks.begin() + added);
                added = 0;
                inFlight.changed.notify_all();
            }
            if (!chunk) {
                std::lock_guard lock(inFlight.mutex);
                if (inFlight.done && inFlight.chunks.empty())
                    return;
            }
        }
    };
    std::thread recorder([&] {
        try {
            recordChunks();
        } catch (const std::exception& e) {
            fail(Error { ErrorCode::Store, QStringLiteral("Recording the batch failed."),
                QString::fromLocal8Bit(e.what()), {} });
        }
    });
    // However this function ends, the recorder is told there is no more and joined first.
    struct Joined {
        InFlight& inFlight;
        std::thread& recorder;
        ~Joined()
        {
            {
                std::lock_guard lock(inFlight.mutex);
                inFlight.done = true;
                inFlight.changed.notify_all();
            }
            recorder.join();
        }
    };
    std::optional<Joined> joined(std::in_place, inFlight, recorder);

    // The next chunk is read and checked in the background while this one is compared and
    // signed. A reading is always awaited before its chunk or the source can go away.
    struct Reading {
        std::shared_ptr<Chunk> chunk = std::make_shared<Chunk>();
        std::future<Result<void>> done;
        ~Reading()
        {
            if (done.valid())
                done.wait();
        }
        Reading() = default;
        Reading(Reading&&) = default;
        Reading& operator=(Reading&&) = default;
    };
    auto startReading = [&] {
        Reading r;
        r.done = std::async(std::launch::async, [&, c = r.chunk.get()] { return readAndCheck(requests, *c, threads); });
        return r;
    };
    CertificateLedger::Lookup lookup(m_store.ledger());
    Result<void> outcome;
    Reading current = startReading();
    while (outcome) {
        if (auto read = current.done.get(); !read) {
            outcome = std::unexpected(read.error());
            break;
        }
        if (current.chunk->requests.isEmpty())
            break;
        Reading next = startReading();
        std::vector<std::shared_ptr<Chunk>> pending;
        {
            // At most a transaction's worth of chunks, and two more, wait for the recorder:
            // memory stays bounded.
            std::unique_lock lock(inFlight.mutex);
            inFlight.changed.wait(
                lock, [&] { return qsizetype(inFlight.chunks.size()) < maxInFlight || inFlight.failure; });
            if (inFlight.failure)
                break;
            pending.assign(inFlight.chunks.begin(), inFlight.chunks.end());
        }
        Chunk& chunk = *current.chunk;
        if (auto r =
                [&] {
                    auto snapshot = lookup.snapshot(); // the chunk's lookups in one read of the store
                    return classify(chunk, pending, lookup, runFirstJob);
                }();
            !r)
            outcome = std::unexpected(r.error());
        else if (auto s = sign(chunk, threads); !s)
            outcome = std::unexpected(s.error());
        else {
            std::lock_guard lock(inFlight.mutex);
            inFlight.chunks.push_back(current.chunk);
            inFlight.changed.notify_all();
        }
        current = std::move(next);
    }
    joined.reset(); // every recorded chunk handed on
    if (!outcome)
        return std::unexpected(outcome.error());
    if (inFlight.failure)
        return std::unexpected(*inFlight.failure);
    return summary;
}

} // namespace imprint::core
