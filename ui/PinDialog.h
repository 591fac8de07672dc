#pragma once

#include "PinPrompt.h"

#include <QDialog>

class QLabel;
class QLineEdit;

namespace imprint::ui {

/// Asks the supervisor for the token PIN at shift start: a modal dialog with a masked
/// field. The PIN goes straight into a cleansed buffer; the field is cleared after.
class PinDialog : public QDialog, public core::PinPrompt {
    Q_OBJECT
public:
    explicit PinDialog(QWidget* parent = nullptr);

    core::Result<core::Secret> askPin(const Request& request) override;

    /// For tests: the field the PIN is typed into.
    QLineEdit* pinField() const { return m_pin; }

private:
    QLabel* m_text;
    QLabel* m_warning;
    QLineEdit* m_pin;
};

} // namespace imprint::ui
