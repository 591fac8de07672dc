#include "MainWindow.h"

#include "engine/Line.h"
#include "engine/QaDesk.h"

#include "AdminScreen.h"
#include "DeviceListModel.h"
#include "HealthStrip.h"
#include "LineScreen.h"
#include "QaScreen.h"
#include "ShiftPanel.h"
#include "SignInDialog.h"
#include "SlotModel.h"
#include "engine/Backoffice.h"
#include "engine/SlotJob.h"
#include "engine/Station.h"
#include "pki/Passphrase.h"

#include <QAbstractSpinBox>
#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QEventLoop>
#include <QFile>
#include <QInputDialog>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QShortcut>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTextEdit>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

namespace imprint::ui {

namespace {

QString roleName(MainWindow::Role role)
{
    switch (role) {
    case MainWindow::Role::Operator: return MainWindow::tr("operator");
    case MainWindow::Role::Qa: return MainWindow::tr("QA");
    case MainWindow::Role::Admin: return MainWindow::tr("PKI admin");
    }
    return {};
}

/// Where a person types: keys pressed there are theirs, not a scanner's to take.
bool takesText(const QWidget* w)
{
    if (!w)
        return false;
    if (qobject_cast<const QLineEdit*>(w) || qobject_cast<const QTextEdit*>(w) || qobject_cast<const QPlainTextEdit*>(w)
        || qobject_cast<const QAbstractSpinBox*>(w))
        return true;
    if (const auto* combo = qobject_cast<const QComboBox*>(w))
        return combo->isEditable();
    return false;
}

} // namespace

MainWindow::MainWindow(core::Station* station, core::Backoffice* backoffice, const QString& caSubject, QWidget* parent)
    : MainWindow(new core::LocalLine(station), backoffice, caSubject, parent)
{
    m_lineSource->setParent(this);
}

MainWindow::MainWindow(core::Line* line, core::Backoffice* backoffice, const QString& caSubject, QWidget* parent)
    : QMainWindow(parent)
    , m_lineSource(line)
    , m_backoffice(backoffice)
    , m_model(new SlotModel(line, backoffice ? backoffice->config().line : core::LineConfig {}, this))
    , m_stack(new QStackedWidget(this))
    , m_line(new LineScreen(m_model, this))
    , m_health(new HealthStrip(this))
    , m_notice(new QLabel(this))
    , m_link(new QLabel(this))
    , m_operator(new QLabel(this))
    , m_roleLabel(new QLabel(this))
    , m_scan(new QLineEdit(this))
{
    setWindowTitle(tr("Imprint — provisioning station"));
    m_idle.start();
    m_scanClock.start();

    auto* nav = addToolBar(tr("Screens"));
    nav->setMovable(false);
    nav->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_lineAction = nav->addAction(tr("Line"), this, [this] { openScreen(Screen::Line); });
    m_qaAction = nav->addAction(tr("QA"), this, [this] { openScreen(Screen::Qa); });
    m_adminAction = nav->addAction(tr("Admin"), this, [this] { openScreen(Screen::Admin); });
    for (QAction* a : { m_lineAction, m_qaAction, m_adminAction })
        a->setCheckable(true);
    m_lineAction->setChecked(true);
    // QA's screen works on the back office here, or on the station service's (a line that
    // is the service's); the admin's only here (as the service's client, imprintctl).
    core::QaDesk* desk = backoffice ? static_cast<core::QaDesk*>(backoffice) : dynamic_cast<core::QaDesk*>(line);
    m_qaAction->setEnabled(desk != nullptr);
    m_adminAction->setEnabled(backoffice != nullptr);
    nav->addSeparator();
    nav->addAction(tr("Retry slot (F5)"), this, &MainWindow::retrySelected);
    nav->addAction(tr("Abort slot (F8)"), this, &MainWindow::abortSelected);
    nav->addSeparator();
    // A barcode scanner is a keyboard: it types the label and Enter.
    m_scan->setPlaceholderText(tr("Scan a serial label"));
    m_scan->setClearButtonEnabled(true);
    m_scan->setMaximumWidth(260);
    nav->addWidget(new QLabel(tr(" Serial label: "), this));
    nav->addWidget(m_scan);
    connect(m_scan, &QLineEdit::returnPressed, this, [this] {
        if (takeScannedSerial(m_scan->text().trimmed()))
            m_scan->clear();
        else
            m_scan->selectAll();
    });
    nav->addSeparator();
    nav->addAction(tr("Change operator…"), this, &MainWindow::changeOperator);
    m_signOutAction = nav->addAction(tr("Sign out"), this, [this] { signOut(tr("signed out")); });
    auto* f5 = new QShortcut(QKeySequence(Qt::Key_F5), this);
    connect(f5, &QShortcut::activated, this, &MainWindow::retrySelected);
    auto* f8 = new QShortcut(QKeySequence(Qt::Key_F8), this);
    connect(f8, &QShortcut::activated, this, &MainWindow::abortSelected);

    if (desk) {
        m_qa = new QaScreen(
            desk, line, [this](const QString& what) { return confirmPerson(what); }, this);
        connect(m_qa, &QaScreen::status, this, [this](const QString& m) { statusBar()->showMessage(m, 15000); });
    }
    if (backoffice) {
        m_admin = new AdminScreen(backoffice, this);
        m_admin->person = [this] { return m_person; };
        m_admin->syncNow = [this] {
            if (syncNow)
                syncNow();
        };
        connect(m_admin, &AdminScreen::status, this, [this](const QString& m) {
            statusBar()->showMessage(m, 15000);
            refreshHealth();
        });
        connect(m_admin, &AdminScreen::lockRequested, this, [this] {
            m_backoffice->lock(this, [this] {
                statusBar()->showMessage(tr("The HSM is locked: nothing is signed until an admin unlocks it."), 15000);
                signOut(tr("locked the HSM"));
                refreshHealth();
            });
        });
    }
    m_stack->addWidget(m_line);
    if (m_qa)
        m_stack->addWidget(m_qa);
    if (m_admin)
        m_stack->addWidget(m_admin);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->addWidget(m_health);
    m_health->setVisible(backoffice != nullptr);
    // Jobs the station was stopped under (a crash, a power cut): their devices continue
    // where they were when they are back on a slot.
    const QList<core::UnfinishedJob> interrupted = line->interruptedJobs();
    if (!interrupted.isEmpty()) {
        QStringList serials;
        for (qsizetype i = 0; i < std::min<qsizetype>(interrupted.size(), 8); ++i)
            serials << interrupted.at(i).deviceSerial;
        if (interrupted.size() > 8)
            serials << tr("and %1 more").arg(interrupted.size() - 8);
        const QString what = tr(
            "%n job(s) were interrupted when the station last stopped", nullptr, static_cast<int>(interrupted.size()));
        m_notice->setText(tr("%1: %2. Put these devices back on a slot: each one continues where it was "
                             "(imprintctl jobs lists them).")
                              .arg(what, serials.join(QStringLiteral(", "))));
        m_notice->setWordWrap(true);
        m_notice->setStyleSheet(QStringLiteral("QLabel { background: #fff3cd; color: #664d03; padding: 8px; "
                                               "border: 1px solid #ffe69c; }"));
    }
    m_notice->setVisible(!interrupted.isEmpty());
    layout->addWidget(m_notice);
    m_link->setWordWrap(true);
    m_link->setStyleSheet(QStringLiteral("QLabel { background: #f8d7da; color: #58151c; padding: 8px; "
                                         "border: 1px solid #f1aeb5; font-weight: bold; }"));
    m_link->setVisible(false);
    layout->addWidget(m_link);
    connect(line, &core::Line::connectionChanged, this, [this](bool connected, const QString& message) {
        m_link->setText(message);
        m_link->setVisible(!connected);
        if (connected)
            statusBar()->showMessage(message, 5000);
    });
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);

