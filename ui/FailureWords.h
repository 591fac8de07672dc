#pragma once

#include <QCoreApplication>
#include <QString>

namespace imprint::ui {

/// A failure's stable code (README, "The command line") in the operator's words: what the
/// tile says, and what the Pareto's bar is called. The engine's own sentence, with every
/// detail, stays in the tooltip and the Detail column; every code the engine gives has words
/// here, so no English engine text reaches a translated screen.
struct FailureWords {
    Q_DECLARE_TR_FUNCTIONS(imprint::ui::FailureWords)

public:
    /// A sentence for the tile ("The device did not answer."); for a code not known here, a
    /// translated sentence naming the code.
    [[nodiscard]] static QString sentence(const QString& code);
    /// A few words for a chart's axis ("no answer").
    [[nodiscard]] static QString label(const QString& code);
};

} // namespace imprint::ui
