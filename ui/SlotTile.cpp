#include "SlotTile.h"

#include "SlotModel.h"
#include "engine/SlotJob.h"

#include <QFontMetrics>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QTextDocument>
#include <QVBoxLayout>

namespace imprint::ui {

namespace {

QString seconds(qint64 ms)
{
    const qint64 s = ms / 1000;
    return s >= 60 ? QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'))
                   : QStringLiteral("%1 s").arg(s);
}

} // namespace

SlotTile::SlotTile(SlotModel* model, int row, QWidget* parent)
    : QFrame(parent)
    , m_model(model)
    , m_row(row)
    , m_name(new QLabel(this))
    , m_serial(new QLabel(this))
    , m_verdict(new QLabel(this))
    , m_progress(new QProgressBar(this))
    , m_time(new QLabel(this))
    , m_detail(new QLabel(this))
    , m_warning(new QLabel(this))
{
    setObjectName(QStringLiteral("slotTile"));
    setFrameShape(QFrame::StyledPanel);
    setFocusPolicy(Qt::StrongFocus);
    setMinimumSize(120, 96);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    QFont nameFont = m_name->font();
    nameFont.setPointSizeF(nameFont.pointSizeF() * 1.5);
    nameFont.setBold(true);
    m_name->setFont(nameFont);
    QFont serialFont = m_serial->font();
    serialFont.setPointSizeF(serialFont.pointSizeF() * 1.3);
    m_serial->setFont(serialFont);
    m_serial->setTextInteractionFlags(Qt::TextSelectableByMouse);
    // The serial and the detail carry a device's own words (a refusal's message): shown as
    // text, never read as markup, whatever they hold.
    for (QLabel* label : { m_name, m_serial, m_verdict, m_time, m_detail, m_warning })
        label->setTextFormat(Qt::PlainText);
    QFont verdictFont = m_verdict->font();
    verdictFont.setBold(true);
    m_verdict->setFont(verdictFont);
    m_verdict->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred); // fitted to the tile, see fitVerdict
    m_progress->setRange(0, core::SlotJob::pipelineSteps());
    // The step in words goes on the line below: text on the bar is cut where the fill meets it.
    m_progress->setTextVisible(false);
    m_progress->setMaximumHeight(10);
    m_detail->setWordWrap(true);
    m_time->setWordWrap(true);
    m_time->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_serial->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred); // fitted, see fitVerdict
    m_detail->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Ignored); // long reasons wrap, never widen the tile
    m_detail->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    m_warning->setWordWrap(true);
    m_warning->setStyleSheet(QStringLiteral("QLabel { background: #fff3cd; color: #664d03; padding: 2px 4px; }"));

    // Name and serial on top; the verdict, the biggest thing on the tile, on a line of its own.
    m_serial->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    m_verdict->setAlignment(Qt::AlignCenter);
    auto* top = new QHBoxLayout;
    top->addWidget(m_name);
    top->addWidget(m_serial, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 6, 8, 6);
    layout->setSpacing(2);
    layout->addLayout(top);
    layout->addWidget(m_verdict);
    layout->addWidget(m_progress);
    layout->addWidget(m_time);
    layout->addWidget(m_detail, 1);
    layout->addWidget(m_warning);
    refresh();
}

void SlotTile::fitVerdict()
{
    // As large as the tile allows, from a metre and a half: the word shrinks to fit, never cut.
    QFont f = m_verdict->font();
    const int room = std::max(40, width() - 24);
    double size = QFont().pointSizeF() * 2.0;
    f.setPointSizeF(size);
    while (size > QFont().pointSizeF() * 0.6 && QFontMetrics(f).horizontalAdvance(m_verdict->text()) > room) {
        size -= 0.5;
        f.setPointSizeF(size);
    }
    m_verdict->setFont(f);
    // The serial (or port) takes what the name leaves; a long one loses its start, not its
    // distinctive end ("…LINE-0001"), and the tooltip has it whole.
    const int serialRoom = std::max(30, width() - 24 - m_name->sizeHint().width() - 8);
    const QString elided = QFontMetrics(m_serial->font()).elidedText(m_serialText, Qt::ElideLeft, serialRoom);
    if (m_serial->text() != elided)
        m_serial->setText(elided);
}

void SlotTile::resizeEvent(QResizeEvent* event)
{
    QFrame::resizeEvent(event);
    fitVerdict();
}

void SlotTile::setSelected(bool selected)
{
    if (m_selected == selected)
        return;
    m_selected = selected;
    refresh();
}

void SlotTile::mousePressEvent(QMouseEvent* event)
{
    setFocus(Qt::MouseFocusReason);
    emit clicked(m_row);
    QFrame::mousePressEvent(event);
}

QString SlotTile::verdictText() const
{
    return m_model->index(m_row, SlotModel::Result).data().toString();
}

QString SlotTile::detailText() const
{
    return m_detailText;
}