    statusBar()->addWidget(new QLabel(tr("Issuing CA: %1").arg(caSubject), this));
    statusBar()->addPermanentWidget(m_roleLabel);
    statusBar()->addPermanentWidget(m_operator);
    m_operator->setText(tr("Operator: %1").arg(line->operatorName()));
    connect(line, &core::Line::operatorChanged, this,
        [this](const QString& name) { m_operator->setText(tr("Operator: %1").arg(name)); });
    connect(
        line, &core::Line::refused, this, [this](const QString& message) { statusBar()->showMessage(message, 8000); });
    // The station service pushes the shift's figures and the health as they change.
    connect(line, &core::Line::shiftFigures, this, [this](const core::ShiftFigures& f) {
        m_line->shiftPanel()->show(f);
        emit shiftShown();
    });
    connect(line, &core::Line::health, this, [this](const core::StationHealth& h) {
        m_health->setVisible(true);
        m_health->show(h);
        emit healthShown();
    });
    connect(line, &core::Line::slotChanged, this, [this](int index) {
        const core::SlotView job = m_lineSource->slotAt(index);
        // A device waiting for its label: the scanner's field is where the next scan goes.
        if (job.step == core::SlotJob::Step::AwaitingSerial && screen() == Screen::Line && !takesText(focusWidget()))
            m_scan->setFocus();
        // A verdict changes the shift's figures: read them again (once for a burst).
        if (m_backoffice && job.isFinished() && !m_shiftPending) {
            m_shiftPending = true;
            QTimer::singleShot(500, this, [this] {
                m_shiftPending = false;
                refreshShift();
                refreshHealth();
            });
        }
    });

