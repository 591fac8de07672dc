#include "engine/CrlPublisher.h"

#include "pki/Crl.h"

#include <QDir>
#include <QFileInfo>
#include <QSaveFile>

namespace imprint::core {

Result<PublishedCrl> publishCrl(
    RecordStore& store, std::shared_ptr<Signer> caKey, const X509* caCert, const QString& crlFile, int nextUpdateDays)
{
    auto revoked = store.ledger().revoked();
    if (!revoked)
        return std::unexpected(revoked.error());
    QList<RevokedCertificate> entries;
    for (const auto& [entry, state] : *revoked)
        entries << entry;
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
