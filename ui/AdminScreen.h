#pragma once

#include "engine/Backoffice.h"

#include <QWidget>

#include <functional>

class QLabel;
class QProgressBar;
class QPushButton;
class QTableWidget;
class QTextBrowser;

namespace imprint::ui {

/// The PKI admin's screen: the CA (key attributes read back from the token, certificate,
/// chain; a CRL now), lots, the upstream (status, sync now, export a batch, import an answer),
/// the audit log (verify with progress, browse), the QA passphrase, and locking the HSM.
/// Long work runs on the back office's thread, with progress.
class AdminScreen : public QWidget {
    Q_OBJECT
public:
    AdminScreen(core::Backoffice* backoffice, QWidget* parent = nullptr);

    /// Called when the screen is shown: reads everything afresh.
    void refresh();
    /// Writes an offline batch into `folder` (the export button asks for it).
    void exportTo(const QString& folder);
    void importFrom(const QString& path);
    void verifyAudit();
    void issueCrl();
    /// Closes a lot (the button asks first): the station takes no more devices for it.
    void closeLotNamed(const QString& id);
    /// Sets the QA passphrase (kept as a scrypt hash only).
    void setQaPassphrase(const QString& passphrase, const QString& person);
    QString upstreamText() const;
    QString auditVerdictText() const;
    bool isBusy() const { return m_busy > 0; }

    /// Asks the upstream worker for a round now (wired by the executable).
    std::function<void()> syncNow;
    /// The person signed in as admin, for the audit log.
    std::function<QString()> person;

signals:
    void status(const QString& message);
    void lockRequested();
    void finishedWork(const QString& what);

private:
    void busy(bool on);
    bool signedIn();
    void showAuditPage(qint64 after);

    core::Backoffice* m_backoffice;
    QTextBrowser* m_ca;
    QTableWidget* m_lots;
    QLabel* m_upstream;
    QLabel* m_auditVerdict;
    QProgressBar* m_progress;
    QPushButton* m_cancel;
    QTableWidget* m_audit;
    QTextBrowser* m_profiles;
    qint64 m_auditAfter = 0;
    int m_busy = 0;
};

} // namespace imprint::ui