    // Who is signed in ends after [roles] idle-minutes without a key or a click.
    qApp->installEventFilter(this);
    auto* idleCheck = new QTimer(this);
    idleCheck->setInterval(5000);
    connect(idleCheck, &QTimer::timeout, this, [this] {
        if (m_role != Role::Operator && m_idle.elapsed() > qint64(m_model->line().roleIdleMinutes) * 60000)
            signOut(tr("idle for %n minute(s)", nullptr, m_model->line().roleIdleMinutes));
    });
    idleCheck->start();
    if (m_backoffice) {
        auto* healthTimer = new QTimer(this);
        healthTimer->setInterval(3000);
        connect(healthTimer, &QTimer::timeout, this, &MainWindow::refreshHealth);
        healthTimer->start();
        auto* shiftTimer = new QTimer(this);
        shiftTimer->setInterval(60000);
        connect(shiftTimer, &QTimer::timeout, this, &MainWindow::refreshShift);
        shiftTimer->start();
        refreshHealth();
        refreshShift();
    }
    updateRoleBar();
    resize(1280, 800);
}

MainWindow::~MainWindow()
{
    qApp->removeEventFilter(this);
}

QString MainWindow::statusText() const
{
    return statusBar()->currentMessage();
}

MainWindow::Screen MainWindow::screen() const
{
    if (m_qa && m_stack->currentWidget() == m_qa)
        return Screen::Qa;
    if (m_admin && m_stack->currentWidget() == m_admin)
        return Screen::Admin;
    return Screen::Line;
}

void MainWindow::setPlantDesk(core::PlantDesk* plant)
{
    if (m_qa)
        m_qa->setPlantDesk(plant);
}

void MainWindow::refreshHealth()
{
    if (!m_backoffice)
        return;
    m_backoffice->health(this, [this](core::StationHealth h) {
        m_health->show(h);
        emit healthShown();
    });
}

void MainWindow::refreshShift()
{
    if (!m_backoffice)
        return;
    const auto [since, until] = m_backoffice->config().line.shiftAround(QDateTime::currentDateTimeUtc());
    m_backoffice->shift(this, since, until, [this](core::Result<core::ShiftFigures> f) {
        if (!f) {
            statusBar()->showMessage(f.error().message, 15000);
            return;
        }
        m_line->shiftPanel()->show(*f);
        emit shiftShown();
    });
}

