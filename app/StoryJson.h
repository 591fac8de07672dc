#pragma once

// QA's records as the station service's API carries them (StationService, RemoteLine): one
// place that writes them and reads them back.

#include "Error.h"
#include "engine/Backoffice.h"

#include <QJsonObject>

namespace imprint::app {

[[nodiscard]] QJsonObject storyJson(const core::DeviceStory& story);
[[nodiscard]] core::DeviceStory storyOf(const QJsonObject& o);
[[nodiscard]] QJsonObject deviceJson(const core::DeviceRecord& d);
[[nodiscard]] core::DeviceRecord deviceOf(const QJsonObject& o);
[[nodiscard]] QJsonObject queryJson(const core::DeviceQuery& q);
[[nodiscard]] core::DeviceQuery queryOf(const QJsonObject& o);
/// A period's figures (DeviceRecords::shift), as the service's shift event and list --counts --json give them.
[[nodiscard]] QJsonObject shiftJson(const core::ShiftFigures& f);
[[nodiscard]] core::ShiftFigures shiftOf(const QJsonObject& o);
/// An attempt with no device, as list --json gives it beside the devices.
[[nodiscard]] QJsonObject attemptJson(const core::Attempt& a);
[[nodiscard]] QJsonObject verdictJson(const core::AuditVerdict& v);
[[nodiscard]] core::AuditVerdict verdictOf(const QJsonObject& o);

} // namespace imprint::app
