#pragma once

#include "Error.h"
#include "pki/OpenSsl.h"
#include "pki/Signer.h"
#include "store/RecordStore.h"

#include <QDateTime>

#include <memory>

namespace imprint::core {

/// A CRL the CA signed: its number, how many certificates it lists, its next update.
struct PublishedCrl {
    qint64 number = 0;
    int entries = 0;
    QDateTime nextUpdate;
    QByteArray pem;
};

/// Signs the issuing CA's CRL with `caKey` (in the HSM): every superseded or revoked
/// certificate in `store`, with its reason and date, under the next CRL number (recorded
/// with the CRL and audited); writes it to `crlFile` (PEM, atomically).
[[nodiscard]] Result<PublishedCrl> publishCrl(RecordStore& store, std::shared_ptr<Signer> caKey, const X509* caCert,
    const QString& crlFile, int nextUpdateDays = 7);

} // namespace imprint::core
