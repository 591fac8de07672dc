#pragma once

#include <QStringList>

namespace imprint::app {

/// `imprintctl bench issue --count N`: issuance rate next to the raw PKCS#11 sign rate of the
/// same key, measured in the same run. Prints its figures; returns the exit code.
int benchIssue(const QStringList& args);

} // namespace imprint::app