QString SlotTile::warningText() const
{
    return m_warning->isHidden() ? QString() : m_warning->text();
}

void SlotTile::refresh()
{
    const QModelIndex at = m_model->index(m_row, 0);
    if (!at.isValid())
        return;
    const auto verdict = static_cast<SlotModel::Verdict>(at.data(SlotModel::VerdictRole).toInt());
    m_name->setText(at.data(SlotModel::NameRole).toString());
    // Until the device says its serial, the tile shows its port: which fixture position it is.
    const QString serial = m_model->index(m_row, SlotModel::Device).data().toString();
    const QString port = at.data(SlotModel::PortRole).toString();
    const bool known = serial != QStringLiteral("—");
    const QString shown = known ? serial : port.startsWith(QLatin1String("usb:")) ? port : port.section(u'/', -1);
    if (m_serialText != shown) {
        m_serialText = shown;
        m_serial->setText(shown);
        m_serial->setStyleSheet(known ? QString() : QStringLiteral("QLabel { color: #555555; }"));
    }
    m_serial->setToolTip(known ? serial + QStringLiteral("\n") + port : port);
    const int position = at.data(SlotModel::ProgressRole).toInt();
    const QString step = m_model->index(m_row, SlotModel::Step).data().toString();
    m_progress->setValue(position);

    if (verdict == SlotModel::Verdict::None) {
        const qint64 elapsed = at.data(SlotModel::StepElapsedRole).toLongLong();
        const qint64 limit = at.data(SlotModel::StepLimitRole).toLongLong();
        const QString where = position > 0
            ? tr("%1 (step %2 of %3)").arg(step).arg(position).arg(core::SlotJob::pipelineSteps())
            : step;
        m_time->setText(limit > 0 ? tr("%1 · %2 in it, %3 left")
                                        .arg(where, seconds(elapsed), seconds(std::max<qint64>(0, limit - elapsed)))
                                  : tr("%1 · %2 in it").arg(where, seconds(elapsed)));
        m_time->show();
    } else if (verdict == SlotModel::Verdict::Fail && position > 0) {
        m_time->setText(tr("Step %1 of %2: %3").arg(position).arg(core::SlotJob::pipelineSteps()).arg(step));
        m_time->show();
    } else {
        m_time->hide();
    }

    // Never colour alone: a symbol and a word go with it.
    QString symbol, colour, background;
    switch (verdict) {
    case SlotModel::Verdict::Pass:
        symbol = QStringLiteral("✔ ");
        colour = QStringLiteral("#1b5e20");
        background = QStringLiteral("#e8f5e9");
        break;
    case SlotModel::Verdict::Fail:
        symbol = QStringLiteral("✖ ");
        colour = QStringLiteral("#b71c1c");
        background = QStringLiteral("#ffebee");
        break;
    case SlotModel::Verdict::DoneEarlier:
        symbol = QStringLiteral("↺ ");
        colour = QStringLiteral("#0d47a1");
        background = QStringLiteral("#e3f2fd");
        break;
    case SlotModel::Verdict::None:
        colour = QStringLiteral("#333333");
        background = QStringLiteral("#fafafa");
        break;
    }
    m_verdict->setText(verdict == SlotModel::Verdict::None ? QString() : symbol + verdictText());
    // A style sheet set again re-polishes the widget and all it holds (about a millisecond a
    // tile): set only when it changes, not at every step and clock tick.
    const QString verdictStyle
        = QStringLiteral("QLabel { color: white; background: %1; border-radius: 4px; }").arg(colour);
    if (verdictStyle != m_verdictStyle) {
        m_verdictStyle = verdictStyle;
        m_verdict->setStyleSheet(verdictStyle);
    }
    m_verdict->setVisible(verdict != SlotModel::Verdict::None);
    fitVerdict();
    // A finished tile has no bar: its verdict says it all, and a failed one says where it stopped.
    m_progress->setVisible(verdict == SlotModel::Verdict::None);
    m_detail->setText(at.data(SlotModel::ShortDetailRole).toString());
    // A tooltip is read as rich text when it looks like markup: given escaped, it shows the
    // words as they are.
    m_detailText = m_model->index(m_row, SlotModel::Detail).data().toString();
    setToolTip(m_detailText.isEmpty() ? QString() : Qt::convertFromPlainText(m_detailText));
    const QString warning = at.data(SlotModel::CheckSlotRole).toString();
    m_warning->setText(QStringLiteral("⚠ ") + warning);
    m_warning->setVisible(!warning.isEmpty());
    const QString tileStyle
        = QStringLiteral("QFrame#slotTile { background: %1; border: %2px solid %3; border-radius: 6px; }")
              .arg(background, m_selected ? QStringLiteral("4") : QStringLiteral("2"),
                  m_selected ? QStringLiteral("#1565c0") : colour);
    if (tileStyle != m_tileStyle) {
        m_tileStyle = tileStyle;
        setStyleSheet(tileStyle);
    }
}

} // namespace imprint::ui
