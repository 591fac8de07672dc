#pragma once

#include <QJsonObject>
#include <QString>

namespace imprint::core {
class SlotJob;
}

namespace imprint::app {

/// One device's outcome, as the CLI's --json and the GUI's exit summary print it.
[[nodiscard]] QJsonObject slotResultJson(const core::SlotJob& job);
/// The same outcome as one line for people.
[[nodiscard]] QString slotResultLine(const core::SlotJob& job);

} // namespace imprint::app
