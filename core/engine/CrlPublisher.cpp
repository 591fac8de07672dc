#include "engine/CrlPublisher.h"

#include "pki/Crl.h"

#include <QDir>
#include <QFileInfo>
#include <QSaveFile>
#include <QSet>

namespace imprint::core {

Result<PublishedCrl> publishCrl(
    RecordStore& store, std::shared_ptr<Signer> caKey, const X509* caCert, const QString& crlFile, int nextUpdateDays)
{
    // What the store says is revoked, what the audit log recorded as revoked, and what the
    // last CRL listed: an edit of the certificates table can add to a CRL, never take away.
    auto revoked = store.ledger().revoked();
    if (!revoked)
        return std::unexpected(revoked.error());
    auto audited = store.audit().auditedRevocations();
    if (!audited)
        return std::unexpected(audited.error());
    auto previous = store.ledger().newestCrl();
    if (!previous)
        return std::unexpected(previous.error());
    QList<RevokedCertificate> entries;
    QSet<QString> listed;
    auto list = [&](const RevokedCertificate& e) {
        if (!listed.contains(e.serialHex)) {
            listed.insert(e.serialHex);
            entries << e;
        }
    };
    for (const auto& [entry, state] : *revoked)
        list(entry);
    for (const RevokedCertificate& e : *audited)
        list(e);
    if (*previous) {
        auto before = crlEntries(**previous);
        if (!before)
            return std::unexpected(before.error());
        for (const RevokedCertificate& e : *before)
            list(e);
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QDateTime next = now.addDays(nextUpdateDays);
    QByteArray der;
    auto number = store.ledger().recordCrl(
        [&](qint64 n) -> Result<QByteArray> {
            auto made = makeCrl(caKey, caCert, n, entries, now, next);
            if (made)
                der = *made;
            return made;
        },
        now, next);
    if (!number)
        return std::unexpected(number.error());
    const QByteArray pem = ossl::derToPem(der, "X509 CRL");
    QDir().mkpath(QFileInfo(crlFile).absolutePath());
    QSaveFile f(crlFile);
    if (!f.open(QIODevice::WriteOnly) || f.write(pem) != pem.size() || !f.commit())
        return fail(ErrorCode::Io, QStringLiteral("Could not write the CRL to %1.").arg(crlFile), f.errorString());
    return PublishedCrl { *number, static_cast<int>(entries.size()), next, pem };
}

} // namespace imprint::core