void MainWindow::updateRoleBar()
{
    m_roleLabel->setText(
        m_role == Role::Operator ? tr("Role: operator") : tr("Role: %1 (%2)").arg(roleName(m_role), m_person));
    m_roleLabel->setMinimumWidth(m_roleLabel->fontMetrics().horizontalAdvance(m_roleLabel->text()) + 8);
    m_signOutAction->setVisible(m_role != Role::Operator);
    const Screen s = screen();
    m_lineAction->setChecked(s == Screen::Line);
    m_qaAction->setChecked(s == Screen::Qa);
    m_adminAction->setChecked(s == Screen::Admin);
}

void MainWindow::showScreen(Screen s)
{
    QWidget* w = s == Screen::Qa ? static_cast<QWidget*>(m_qa)
        : s == Screen::Admin     ? static_cast<QWidget*>(m_admin)
                                 : static_cast<QWidget*>(m_line);
    m_stack->setCurrentWidget(w ? w : m_line);
    if (s == Screen::Admin && m_admin)
        m_admin->refresh();
    if (s == Screen::Qa && m_qa) {
        if (m_qa->deviceList()->rowCount() == 0 && !m_qa->deviceList()->isFetching())
            m_qa->refreshList();
        m_qa->searchField()->setFocus();
    }
    updateRoleBar();
}

bool MainWindow::openScreen(Screen s)
{
    const Role needed = s == Screen::Admin ? Role::Admin : s == Screen::Qa ? Role::Qa : Role::Operator;
    if (m_role < needed) {
        const QString what = s == Screen::Admin
            ? tr("The admin screen needs the HSM token's PIN.")
            : tr("The QA screen needs the QA passphrase (an admin signed in may open it too).");
        if ((needed == Role::Admin ? !m_admin : !m_qa) || !signIn(needed, what)) {
            updateRoleBar();
            return false;
        }
    }
    showScreen(s);
    return true;
}

template <typename T> std::optional<T> MainWindow::onBackoffice(std::function<T(core::RecordStore&)> work)
{
    // The store, scrypt and the token are off the GUI thread; this dialog's flow waits.
    std::optional<T> answer;
    QEventLoop wait;
    m_backoffice->run<T>(this, std::move(work), [&answer, &wait](T r) {
        answer = std::move(r);
        wait.quit();
    });
    if (!answer)
        wait.exec();
    return answer; // empty: the application is quitting
}

std::optional<QString> MainWindow::tokenLocked()
{
    if (!m_backoffice)
        return std::nullopt;
    auto state
        = onBackoffice<std::optional<QString>>([bo = m_backoffice](core::RecordStore&) -> std::optional<QString> {
              const core::TokenStatus t = bo->wiring().tokenStatus ? bo->wiring().tokenStatus() : core::TokenStatus {};
              if (!t.present || t.unlocked)
                  return std::nullopt;
              return bo->wiring().pinState ? bo->wiring().pinState() : QString();
          });
    return state ? *state : std::nullopt;
}

bool MainWindow::check(Role role, const Credential& c, bool unlocking)
{
    // Wrong credentials are counted per role in the store (a restart keeps them) and earn a
    // growing pause (SignInAttempts); under a pause nothing is checked, and a PIN never
    // reaches the token except in the explicit act of unlocking it.
    auto secret = std::make_shared<core::Secret>(QByteArray(c.secret.data(), c.secret.size()));
    const QString key = role == Role::Admin ? QStringLiteral("admin") : QStringLiteral("qa");
    // As the station service's client the service checks it, counts it and records it.
    auto outcome = !m_backoffice ? m_lineSource->signIn(key, *secret, c.person)
                                 : onBackoffice<core::SignInOutcome>([bo = m_backoffice, secret, key, unlocking,
                                                                         person = c.person](core::RecordStore& store) {
                                       return bo->checkCredential(store, key, *secret, person, unlocking);
                                   });
    if (!outcome)
        return false; // the application is quitting
    const QString local = outcome->state.pausedUntil.toLocalTime().toString(QStringLiteral("HH:mm:ss"));
    if (outcome->paused) {
        statusBar()->showMessage(tr("%1 sign-in is paused until %2 after %3 wrong attempts in a row; nothing was "
                                    "checked. Wait, or ask another %1.")
                                     .arg(roleName(role), local)
                                     .arg(outcome->state.failures),
            15000);
        return false;
    }
    if (!outcome->ok) {
        statusBar()->showMessage(outcome->ok.error().message, 15000);
        return false;
    }
    if (!*outcome->ok) {
        QString message
            = role == Role::Admin ? tr("That is not the token's PIN.") : tr("That is not the QA passphrase.");
        if (outcome->state.pausedUntil.isValid())
            message += u' '
                + tr("%1 wrong in a row: %2 sign-in is paused until %3.")
                      .arg(outcome->state.failures)
                      .arg(roleName(role), local);
        statusBar()->showMessage(message, 15000);
        return false;
    }
    return true;
}

