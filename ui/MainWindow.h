#pragma once

#include "Secret.h"

#include <QElapsedTimer>
#include <QMainWindow>

#include <functional>
#include <optional>

class QAction;
class QLabel;
class QLineEdit;
class QStackedWidget;

namespace imprint::core {
class Backoffice;
class Line;
class PlantDesk;
class RecordStore;
class Station;
} // namespace imprint::core

namespace imprint::ui {

class AdminScreen;
class HealthStrip;
class LineScreen;
class QaScreen;
class SlotModel;

/// The station's window: three screens for three people. The line screen (tiles as the
/// fixture, the shift, the health strip) is everyone's; the QA screen needs the QA
/// passphrase, the admin screen the token's PIN. A signed-in role ends after
/// [roles] idle-minutes without a touch; every sign-in and sign-out is audited with the
/// person's name. A barcode scanner's keystrokes reach the right place whichever widget
/// has focus.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum class Role { Operator, Qa, Admin };
    enum class Screen { Line, Qa, Admin };

    /// What a person answered when asked to sign in: their name and credential.
    struct Credential {
        QString person;
        core::Secret secret;
    };
    /// Asks for a credential for `role` (`what` says why); nothing when declined. The
    /// window's own asks with a dialog; tests put theirs here.
    using CredentialPrompt = std::function<std::optional<Credential>(Role role, const QString& what)>;

    /// The window over `line`: a Station in this process, or the station service's line (the
    /// window as its client: no back office here, QA and admin work go through imprintctl).
    MainWindow(core::Line* line, core::Backoffice* backoffice, const QString& caSubject, QWidget* parent = nullptr);
    /// The window over a Station in this process.
    MainWindow(
        core::Station* station, core::Backoffice* backoffice, const QString& caSubject, QWidget* parent = nullptr);
    ~MainWindow() override;

    SlotModel* slotModel() const { return m_model; }
    LineScreen* lineScreen() const { return m_line; }
    QaScreen* qaScreen() const { return m_qa; }
    /// QA's screen reads a device no local store holds, and the plant's figures, from here.
    void setPlantDesk(core::PlantDesk* plant);
    AdminScreen* adminScreen() const { return m_admin; }
    HealthStrip* healthStrip() const { return m_health; }
    /// The field a barcode scanner types serial labels into (Enter hands one over).
    QLineEdit* scanField() const { return m_scan; }
    /// The notice of interrupted jobs (hidden when there are none).
    QLabel* notice() const { return m_notice; }
    /// The notice that the station service is not reachable (hidden while it is).
    QLabel* linkNotice() const { return m_link; }
    QString statusText() const;

    Role role() const { return m_role; }
    const QString& person() const { return m_person; }
    Screen screen() const;
    /// Opens a screen, asking for the credential it needs first; false when it stays closed.
    bool openScreen(Screen screen);
    /// Ends a signed-in role (back to the line screen), audited with `why`.
    void signOut(const QString& why);
    void setCredentialPrompt(CredentialPrompt prompt) { m_prompt = std::move(prompt); }
    /// Asks the signed-in person for their credential again (before a scrap); their name, or
    /// empty when they declined or it was wrong.
    QString confirmPerson(const QString& what);

    /// Hands a scanned serial label to the selected slot, or else to the first slot
    /// waiting for one; a refusal is shown in the status bar. Returns whether it was taken.
    bool takeScannedSerial(const QString& label);
    /// Where a scan (keystrokes and Enter outside a text field) goes: a waiting slot, else
    /// the QA screen's search when QA may see it.
    void routeScan(const QString& text);

    /// Reads the health and the shift from the store now (they are also read on a timer).
    void refreshHealth();
    void refreshShift();

    /// Asks the upstream worker for a round (wired by the executable).
    std::function<void()> syncNow;

signals:
    void roleChanged(Role role);
    void healthShown();
    void shiftShown();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    /// Checks `credential` for `role` on the back office's thread (scrypt, or the PIN).
    /// Whether the credential is right for `role`, counted and paused (SignInAttempts);
    /// `unlocking`: the admin's PIN goes to the locked token (the explicit unlock act).
    bool check(Role role, const Credential& credential, bool unlocking = false);
    /// The token's PIN counters in words when it is locked (empty words: none reported).
    std::optional<QString> tokenLocked();
    /// Runs `work` on the back office's thread and waits for its answer (empty: quitting).
    template <typename T> std::optional<T> onBackoffice(std::function<T(core::RecordStore&)> work);
    bool signIn(Role role, const QString& what);
    void showScreen(Screen screen);
    /// The selected slot's row, or -1.
    int selectedSlot() const;
    void retrySelected();
    void abortSelected();
    void changeOperator();
    void updateRoleBar();

    core::Line* m_lineSource;
    core::Backoffice* m_backoffice;
    SlotModel* m_model;
    QStackedWidget* m_stack;
    LineScreen* m_line;
    QaScreen* m_qa = nullptr;
    AdminScreen* m_admin = nullptr;
    HealthStrip* m_health;
    QLabel* m_notice;
    QLabel* m_link; ///< the station service is not reachable (the window as its client)
    QLabel* m_operator;
    QLabel* m_roleLabel;
    QLineEdit* m_scan;
    QAction* m_lineAction;
    QAction* m_qaAction;
    QAction* m_adminAction;
    QAction* m_signOutAction;
    Role m_role = Role::Operator;
    QString m_person;
    CredentialPrompt m_prompt;
    QElapsedTimer m_idle;
    QString m_scanBuffer;
    QElapsedTimer m_scanClock;
    bool m_shiftPending = false;
};

} // namespace imprint::ui
