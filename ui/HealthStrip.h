#pragma once

#include "engine/Backoffice.h"

#include <QWidget>

class QLabel;

namespace imprint::ui {

/// One thing the health strip watches, and how it stands.
struct HealthItem {
    enum class Level { Good, Attention, Alarm, Off };
    QString name; ///< "HSM", "Upstream", "Disk", "Interrupted jobs"
    Level level = Level::Good;
    QString sentence; ///< in plain words; says what to do when it needs someone
};

/// How the station's health reads at `now`: each item green, amber or red with a sentence.
[[nodiscard]] QList<HealthItem> assessHealth(const core::StationHealth& health, const QDateTime& now);

/// The strip along the top of the window: the HSM, the upstream, the disk and the jobs a
/// stopped station left, each green, amber or red (with a symbol and a word, never colour alone).
class HealthStrip : public QWidget {
    Q_OBJECT
public:
    explicit HealthStrip(QWidget* parent = nullptr);

    void show(const core::StationHealth& health);
    const QList<HealthItem>& items() const { return m_items; }
    /// The worst level shown.
    HealthItem::Level worst() const;

private:
    QList<HealthItem> m_items;
    QList<QLabel*> m_labels;
};

} // namespace imprint::ui
