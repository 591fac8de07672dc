#include "AdminScreen.h"

#include "pki/CertificateProfile.h"
#include "pki/OpenSsl.h"
#include "pki/Passphrase.h"

#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <openssl/x509.h>

namespace imprint::ui {

namespace {

QString when(const QDateTime& t)
{
    return t.isValid() ? QLocale().toString(t.toLocalTime(), QStringLiteral("yyyy-MM-dd HH:mm")) : QStringLiteral("—");
}

} // namespace

AdminScreen::AdminScreen(core::Backoffice* backoffice, QWidget* parent)
    : QWidget(parent)
    , m_backoffice(backoffice)
    , m_ca(new QTextBrowser(this))
    , m_lots(new QTableWidget(0, 5, this))
    , m_upstream(new QLabel(this))
    , m_auditVerdict(new QLabel(this))
    , m_progress(new QProgressBar(this))
    , m_cancel(new QPushButton(tr("Cancel"), this))
    , m_audit(new QTableWidget(0, 6, this))
    , m_profiles(new QTextBrowser(this))
{
    auto* tabs = new QTabWidget(this);

    // The CA.
    auto* caPage = new QWidget(this);
    auto* caLayout = new QVBoxLayout(caPage);
    auto* crl = new QPushButton(tr("Issue a CRL now"), caPage);
    auto* lock = new QPushButton(tr("Lock the HSM"), caPage);
    auto* passphrase = new QPushButton(tr("Set the QA passphrase…"), caPage);
    connect(crl, &QPushButton::clicked, this, &AdminScreen::issueCrl);
    connect(lock, &QPushButton::clicked, this, &AdminScreen::lockRequested);
    connect(passphrase, &QPushButton::clicked, this, [this] {
        bool ok = false;
        const QString first = QInputDialog::getText(this, tr("QA passphrase"),
            tr("The passphrase QA signs in with (at least 8 characters):"), QLineEdit::Password, QString(), &ok);
        if (!ok)
            return;
        const QString again = QInputDialog::getText(
            this, tr("QA passphrase"), tr("The same passphrase again:"), QLineEdit::Password, QString(), &ok);
        if (!ok)
            return;
        if (!signedIn())
            return;
        if (first != again || first.size() < 8) {
            emit status(first != again
                    ? tr("The two passphrases differ; nothing was changed.")
                    : tr("The passphrase is too short (at least 8 characters); nothing was changed."));
            return;
        }
        setQaPassphrase(first, person ? person() : QString());
    });
    auto* caButtons = new QHBoxLayout;
    caButtons->addWidget(crl);
    caButtons->addWidget(passphrase);
    caButtons->addStretch();
    caButtons->addWidget(lock);
    caLayout->addLayout(caButtons);
    caLayout->addWidget(m_ca, 1);
    tabs->addTab(caPage, tr("CA and HSM"));

    // Lots.
    auto* lotsPage = new QWidget(this);
    auto* lotsLayout = new QVBoxLayout(lotsPage);
    m_lots->setHorizontalHeaderLabels({ tr("Lot"), tr("Profile"), tr("Progress"), tr("Failed"), tr("Note") });
    m_lots->horizontalHeader()->setStretchLastSection(true);
    m_lots->verticalHeader()->hide();
    m_lots->setEditTriggers(QAbstractItemView::NoEditTriggers);
    auto* newLot = new QPushButton(tr("New lot…"), lotsPage);
    connect(newLot, &QPushButton::clicked, this, [this] {
        QDialog d(this);
        d.setWindowTitle(tr("New lot"));
        auto* id = new QLineEdit(&d);
        auto* profile = new QLineEdit(QStringLiteral("idevid"), &d);
        auto* expected = new QSpinBox(&d);
        expected->setRange(1, 10000000);
        expected->setValue(1000);
        auto* note = new QLineEdit(&d);
        auto* form = new QFormLayout(&d);
        form->addRow(tr("Lot (work order)"), id);
        form->addRow(tr("Profile"), profile);
        form->addRow(tr("Devices expected"), expected);
        form->addRow(tr("Note"), note);
        auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &d);
        form->addRow(buttons);
        connect(buttons, &QDialogButtonBox::accepted, &d, &QDialog::accept);
        connect(buttons, &QDialogButtonBox::rejected, &d, &QDialog::reject);
        if (d.exec() != QDialog::Accepted || id->text().trimmed().isEmpty() || !signedIn())
            return;
        core::Lot lot { id->text().trimmed(), profile->text().trimmed(), expected->value(), note->text(), {},
            m_backoffice->config().stationName, person ? person() : QString(), {} };
        m_backoffice->run<core::Result<void>>(
            this,
            [lot, dir = m_backoffice->dir()](core::RecordStore& store) -> core::Result<void> {
                if (auto p = core::CertificateProfile::load(lot.profile, dir.profileDir()); !p)
                    return std::unexpected(p.error());
                return store.lots().create(lot);
            },
            [this, lot](core::Result<void> r) {
                emit status(r ? tr("Lot %1 created.").arg(lot.id) : r.error().message);
                refresh();
            });
    });
    auto* closeLot = new QPushButton(tr("Close the selected lot…"), lotsPage);
    connect(closeLot, &QPushButton::clicked, this, [this] {
        const int row = m_lots->currentRow();
        if (row < 0 || !m_lots->item(row, 0)) {
            emit status(tr("Select a lot first."));
            return;
        }
        const QString id = m_lots->item(row, 0)->text();
        if (QMessageBox::question(this, tr("Close lot %1").arg(id),
                tr("Close lot %1? The station then takes no more devices for it; its records stay.").arg(id))
                != QMessageBox::Yes
            || !signedIn())
            return;
        closeLotNamed(id);
    });
    auto* lotButtons = new QHBoxLayout;
    lotButtons->addWidget(newLot);
    lotButtons->addWidget(closeLot);
    lotButtons->addStretch();
    lotsLayout->addLayout(lotButtons);
    lotsLayout->addWidget(m_lots, 1);
    tabs->addTab(lotsPage, tr("Lots"));

