#pragma once

// The outbox: owns the table `outbox`, every record that must reach the upstream CA
// (certificates that left the station, revocations), oldest first. Rows are added inside
// the transaction that records what they carry (Appender), so nothing reaches the records
// without its way upstream.

#include "Error.h"
#include "domain/Records.h"
#include "store/Sql.h"

#include <QList>

namespace imprint::core {

class Outbox : public StorePart {
public:
    using StorePart::StorePart;

    /// Adds rows inside a transaction of the caller's.
    class Appender {
    public:
        explicit Appender(Transaction& tx);
        [[nodiscard]] bool add(OutboxKind kind, const QString& subject, const QString& detail, const QString& at);
        [[nodiscard]] QSqlError error() const { return m_insert.error(); }

    private:
        Statement m_insert;
    };

    /// Records not yet sent upstream, oldest first.
    [[nodiscard]] Result<QList<OutboxEntry>> pending(int limit = 100) const;
    [[nodiscard]] Result<qint64> pendingCount() const;
};

} // namespace imprint::core
