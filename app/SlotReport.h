#pragma once

#include <QJsonObject>
#include <QString>

#include <QMap>

namespace imprint::core {
class SlotJob;
struct UnfinishedJob;
struct ShiftFigures;
} // namespace imprint::core

namespace imprint::app {

/// One device's outcome, as the CLI's --json and the GUI's exit summary print it.
[[nodiscard]] QJsonObject slotResultJson(const core::SlotJob& job);
/// The same outcome as one line for people.
[[nodiscard]] QString slotResultLine(const core::SlotJob& job);

/// A job the station was stopped under, for `imprintctl jobs` and the window's notice.
[[nodiscard]] QJsonObject unfinishedJobJson(const core::UnfinishedJob& job);
[[nodiscard]] QString unfinishedJobLine(const core::UnfinishedJob& job);

/// A period's figures for people (list --counts): the same counts as the window's shift panel.
[[nodiscard]] QString shiftText(const core::ShiftFigures& f);

/// The verdicts of a provision run, for its closing line: passed, done earlier, failed by code.
struct ProvisionTally {
    int passed = 0;
    int doneEarlier = 0;
    int failed = 0;
    QMap<QString, int> failedBy;
    /// `verdict`: the slot JSON's "status" (passed, done-earlier, failed); `code` its failure code.
    void add(const QString& verdict, const QString& code);
    [[nodiscard]] QString line() const;
};

/// "1 device", "3 devices": a count with its noun (English; the window uses tr's %n).
[[nodiscard]] QString countOf(qint64 n, const QString& singular, const QString& plural = {});

} // namespace imprint::app
