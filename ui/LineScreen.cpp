#include "LineScreen.h"

#include "ShiftPanel.h"
#include "SlotModel.h"
#include "SlotTile.h"
#include "engine/Station.h"

#include <QElapsedTimer>
#include <QGridLayout>
#include <QLabel>
#include <QScrollArea>
#include <QTimer>
#include <QVBoxLayout>

#include <cmath>

namespace imprint::ui {

LineScreen::LineScreen(SlotModel* model, QWidget* parent)
    : QWidget(parent)
    , m_model(model)
    , m_grid(new QWidget(this))
    , m_gridLayout(new QGridLayout(m_grid))
    , m_scroll(new QScrollArea(this))
    , m_shift(new ShiftPanel(this))
{
    m_gridLayout->setSpacing(8);
    m_gridLayout->setContentsMargins(0, 0, 0, 0);
    m_scroll->setWidget(m_grid);
    m_scroll->setWidgetResizable(true);
    m_scroll->setFrameShape(QFrame::NoFrame);
    // An empty line is not a grey void: it says how a slot comes.
    m_empty = new QLabel(tr("No slots on this line yet.\n\nStart the window with --port PATH for each fixture "
                            "position (a serial port, e.g. /dev/ttyUSB0), or --usb VVVV:PPPP to give every device "
                            "with these USB ids a slot as it is plugged in. With the station service, the ports "
                            "given to imprintctl provision appear here."),
        m_grid);
    m_empty->setObjectName(QStringLiteral("emptyLine"));
    m_empty->setWordWrap(true);
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setTextFormat(Qt::PlainText);
    QFont emptyFont = m_empty->font();
    emptyFont.setPointSizeF(emptyFont.pointSizeF() * 1.4);
    m_empty->setFont(emptyFont);
    m_empty->setStyleSheet(QStringLiteral("QLabel { color: #555555; }"));
    m_gridLayout->addWidget(m_empty, 0, 0);
    // The tiles take what the shift's strip leaves: they are what a line lead looks at.
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_scroll, 1);
    layout->addWidget(m_shift);

    connect(m_model, &QAbstractItemModel::rowsInserted, this, &LineScreen::addTiles);
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        while (m_tiles.size() > m_model->rowCount())
            delete m_tiles.takeLast();
        if (m_selected >= m_model->rowCount())
            selectRow(-1);
        for (SlotTile* t : std::as_const(m_tiles))
            t->refresh();
        addTiles();
    });
    // Tiles are redrawn a few at a time, from the event loop: a busy line changes many slots
    // at once (and the service's events come in bursts), and a scan or a click must not wait
    // for all of them.
    m_refresher = new QTimer(this);
    m_refresher->setSingleShot(true);
    m_refresher->setInterval(0);
    connect(m_refresher, &QTimer::timeout, this, [this] {
        QElapsedTimer slice;
        slice.start();
        while (!m_dirty.isEmpty() && slice.elapsed() < 8) {
            const int row = m_dirty.takeFirst();
            if (row < m_tiles.size())
                m_tiles.at(row)->refresh();
        }
        if (!m_dirty.isEmpty())
            m_refresher->start();
    });
    connect(m_model, &QAbstractItemModel::dataChanged, this, [this](const QModelIndex& from, const QModelIndex& to) {
        for (int r = from.row(); r <= to.row() && r < m_tiles.size(); ++r) {
            if (!m_dirty.contains(r))
                m_dirty.append(r);
        }
        if (!m_refresher->isActive())
            m_refresher->start();
    });
    // The clocks on the tiles that are working.
    auto* tick = new QTimer(this);
    tick->setInterval(500);
    connect(tick, &QTimer::timeout, this, [this] {
        for (SlotTile* t : std::as_const(m_tiles)) {
            if (t->verdictText().isEmpty())
                t->refresh();
        }
    });
    tick->start();
    addTiles();
}

void LineScreen::resizeEvent(QResizeEvent* event)
{
    // The shift's strip keeps about a third of the screen, enough for its charts to be read.
    m_shift->setFixedHeight(std::clamp(height() * 3 / 10, 250, 340));
    QWidget::resizeEvent(event);
}

void LineScreen::selectRow(int row)
{
    m_selected = row;
    for (SlotTile* t : std::as_const(m_tiles))
        t->setSelected(t->row() == row);
}

void LineScreen::addTiles()
{
    while (m_tiles.size() < m_model->rowCount()) {
        auto* tile = new SlotTile(m_model, static_cast<int>(m_tiles.size()), m_grid);
        connect(tile, &SlotTile::clicked, this, &LineScreen::selectRow);
        m_tiles << tile;
    }
    place();
}

void LineScreen::place()
{
    // As the fixture: its columns from the settings, else a near-square grid.
    const int n = static_cast<int>(m_tiles.size());
    if (n == 0 && m_gridLayout->indexOf(m_empty) < 0)
        m_gridLayout->addWidget(m_empty, 0, 0);
    else if (n > 0)
        m_gridLayout->removeWidget(m_empty);
    m_empty->setVisible(n == 0);
    const int columns = m_model->line().columnsFor(n);
    for (int i = 0; i < n; ++i)
        m_gridLayout->addWidget(m_tiles.at(i), i / columns, i % columns);
}

} // namespace imprint::ui