bool MainWindow::signIn(Role role, const QString& what)
{
    // With the token locked the admin's PIN can only be tried at the token itself: signing
    // in is then the explicit act of unlocking it, said as such, with what the token reports
    // of its tries.
    bool unlocking = false;
    QString text = what;
    if (role == Role::Admin) {
        if (const auto locked = tokenLocked()) {
            unlocking = true;
            text = tr("The HSM is locked. Signing in unlocks it: the PIN goes to the token itself, and a wrong one "
                      "costs one of its tries. %1")
                       .arg(locked->isEmpty() ? tr("The token reports no wrong PINs so far.")
                                              : tr("The token reports: %1").arg(*locked));
        }
    }
    std::optional<Credential> c;
    if (m_prompt) {
        c = m_prompt(role, text);
    } else {
        SignInDialog dialog(unlocking ? tr("Unlock the HSM") : tr("Sign in as %1").arg(roleName(role)), text,
            role == Role::Admin ? tr("Token PIN") : tr("QA passphrase"), this);
        if (auto a = dialog.ask(m_person))
            c = Credential { a->person, std::move(a->credential) };
    }
    if (!c)
        return false;
    // The admin's PIN also opens the QA screen; QA's passphrase only that.
    const Role as = role == Role::Qa && check(Role::Qa, *c)        ? Role::Qa
        : role == Role::Admin && check(Role::Admin, *c, unlocking) ? Role::Admin
                                                                   : Role::Operator;
    if (as == Role::Operator)
        return false;
    m_role = as;
    m_person = c->person;
    m_idle.restart();
    if (m_backoffice)
        m_backoffice->audit(this, core::AuditKind::Login, m_person,
            unlocking ? tr("unlocked the HSM and signed in as %1").arg(roleName(as))
                      : tr("signed in as %1").arg(roleName(as)),
            m_person);
    statusBar()->showMessage(tr("%1 signed in as %2.").arg(m_person, roleName(as)), 8000);
    if (unlocking)
        refreshHealth();
    updateRoleBar();
    emit roleChanged(m_role);
    return true;
}

void MainWindow::signOut(const QString& why)
{
    if (m_role == Role::Operator)
        return;
    if (m_backoffice)
        m_backoffice->audit(
            this, core::AuditKind::Login, m_person, tr("%1 role ended: %2").arg(roleName(m_role), why), m_person);
    else
        m_lineSource->signOut();
    statusBar()->showMessage(tr("The %1 role of %2 ended: %3.").arg(roleName(m_role), m_person, why), 15000);
    m_role = Role::Operator;
    m_person.clear();
    showScreen(Screen::Line);
    emit roleChanged(m_role);
}

QString MainWindow::confirmPerson(const QString& what)
{
    if (m_role == Role::Operator)
        return {};
    std::optional<Credential> c;
    const Role role = m_role;
    const QString text
        = tr("%1: confirm with your %2.").arg(what, role == Role::Admin ? tr("token PIN") : tr("QA passphrase"));
    if (m_prompt) {
        c = m_prompt(role, text);
    } else {
        SignInDialog dialog(what, text, role == Role::Admin ? tr("Token PIN") : tr("QA passphrase"), this);
        if (auto a = dialog.ask(m_person))
            c = Credential { a->person, std::move(a->credential) };
    }
    if (!c || !check(role, *c))
        return {};
    return c->person;
}

