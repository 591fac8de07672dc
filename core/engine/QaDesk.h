#pragma once

// What QA's screen needs of the station, wherever it runs: the back office in this process,
// or the station service (the window as its client).

#include "Error.h"
#include "domain/Records.h"

#include <QList>
#include <QObject>

#include <functional>

namespace imprint::core {

struct DeviceStory;

/// QA's acts and reads. Each answers on the caller's thread, while `context` lives.
class QaDesk {
public:
    virtual ~QaDesk() = default;
    /// A device's whole story: its record, certificates (chain checked), timeline, audit.
    virtual void story(QObject* context, QString serial, std::function<void(Result<DeviceStory>)> done) = 0;
    /// A page of the device list (DeviceQuery's filters, limit and keyset).
    virtual void devices(QObject* context, DeviceQuery query, std::function<void(Result<QList<DeviceRecord>>)> done)
        = 0;
    /// Checks the audit log.
    virtual void checkAudit(QObject* context, std::function<void(Result<AuditVerdict>)> done) = 0;
    /// Scraps the device (its certificates revoked, each revocation queued upstream) and signs
    /// the CRL that lists them; says what was done.
    virtual void scrap(
        QObject* context, QString serial, QString reason, QString person, std::function<void(Result<QString>)> done)
        = 0;
};

} // namespace imprint::core
