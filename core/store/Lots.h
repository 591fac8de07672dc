#pragma once

// Lots (work orders): owns the table `lots`. A lot's devices are counted by DeviceRecords.

#include "Error.h"
#include "domain/Records.h"
#include "store/Sql.h"

#include <QList>

#include <optional>

namespace imprint::core {

class Lots : public StorePart {
public:
    using StorePart::StorePart;

    /// Creates a lot, audited; refused (BadInput) when the name is taken.
    [[nodiscard]] Result<void> create(const Lot& lot);
    /// Closes a lot, audited: the station takes no more devices for it. Refused when closed already.
    [[nodiscard]] Result<void> close(const QString& id, const QString& station, const QString& operatorName);
    [[nodiscard]] Result<std::optional<Lot>> find(const QString& id) const;
    /// Newest first.
    [[nodiscard]] Result<QList<Lot>> list(int limit = 100) const;
};

} // namespace imprint::core