    // Profiles, read only: the built-in one and those in the data directory.
    m_profiles->setReadOnly(true);
    tabs->addTab(m_profiles, tr("Profiles"));

    // The upstream.
    auto* upPage = new QWidget(this);
    auto* upLayout = new QVBoxLayout(upPage);
    m_upstream->setWordWrap(true);
    m_upstream->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* sync = new QPushButton(tr("Sync now"), upPage);
    auto* exportButton = new QPushButton(tr("Export a batch…"), upPage);
    auto* importButton = new QPushButton(tr("Import an answer…"), upPage);
    connect(sync, &QPushButton::clicked, this, [this] {
        if (syncNow) {
            syncNow();
            emit status(tr("A sync round was asked for; the health strip shows how it went."));
        }
    });
    connect(exportButton, &QPushButton::clicked, this, [this] {
        const QString folder
            = QFileDialog::getExistingDirectory(this, tr("Where to write the batch (e.g. a USB stick)"));
        if (!folder.isEmpty() && signedIn())
            exportTo(folder + QStringLiteral("/imprint-batch-")
                + QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMdd-HHmmss")));
    });
    connect(importButton, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(
            this, tr("The upstream's answer"), QString(), tr("Certificates (*.p7b *.p7c *.pem *.crt)"));
        if (!file.isEmpty() && signedIn())
            importFrom(file);
    });
    auto* upButtons = new QHBoxLayout;
    upButtons->addWidget(sync);
    upButtons->addWidget(exportButton);
    upButtons->addWidget(importButton);
    upButtons->addStretch();
    upLayout->addLayout(upButtons);
    upLayout->addWidget(m_upstream);
    upLayout->addStretch();
    tabs->addTab(upPage, tr("Upstream"));

