#pragma once

#include <QFrame>
#include <QPersistentModelIndex>

class QLabel;
class QProgressBar;

namespace imprint::ui {

class SlotModel;

/// One fixture slot as a tile, readable from a metre and a half: its name, the device's
/// serial, the step as a progress bar with elapsed time and the time left before it times
/// out, the verdict in a word, a colour and a symbol, and what to do.
class SlotTile : public QFrame {
    Q_OBJECT
public:
    SlotTile(SlotModel* model, int row, QWidget* parent = nullptr);

    int row() const { return m_row; }
    void setSelected(bool selected);
    bool isSelected() const { return m_selected; }
    /// Reads the slot again (the model changed, or a second went by).
    void refresh();

    QString verdictText() const;
    QString detailText() const;
    QString warningText() const;

signals:
    void clicked(int row);

protected:
    void mousePressEvent(QMouseEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    void fitVerdict();
    SlotModel* m_model;
    int m_row;
    bool m_selected = false;
    QLabel* m_name;
    QLabel* m_serial;
    QString m_serialText; ///< the serial (or port) in full; the label may hold it elided
    QLabel* m_verdict;
    QProgressBar* m_progress;
    QLabel* m_time;
    QLabel* m_detail;
    QLabel* m_warning;
    QString m_detailText; ///< the tooltip's words, as plain text
    QString m_verdictStyle; ///< the style sheets last set, so that they are set only when they change
    QString m_tileStyle;
};

} // namespace imprint::ui
