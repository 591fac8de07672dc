#pragma once

#include <QJsonObject>
#include <QString>

namespace imprint::core {
class SlotJob;
struct UnfinishedJob;
} // namespace imprint::core

namespace imprint::app {

/// One device's outcome, as the CLI's --json and the GUI's exit summary print it.
[[nodiscard]] QJsonObject slotResultJson(const core::SlotJob& job);
/// The same outcome as one line for people.
[[nodiscard]] QString slotResultLine(const core::SlotJob& job);

/// A job the station was stopped under, for `imprintctl jobs` and the window's notice.
[[nodiscard]] QJsonObject unfinishedJobJson(const core::UnfinishedJob& job);
[[nodiscard]] QString unfinishedJobLine(const core::UnfinishedJob& job);

} // namespace imprint::app
