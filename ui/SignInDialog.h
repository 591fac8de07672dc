#pragma once

#include "Secret.h"

#include <QDialog>

#include <optional>

class QLabel;
class QLineEdit;

namespace imprint::ui {

/// Asks a person for their name and a credential (the QA passphrase, or the token's PIN for
/// the admin), masked; the credential goes straight into a cleansed buffer.
class SignInDialog : public QDialog {
    Q_OBJECT
public:
    struct Answer {
        QString person;
        core::Secret credential;
    };

    SignInDialog(const QString& title, const QString& text, const QString& credentialLabel, QWidget* parent = nullptr);

    /// The person's answer, or nothing when they declined.
    std::optional<Answer> ask(const QString& person = {});

    QLineEdit* nameField() const { return m_name; }
    QLineEdit* credentialField() const { return m_secret; }

private:
    QLabel* m_text;
    QLineEdit* m_name;
    QLineEdit* m_secret;
};

} // namespace imprint::ui
