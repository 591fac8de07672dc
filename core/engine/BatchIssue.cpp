#include "engine/BatchIssue.h"

#include "engine/ParallelFor.h"
#include "pki/CsrCheck.h"

#include <QHash>

#include <atomic>
#include <mutex>
#include <thread>

namespace imprint::core {

namespace {

struct Checked {
    QByteArray spki;
    QString spkiSha256;
    QString keyType;
};

} // namespace

BatchIssue::BatchIssue(const IssuingCa& ca, const CertificateTemplate& profile, RecordStore& store)
    : m_ca(ca)
    , m_profile(profile)
    , m_store(store)
{
}

Result<QList<BatchOutcome>> BatchIssue::run(const QList<BatchRequest>& requests, int threads, const QString& station,
    const QString& operatorName, const Progress& progress)
{
    threads = std::max(1, threads);
    const qsizetype n = requests.size();
    QList<BatchOutcome> outcomes(n);
    std::vector<Checked> checked(static_cast<size_t>(n));

    // 1. Each request on its own, in parallel: strict DER, signature, key type, serial.
    const CsrCheck check(m_profile.profile().csrPolicy);
    (void)parallelFor(n, threads, [&](qsizetype i) -> Result<void> {
        BatchOutcome& o = outcomes[i];
        o.source = requests[i].source;
        auto r = check.check(requests[i].der, QString(), {});
        if (!r) {
            o.code = r.error().reason.isEmpty() ? errorCodeName(r.error().code) : r.error().reason;
            o.reason = r.error().message;
            return {};
        }
        o.deviceSerial = r->subjectSerial;
        checked[static_cast<size_t>(i)] = Checked { std::move(r->publicKeyDer), r->publicKeySha256, r->keyType };
        return {};
    });
    if (progress)
        progress(QStringLiteral("checked"), n, n);

    // 2. Against each other and the records, in order: the first of two claims wins.
    QHash<QString, qsizetype> serials;
    QHash<QString, QString> keys;
    for (qsizetype i = 0; i < n; ++i) {
        BatchOutcome& o = outcomes[i];
        if (!o.issued())
            continue;
        const Checked& c = checked[static_cast<size_t>(i)];
        auto refuse = [&o](const char* code, QString reason) {
            o.code = QString::fromLatin1(code);
            o.reason = std::move(reason);
        };
        if (auto it = serials.constFind(o.deviceSerial); it != serials.cend()) {
            refuse("duplicate-serial",
                QStringLiteral("Another request in this batch (%1) is for the same serial.").arg(requests[*it].source));
            continue;
        }
        if (auto it = keys.constFind(c.spkiSha256); it != keys.cend()) {
            refuse("key-reused",
                QStringLiteral("Device %1 in this batch has the same key: its random generator may be broken.")
                    .arg(*it));
            continue;
        }
        auto certified = m_store.ledger().hasCertificate(o.deviceSerial);
        if (!certified)
            return std::unexpected(certified.error());
        if (*certified) {
            refuse("already-certified",
                QStringLiteral("Device %1 already holds a certificate from this station.").arg(o.deviceSerial));
            continue;
        }
        auto owner = m_store.ledger().keyOwner(c.spkiSha256);
        if (!owner)
            return std::unexpected(owner.error());
        if (owner->has_value() && **owner != o.deviceSerial) {
            refuse("key-reused",
                QStringLiteral("This key was already certified for device %1: the device's random generator may be "
                               "broken.")
                    .arg(**owner));
            continue;
        }
        serials.insert(o.deviceSerial, i);
        keys.insert(c.spkiSha256, o.deviceSerial);
    }

    // 3. Sign the accepted ones, in parallel (the signing service has a session per thread).
    std::atomic<qsizetype> signedCount { 0 };
    auto signing = parallelFor(n, threads, [&](qsizetype i) -> Result<void> {
        BatchOutcome& o = outcomes[i];
        if (!o.issued())
            return {};
        DeviceIdentity device;
        device.serial = o.deviceSerial;
        auto cert = m_ca.issue(m_profile, device, checked[static_cast<size_t>(i)].spki);
        if (!cert) {
            if (cert.error().code != ErrorCode::BadInput)
                return std::unexpected(cert.error());
            o.code = QStringLiteral("serial-invalid");
            o.reason = cert.error().message;
            return {};
        }
        o.certificate = std::move(*cert);
        if (progress) {
            const qsizetype done = ++signedCount;
            if (done % 1000 == 0)
                progress(QStringLiteral("signed"), done, n);
        }
        return {};
    });
    if (!signing)
        return std::unexpected(signing.error());

    // 4. Durable, all at once, before any certificate leaves the station.
    QList<BatchIssued> records;
    for (qsizetype i = 0; i < n; ++i) {
        const BatchOutcome& o = outcomes[i];
        if (!o.issued())
            continue;
        const Checked& c = checked[static_cast<size_t>(i)];
        records.append(BatchIssued { o.deviceSerial, o.source, o.certificate.der, o.certificate.serialHex,
            o.certificate.sha256, c.spkiSha256, c.keyType });
    }
    if (auto r = m_store.ledger().recordBatch(records, station, operatorName); !r)
        return std::unexpected(r.error());
    if (progress)
        progress(QStringLiteral("recorded"), records.size(), n);
    return outcomes;
}

} // namespace imprint::core
