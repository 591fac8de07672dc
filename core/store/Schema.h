#pragma once

// The record store's schema: numbered migrations, listed in one place (Schema.cpp). Entry i
// brings a store from version i to i+1 (PRAGMA user_version); a shipped entry is never
// edited, a new one is appended.

#include "Error.h"

namespace imprint::core {

class Connection;

namespace schema {

/// The newest schema version this Imprint knows.
[[nodiscard]] int latest();

/// Brings the store from `version` to latest(), each migration in a synced transaction of
/// its own: a store is always at some numbered version, never between two.
[[nodiscard]] Result<void> migrate(const Connection& connection, int version);

} // namespace schema

} // namespace imprint::core
