#pragma once

// Lots (work orders): owns the table `lots`. A lot's devices are counted from `devices`.

#include "Error.h"
#include "domain/Records.h"
#include "store/Sql.h"

#include <QList>
#include <QPair>

#include <optional>

namespace imprint::core {

class Lots {
public:
    explicit Lots(Connection connection)
        : m_connection(std::move(connection))
    {
    }

    /// Creates a lot, audited; refused (BadInput) when the name is taken.
    [[nodiscard]] Result<void> create(const Lot& lot);
    [[nodiscard]] Result<std::optional<Lot>> find(const QString& id) const;
    /// Newest first.
    [[nodiscard]] Result<QList<Lot>> list(int limit = 100) const;
    /// A lot's devices by status.
    [[nodiscard]] Result<QList<QPair<DeviceStatus, int>>> counts(const QString& id) const;

private:
    Connection m_connection;
};

} // namespace imprint::core
