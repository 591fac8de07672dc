#include "engine/CrlPublisher.h"

#include "pki/Crl.h"

#include <QDir>
#include <QFileInfo>
#include <QLoggingCategory>
#include <QSaveFile>
#include <QSet>

Q_LOGGING_CATEGORY(IMPRINT_CRL, "imprint.crl", QtInfoMsg)

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
    // The log's own first: its date and reason (superseded or cessationOfOperation) are
    // those its hash chain vouches for, not columns anyone with the file could set.
    for (const RevokedCertificate& e : *audited)
        list(e);
    for (const auto& [entry, state] : *revoked)
        list(entry);
    if (*previous) {
        // Only a CRL this CA signed and the log recorded (crl-issued names its SHA-256);
        // another in its place is left out, and audit verify names it.
        const auto& [number, der] = **previous;
        auto recorded = store.audit().last(AuditKind::CrlIssued, QStringLiteral("crl-%1").arg(number));
        if (!recorded)
            return std::unexpected(recorded.error());
        auto before = crlEntries(der, caCert);
        if (*recorded && (*recorded)->detail.contains(QStringLiteral("sha256 ") + ossl::sha256Hex(der)) && before) {
            for (const RevokedCertificate& e : *before)
                list(e);
        } else {
            qCWarning(IMPRINT_CRL).noquote() << "CRL" << number
                                             << "on record is not the one the audit log recorded; the new CRL is "
                                                "made from the log and the store (run imprintctl audit verify)";
        }
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
