#pragma once

#include <QWidget>

class QGridLayout;
class QLabel;
class QScrollArea;
class QTimer;

namespace imprint::ui {

class ShiftPanel;
class SlotModel;
class SlotTile;

/// The line operator's screen: one tile per slot, laid out as the fixture, and the shift's
/// figures and charts below them.
class LineScreen : public QWidget {
    Q_OBJECT
public:
    LineScreen(SlotModel* model, QWidget* parent = nullptr);

    ShiftPanel* shiftPanel() const { return m_shift; }
    const QList<SlotTile*>& tiles() const { return m_tiles; }
    /// The tile chosen by a click or the arrow keys, or -1.
    int selectedRow() const { return m_selected; }
    void selectRow(int row);

protected:
    void resizeEvent(QResizeEvent* event) override;

private:
    void addTiles();
    void place();

    SlotModel* m_model;
    QWidget* m_grid;
    QGridLayout* m_gridLayout;
    QScrollArea* m_scroll;
    QLabel* m_empty; ///< says how to add a slot while there is none
    ShiftPanel* m_shift;
    QList<SlotTile*> m_tiles;
    QList<int> m_dirty; ///< tiles whose slot changed, redrawn a few at a time
    QTimer* m_refresher;
    int m_selected = -1;
};

} // namespace imprint::ui
