#pragma once

// Sign-in attempts: owns the table `sign_in_attempts`, the wrong credentials given in a row
// for each role (admin: the token's PIN, qa: the QA passphrase). Kept in the store, so that
// closing the window or restarting the station does not reset them; every refusal is in the
// audit log too.

#include "Error.h"
#include "store/Sql.h"

#include <QDateTime>

namespace imprint::core {

class SignInAttempts : public StorePart {
public:
    using StorePart::StorePart;

    struct State {
        int failures = 0; ///< wrong credentials in a row
        QDateTime pausedUntil; ///< no sign-in for this role before then (invalid: none)
    };

    /// How long a role waits after `failures` wrong credentials in a row: nothing for the
    /// first two, then one minute, doubling with each further one, at most an hour.
    [[nodiscard]] static qint64 pauseSeconds(int failures);

    [[nodiscard]] Result<State> state(const QString& role) const;
    /// A wrong credential for `role` by `person`: counted and audited, in one transaction;
    /// returns the state it leaves.
    [[nodiscard]] Result<State> refused(const QString& role, const QString& person, const QString& station);
    /// A sign-in under a pause, refused before the credential was checked: audited.
    [[nodiscard]] Result<void> refusedPaused(
        const QString& role, const QString& person, const QString& station, const State& state);
    /// A right credential: the count starts again.
    [[nodiscard]] Result<void> accepted(const QString& role);
};

} // namespace imprint::core
