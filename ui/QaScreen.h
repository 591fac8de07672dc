#pragma once

#include "engine/Backoffice.h"

#include <QJsonObject>
#include <QWidget>

#include <functional>

class QComboBox;
class QDateEdit;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableView;
class QTextBrowser;

namespace imprint::core {
class Line;
class PlantDesk;
} // namespace imprint::core

namespace imprint::ui {

class DeviceListModel;
class PlantFigures;

/// QA's screen: a serial scanned or typed brings up the device's whole story (record,
/// certificates with a strict chain check, CRL and upstream state, timeline, audit entries);
/// re-verify, scrap, and a printable report. Beside it, the device list with filters.
class QaScreen : public QWidget {
    Q_OBJECT
public:
    /// `confirm` asks the person again for their credential before an act that cannot be
    /// undone (scrap); it returns the person's name, or empty when they declined.
    QaScreen(core::QaDesk* desk, core::Line* line, std::function<QString(const QString& what)> confirm,
        QWidget* parent = nullptr);

    /// Shows the device's story (a scan or the search field lands here).
    void showDevice(const QString& serial);
    QLineEdit* searchField() const { return m_search; }
    DeviceListModel* deviceList() const { return m_list; }
    QTableView* deviceView() const { return m_view; }
    /// The story on display, or empty (for tests and the report).
    const std::optional<core::DeviceStory>& story() const { return m_story; }
    QString storyText() const;
    /// Writes the device report as PDF; false with a status message when it could not.
    bool writeReport(const QString& path);
    /// Scraps the shown device: confirmation and credential, then queued revocation.
    void scrapShown(const QString& reason = {});
    void reverifyShown();
    void refreshList();
    /// A device no local store holds is looked up in the plant record through `plant`; the
    /// plant's figures open from here too. Null: this station has no plant record.
    void setPlantDesk(core::PlantDesk* plant);
    /// The device as read from the plant record (shown when not recorded here), or empty.
    const std::optional<QJsonObject>& plantRecord() const { return m_plantRecord; }
    QString verdictText() const;
    /// Opens (or brings up) the plant's figures, read afresh.
    void showPlantFigures();
    PlantFigures* plantFigures() const { return m_figures; }

signals:
    void status(const QString& message);
    void storyShown(const QString& serial);

private:
    QString storyHtml(const core::DeviceStory& story) const;
    QString plantHtml(const QJsonObject& device) const;
    void lookInPlant(const QString& serial, const QString& notHere);
    void display();

    core::QaDesk* m_desk;
    core::Line* m_lineSource;
    std::function<QString(const QString&)> m_confirm;
    QLineEdit* m_search;
    QTextBrowser* m_text;
    QPushButton* m_reverify;
    QPushButton* m_scrap;
    QPushButton* m_report;
    QLabel* m_verdict;
    QLineEdit* m_prefix;
    QLineEdit* m_lot;
    QComboBox* m_status;
    QDateEdit* m_since;
    QDateEdit* m_until;
    DeviceListModel* m_list;
    QTableView* m_view;
    std::optional<core::DeviceStory> m_story;
    core::PlantDesk* m_plant = nullptr;
    std::optional<QJsonObject> m_plantRecord;
    QPushButton* m_figuresButton;
    PlantFigures* m_figures = nullptr;
    QString m_auditVerdict;
};

} // namespace imprint::ui