    // The audit log.
    auto* auditPage = new QWidget(this);
    auto* auditLayout = new QVBoxLayout(auditPage);
    auto* verify = new QPushButton(tr("Verify the audit log"), auditPage);
    connect(verify, &QPushButton::clicked, this, &AdminScreen::verifyAudit);
    auto* older = new QPushButton(tr("First page"), auditPage);
    auto* newer = new QPushButton(tr("Next page"), auditPage);
    connect(older, &QPushButton::clicked, this, [this] { showAuditPage(0); });
    connect(newer, &QPushButton::clicked, this, [this] { showAuditPage(m_auditAfter); });
    m_auditVerdict->setWordWrap(true);
    m_audit->setHorizontalHeaderLabels({ tr("#"), tr("When"), tr("Station"), tr("Who"), tr("What"), tr("Detail") });
    m_audit->horizontalHeader()->setStretchLastSection(true);
    m_audit->verticalHeader()->hide();
    m_audit->setEditTriggers(QAbstractItemView::NoEditTriggers);
    auto* auditButtons = new QHBoxLayout;
    auditButtons->addWidget(verify);
    auditButtons->addStretch();
    auditButtons->addWidget(older);
    auditButtons->addWidget(newer);
    auditLayout->addLayout(auditButtons);
    auditLayout->addWidget(m_auditVerdict);
    auditLayout->addWidget(m_audit, 1);
    tabs->addTab(auditPage, tr("Audit log"));

    m_progress->hide();
    m_cancel->hide();
    connect(m_cancel, &QPushButton::clicked, this, [this] { m_backoffice->cancel(); });
    auto* progress = new QHBoxLayout;
    progress->addWidget(m_progress, 1);
    progress->addWidget(m_cancel);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(tabs, 1);
    layout->addLayout(progress);
}

bool AdminScreen::signedIn()
{
    // A dialog left open while the role ended (idle) must not act for no one.
    if (person && !person().isEmpty())
        return true;
    emit status(tr("The admin role ended while the dialog was open: nothing was done."));
    return false;
}

void AdminScreen::busy(bool on)
{
    m_busy += on ? 1 : -1;
    m_progress->setVisible(m_busy > 0);
    if (m_busy > 0 && m_progress->maximum() != 0)
        m_progress->setRange(0, 0); // busy until told how far
    if (m_busy == 0)
        m_cancel->hide();
}

QString AdminScreen::upstreamText() const
{
    return m_upstream->text();
}

QString AdminScreen::auditVerdictText() const
{
    return m_auditVerdict->text();
}

