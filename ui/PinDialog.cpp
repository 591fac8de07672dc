#include "PinDialog.h"

#include <QDialogButtonBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace imprint::ui {

PinDialog::PinDialog(QWidget* parent)
    : QDialog(parent)
    , m_text(new QLabel(this))
    , m_warning(new QLabel(this))
    , m_pin(new QLineEdit(this))
{
    setWindowTitle(tr("Unlock the HSM"));
    m_pin->setEchoMode(QLineEdit::Password);
    m_pin->setObjectName(QStringLiteral("pin"));
    m_warning->setStyleSheet(QStringLiteral("color: #b00020;"));
    m_warning->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Unlock"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_text);
    layout->addWidget(m_warning);
    layout->addWidget(m_pin);
    layout->addWidget(buttons);
}

core::Result<core::Secret> PinDialog::askPin(const Request& request)
{
    m_text->setText(
        tr("The issuing CA key is in token \"%1\". Enter its user PIN to start the line.").arg(request.tokenLabel));
    m_warning->setText(request.warning);
    m_warning->setVisible(!request.warning.isEmpty());
    m_pin->clear();
    m_pin->setFocus();
    const bool accepted = exec() == QDialog::Accepted;
    core::Secret pin(m_pin->text().toUtf8());
    m_pin->clear();
    if (!accepted || pin.isEmpty())
        return core::fail(core::ErrorCode::Cancelled, tr("No PIN was given; the station stays locked."));
    return pin;
}

} // namespace imprint::ui
