#include "SignInDialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>

namespace imprint::ui {

SignInDialog::SignInDialog(const QString& title, const QString& text, const QString& credentialLabel, QWidget* parent)
    : QDialog(parent)
    , m_text(new QLabel(text, this))
    , m_name(new QLineEdit(this))
    , m_secret(new QLineEdit(this))
{
    setWindowTitle(title);
    m_text->setWordWrap(true);
    m_secret->setEchoMode(QLineEdit::Password);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Sign in"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* form = new QFormLayout(this);
    form->addRow(m_text);
    form->addRow(tr("Your name"), m_name);
    form->addRow(credentialLabel, m_secret);
    form->addRow(buttons);
}

std::optional<SignInDialog::Answer> SignInDialog::ask(const QString& person)
{
    m_name->setText(person);
    m_secret->clear();
    (person.isEmpty() ? m_name : m_secret)->setFocus();
    const bool accepted = exec() == QDialog::Accepted;
    core::Secret secret(m_secret->text().toUtf8());
    m_secret->clear();
    if (!accepted || secret.isEmpty() || m_name->text().trimmed().isEmpty())
        return std::nullopt;
    return Answer { m_name->text().trimmed(), std::move(secret) };
}

} // namespace imprint::ui