void AdminScreen::refresh()
{
    // The CA as the token and the chain say, and the profiles as the station reads them (a
    // broken file says why): token calls and files, read on the back office's thread.
    m_backoffice->run<std::pair<QString, QString>>(
        this,
        [bo = m_backoffice](core::RecordStore&) {
            QString h = QStringLiteral("<h3>%1</h3><table>").arg(tr("The CA key, as the token reports it"));
            auto attributes = bo->wiring().keyAttributes ? bo->wiring().keyAttributes()
                                                         : core::Result<QList<QPair<QString, QString>>> {};
            if (!attributes)
                h += QStringLiteral("<tr><td>%1</td></tr>").arg(attributes.error().message.toHtmlEscaped());
            else
                for (const auto& [k, v] : *attributes) {
                    // The token's flags in the window's language; the names stay PKCS#11's.
                    const QString value = v == QLatin1String("yes") ? tr("yes")
                        : v == QLatin1String("no")                  ? tr("no")
                                                                    : v;
                    const QString key = k == QLatin1String("Algorithm") ? tr("Algorithm") : k;
                    h += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>")
                             .arg(key.toHtmlEscaped(), value.toHtmlEscaped());
                }
            h += QStringLiteral("</table><h3>%1</h3>").arg(tr("Chain"));
            auto chain = bo->dir().loadChain();
            if (chain) {
                for (const QByteArray& der : *chain) {
                    auto c = core::ossl::certFromDer(der);
                    if (!c)
                        continue;
                    h += QStringLiteral("<p><b>%1</b><br>%2 %3<br>%4 %5 – %6<br>SHA-256 %7</p>")
                             .arg(core::ossl::nameToString(X509_get_subject_name(c->get())).toHtmlEscaped(),
                                 tr("issued by"),
                                 core::ossl::nameToString(X509_get_issuer_name(c->get())).toHtmlEscaped(), tr("valid"),
                                 core::ossl::timeToIso(X509_get0_notBefore(c->get())),
                                 core::ossl::timeToIso(X509_get0_notAfter(c->get())), core::ossl::sha256Hex(der));
                }
            } else {
                h += QStringLiteral("<p>%1</p>").arg(chain.error().message.toHtmlEscaped());
            }
            QString profiles = QStringLiteral("<h3>idevid</h3><p>%1</p><pre>%2</pre>")
                                   .arg(tr("built in"),
                                       QString::fromUtf8(QJsonDocument(core::CertificateProfile::idevid().toJson())
                                                             .toJson(QJsonDocument::Indented))
                                           .toHtmlEscaped());
            const QString profileDir = bo->dir().profileDir();
            for (const QFileInfo& f :
                QDir(profileDir).entryInfoList({ QStringLiteral("*.json") }, QDir::Files, QDir::Name)) {
                auto profile = core::CertificateProfile::load(f.completeBaseName(), profileDir);
                profiles += QStringLiteral("<h3>%1</h3><p>%2</p>")
                                .arg(f.completeBaseName().toHtmlEscaped(), f.filePath().toHtmlEscaped());
                profiles += profile
                    ? QStringLiteral("<pre>%1</pre>")
                          .arg(QString::fromUtf8(QJsonDocument(profile->toJson()).toJson(QJsonDocument::Indented))
                                   .toHtmlEscaped())
                    : QStringLiteral("<p>✖ %1</p>").arg(profile.error().message.toHtmlEscaped());
            }
            return std::pair { h, profiles };
        },
        [this](std::pair<QString, QString> html) {
            m_ca->setHtml(html.first);
            m_profiles->setHtml(html.second);
        });

    m_backoffice->lots(this, [this](core::Result<QList<core::LotProgress>> lots) {
        m_lots->setRowCount(0);
        if (!lots) {
            emit status(lots.error().message);
            return;
        }
        for (const core::LotProgress& l : *lots) {
            const int r = m_lots->rowCount();
            m_lots->insertRow(r);
            m_lots->setItem(r, 0, new QTableWidgetItem(l.lot.id));
            m_lots->setItem(r, 1, new QTableWidgetItem(l.lot.profile));
            auto* bar = new QProgressBar(m_lots);
            bar->setRange(0, std::max(1, l.lot.expected));
            bar->setValue(std::min(l.passed, l.lot.expected));
            bar->setFormat(l.lot.closed.isValid() ? tr("%1 of %2 passed (closed)").arg(l.passed).arg(l.lot.expected)
                                                  : tr("%1 of %2 passed").arg(l.passed).arg(l.lot.expected));
            m_lots->setCellWidget(r, 2, bar);
            m_lots->setItem(r, 3, new QTableWidgetItem(QString::number(l.failed)));
            m_lots->setItem(r, 4, new QTableWidgetItem(l.lot.note));
        }
        m_lots->resizeColumnsToContents();
    });

    m_backoffice->health(this, [this](core::StationHealth h) {
        QStringList lines;
        if (!h.upstreamConfigured)
            lines << tr("No upstream is set up ([upstream] url): records leave the station in offline batches.");
        else
            lines << tr("Upstream: %1").arg(m_backoffice->config().upstream.url);
        lines << tr("Last attempt: %1; last reached: %2").arg(when(h.contact.attempted), when(h.contact.reached));
        if (!h.contact.lastError.isEmpty())
            lines << tr("Last error: %1").arg(h.contact.plainError());
        if (!h.contact.errorDetail().isEmpty())
            lines << tr("Detail: %1").arg(h.contact.errorDetail());
        lines << tr("%n record(s) not yet confirmed by the upstream", nullptr, static_cast<int>(h.upstreamOpen));
        if (h.oldestUnsynced)
            lines << tr("Oldest unsynced record from %1").arg(when(*h.oldestUnsynced));
        if (h.upstreamRejected > 0)
            lines << tr("%n refused by the upstream: see imprintctl outbox --state rejected", nullptr,
                static_cast<int>(h.upstreamRejected));
        m_upstream->setText(lines.join(u'\n'));
    });
    showAuditPage(m_auditAfter > 0 ? std::max<qint64>(0, m_auditAfter - 200) : 0);
}

