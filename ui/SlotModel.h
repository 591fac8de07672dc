#pragma once

#include "DataDir.h"

#include <QAbstractTableModel>

namespace imprint::core {
class Line;
}

namespace imprint::ui {

/// One row per fixture slot: its name in the fixture, which device, what step, the verdict
/// and what to do. The line screen's tiles and any table read their words from here.
class SlotModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Slot, Device, Step, Result, Detail, ColumnCount };
    enum Role {
        StepRole = Qt::UserRole + 1, ///< SlotJob::Step as int
        VerdictRole, ///< Verdict as int
        NameRole, ///< the slot's name in the fixture ("A1")
        ProgressRole, ///< the step's place in the pipeline, 1..7 (0: none)
        StepElapsedRole, ///< ms the current step has run
        StepLimitRole, ///< ms it may run before it times out (0: no limit)
        CheckSlotRole, ///< "check slot A3: ..." when the slot fails again and again, else empty
        WhenRole, ///< a device done earlier: when it passed
        ShortDetailRole, ///< what to do, in as few words as a tile has room for
        PortRole, ///< the port the slot works (a tile shows it until the device says its serial)
    };
    enum class Verdict { None, Pass, Fail, DoneEarlier };

    explicit SlotModel(core::Line* line, core::LineConfig config = {}, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    const core::LineConfig& line() const { return m_line; }
    /// The word of a verdict, as the screens show it (never colour alone).
    static QString verdictText(Verdict v);

private:
    core::Line* m_lineSource;
    core::LineConfig m_line;
    int m_rows = 0;
};

} // namespace imprint::ui
