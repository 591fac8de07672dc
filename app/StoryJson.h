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
[[nodiscard]] QJsonObject verdictJson(const core::AuditVerdict& v);
[[nodiscard]] core::AuditVerdict verdictOf(const QJsonObject& o);

} // namespace imprint::app