void AdminScreen::closeLotNamed(const QString& id)
{
    m_backoffice->run<core::Result<void>>(
        this,
        [bo = m_backoffice, id, who = person ? person() : QString()](
            core::RecordStore& store) { return store.lots().close(id, bo->config().stationName, who); },
        [this, id](core::Result<void> r) {
            emit status(
                r ? tr("Lot %1 is closed: the station takes no more devices for it.").arg(id) : r.error().message);
            emit finishedWork(QStringLiteral("lot-closed"));
            refresh();
        });
}

void AdminScreen::showAuditPage(qint64 after)
{
    m_backoffice->run<core::Result<QList<core::AuditEntry>>>(
        this, [after](core::RecordStore& store) { return store.audit().entries(after, 200); },
        [this, after](core::Result<QList<core::AuditEntry>> page) {
            if (!page) {
                emit status(page.error().message);
                return;
            }
            if (page->isEmpty() && after > 0)
                return; // the end: stay on the last page
            m_audit->setRowCount(0);
            for (const core::AuditEntry& e : *page) {
                const int r = m_audit->rowCount();
                m_audit->insertRow(r);
                const QStringList cells { QString::number(e.seq), e.at, e.station, e.operatorName,
                    e.kind + QLatin1Char(' ') + e.subject, e.detail };
                for (int c = 0; c < cells.size(); ++c)
                    m_audit->setItem(r, c, new QTableWidgetItem(cells.at(c)));
            }
            m_auditAfter = page->isEmpty() ? after : page->last().seq;
        });
}

void AdminScreen::verifyAudit()
{
    busy(true);
    m_cancel->show();
    m_auditVerdict->setText(tr("Checking the audit log…"));
    m_backoffice->verifyAudit(
        this,
        [this](qint64 checked, qint64 newest) {
            m_progress->setRange(0, static_cast<int>(std::min<qint64>(newest, INT_MAX)));
            m_progress->setValue(static_cast<int>(std::min<qint64>(checked, INT_MAX)));
            m_progress->setFormat(tr("%1 of %2 entries checked").arg(checked).arg(newest));
        },
        [this](core::Result<core::AuditVerdict> v) {
            busy(false);
            if (!v)
                m_auditVerdict->setText(v.error().code == core::ErrorCode::Cancelled
                        ? tr("The check was stopped; nothing was found wrong in the part checked.")
                        : tr("✖ The audit log could not be checked: %1").arg(v.error().message));
            else if (v->problem.isEmpty() && !v->signaturesChecked)
                // Fails closed: a chain anyone can recompute is not a verified log.
                m_auditVerdict->setText(tr("✖ The audit log could not be verified: the station's audit key could not "
                                           "be read, so its %n signed checkpoint(s) were not checked.",
                    nullptr, static_cast<int>(v->checkpoints)));
            else if (v->problem.isEmpty())
                m_auditVerdict->setText(
                    tr("✔ The audit log is intact: %n entries, each following the one before, and every certificate "
                       "it names as recorded.",
                        nullptr, static_cast<int>(v->entries))
                    + tr(" %n signed checkpoint(s) verified.", nullptr, static_cast<int>(v->checkpoints))
                    + (v->unsealed() > 0 ? tr(" %n newest entries are not under a checkpoint yet.", nullptr,
                           static_cast<int>(v->unsealed()))
                                         : QString()));
            else
                m_auditVerdict->setText(
                    tr("✖ The audit log is damaged at entry %1: %2").arg(v->firstBadEntry).arg(v->problem));
            emit finishedWork(QStringLiteral("audit"));
        });
}

