#pragma once

#include "engine/Backoffice.h"

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
}

namespace imprint::ui {

class DeviceListModel;

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

signals:
    void status(const QString& message);
    void storyShown(const QString& serial);

private:
    QString storyHtml(const core::DeviceStory& story) const;
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
    QString m_auditVerdict;
};

} // namespace imprint::ui