bool MainWindow::eventFilter(QObject* watched, QEvent* event)
{
    const QEvent::Type t = event->type();
    if (t == QEvent::KeyPress || t == QEvent::MouseButtonPress || t == QEvent::Wheel)
        m_idle.restart();
    if (t != QEvent::KeyPress || !watched->isWidgetType())
        return QMainWindow::eventFilter(watched, event);
    auto* w = static_cast<QWidget*>(watched);
    // Only keys meant for this window, and not for a field a person types in.
    if (w->window() != this || takesText(w) || QApplication::activeModalWidget())
        return QMainWindow::eventFilter(watched, event);
    auto* key = static_cast<QKeyEvent*>(event);
    if (key->modifiers() & (Qt::ControlModifier | Qt::AltModifier | Qt::MetaModifier))
        return QMainWindow::eventFilter(watched, event);
    if (m_scanClock.restart() > 2000)
        m_scanBuffer.clear(); // a lone key long ago is not part of this scan
    if (key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) {
        if (m_scanBuffer.isEmpty())
            return QMainWindow::eventFilter(watched, event);
        const QString scanned = m_scanBuffer.trimmed();
        m_scanBuffer.clear();
        routeScan(scanned);
        return true;
    }
    const QString text = key->text();
    if (text.size() == 1 && text.at(0).isPrint() && text.at(0) != u' ') {
        m_scanBuffer += text;
        return true;
    }
    return QMainWindow::eventFilter(watched, event);
}

void MainWindow::routeScan(const QString& text)
{
    if (text.isEmpty())
        return;
    if (screen() != Screen::Qa && m_lineSource->awaitingSerial() >= 0) {
        takeScannedSerial(text);
        return;
    }
    if (m_qa && m_role >= Role::Qa) {
        showScreen(Screen::Qa);
        m_qa->showDevice(text);
        return;
    }
    statusBar()->showMessage(
        tr("%1 was scanned, but no slot is waiting for a label. QA can look it up on the QA screen.").arg(text), 10000);
}

int MainWindow::selectedSlot() const
{
    const int row = m_line->selectedRow();
    return row >= 0 && row < m_lineSource->slotCount() ? row : -1;
}

bool MainWindow::takeScannedSerial(const QString& label)
{
    if (label.isEmpty())
        return false;
    int row = selectedSlot();
    if (row < 0 || m_lineSource->slotAt(row).step != core::SlotJob::Step::AwaitingSerial)
        row = m_lineSource->awaitingSerial();
    if (row < 0) {
        statusBar()->showMessage(tr("No device is waiting for a serial label."), 8000);
        return false;
    }
    if (auto r = m_lineSource->assignSerial(row, label); !r) {
        statusBar()->showMessage(r.error().message, 8000);
        return false;
    }
    statusBar()->showMessage(tr("Serial %1 given to slot %2.").arg(label, m_model->line().slotName(row)), 5000);
    return true;
}

void MainWindow::retrySelected()
{
    if (const int row = selectedSlot(); row >= 0)
        m_lineSource->retry(row);
    else
        statusBar()->showMessage(tr("Click a slot first, then Retry."), 5000);
}

void MainWindow::abortSelected()
{
    if (const int row = selectedSlot(); row >= 0)
        m_lineSource->abort(row);
    else
        statusBar()->showMessage(tr("Click a slot first, then Abort."), 5000);
}

void MainWindow::changeOperator()
{
    bool ok = false;
    const QString name = QInputDialog::getText(this, tr("Change operator"),
        tr("The operator taking over (scan your badge or type your name):"), QLineEdit::Normal, QString(), &ok)
                             .trimmed();
    if (ok && !name.isEmpty())
        m_lineSource->setOperator(name);
}

} // namespace imprint::ui