void AdminScreen::issueCrl()
{
    busy(true);
    m_backoffice->run<core::Result<core::PublishedCrl>>(
        this,
        [bo = m_backoffice](core::RecordStore& store) -> core::Result<core::PublishedCrl> {
            if (!bo->wiring().issueCrl)
                return core::fail(core::ErrorCode::Hsm, tr("This station cannot sign a CRL from the window."));
            return bo->wiring().issueCrl(store);
        },
        [this](core::Result<core::PublishedCrl> crl) {
            busy(false);
            emit status(crl ? tr("CRL %1 signed: %n certificate(s) listed, next update %2.", nullptr, crl->entries)
                                  .arg(crl->number)
                                  .arg(when(crl->nextUpdate))
                            : crl.error().message);
            emit finishedWork(QStringLiteral("crl"));
        });
}

void AdminScreen::exportTo(const QString& folder)
{
    busy(true);
    m_backoffice->exportBatch(
        this, folder, person ? person() : QString(),
        [this](int written, int rows) {
            m_progress->setRange(0, std::max(1, rows));
            m_progress->setValue(written);
            m_progress->setFormat(tr("%1 of %2 records written").arg(written).arg(rows));
        },
        [this, folder](core::Result<core::ExportReport> r) {
            busy(false);
            emit status(r ? tr("Batch %1 written to %2: %3, %4.")
                                .arg(r->batch, folder, tr("%n certificate request(s)", nullptr, r->certificates),
                                    tr("%n revocation(s)", nullptr, r->revocations))
                          : r.error().message);
            emit finishedWork(QStringLiteral("export"));
            refresh();
        });
}

void AdminScreen::importFrom(const QString& path)
{
    busy(true);
    m_backoffice->run<core::Result<core::ImportReport>>(
        this,
        [bo = m_backoffice, path, who = person ? person() : QString()](
            core::RecordStore& store) -> core::Result<core::ImportReport> {
            if (!bo->wiring().upstreamAnchors)
                return core::fail(core::ErrorCode::BadInput, tr("No upstream trust anchors are set up."));
            auto anchors = bo->wiring().upstreamAnchors();
            if (!anchors)
                return std::unexpected(anchors.error());
            return core::importAnswers(store, *anchors, { path }, bo->config().stationName, who);
        },
        [this](core::Result<core::ImportReport> r) {
            busy(false);
            emit status(r ? tr("%1, %2 already on record, %3, %4 refused.%5")
                                .arg(tr("%n certificate(s) recorded", nullptr, r->recorded))
                                .arg(r->already)
                                .arg(tr("%n revocation(s) ended", nullptr, r->revoked))
                                .arg(r->refused.size())
                                .arg(r->refused.isEmpty() ? QString() : QStringLiteral(" ") + r->refused.join(u' '))
                          : r.error().message);
            emit finishedWork(QStringLiteral("import"));
            refresh();
        });
}

void AdminScreen::setQaPassphrase(const QString& passphrase, const QString& who)
{
    auto secret = std::make_shared<core::Secret>(passphrase.toUtf8());
    m_backoffice->run<core::Result<void>>(
        this,
        [bo = m_backoffice, secret, who](core::RecordStore& store) -> core::Result<void> {
            auto hash = core::hashPassphrase(*secret);
            secret->wipe();
            if (!hash)
                return std::unexpected(hash.error());
            if (auto r = core::DataDir::writePrivateFile(bo->dir().qaPassphraseFile(), *hash + '\n'); !r)
                return r;
            return store.audit().append(core::AuditKind::Setting, QStringLiteral("qa-passphrase"),
                QStringLiteral("the QA passphrase was set"), bo->config().stationName, who);
        },
        [this](core::Result<void> r) {
            emit status(r ? tr("The QA passphrase is set (kept as a salted scrypt hash only).") : r.error().message);
            emit finishedWork(QStringLiteral("qa-passphrase"));
        });
}

} // namespace imprint::ui
