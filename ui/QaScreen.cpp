#include "QaScreen.h"

#include "DeviceListModel.h"
#include "PlantFigures.h"
#include "engine/Line.h"
#include "engine/PlantDesk.h"
#include "pki/OpenSsl.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateEdit>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QInputDialog>
#include <QJsonArray>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMessageBox>
#include <QPageSize>
#include <QPrinter>
#include <QPushButton>
#include <QSplitter>
#include <QTableView>
#include <QTextBrowser>
#include <QTextDocument>
#include <QVBoxLayout>

namespace imprint::ui {

namespace {

QString when(const QDateTime& t)
{
    return QLocale().toString(t.toLocalTime(), QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

QString cell(const QString& s)
{
    return QStringLiteral("<td>%1</td>").arg(s.toHtmlEscaped());
}

} // namespace

QaScreen::QaScreen(
    core::QaDesk* desk, core::Line* line, std::function<QString(const QString&)> confirm, QWidget* parent)
    : QWidget(parent)
    , m_desk(desk)
    , m_lineSource(line)
    , m_confirm(std::move(confirm))
    , m_search(new QLineEdit(this))
    , m_text(new QTextBrowser(this))
    , m_reverify(new QPushButton(tr("Re-verify"), this))
    , m_scrap(new QPushButton(tr("Scrap…"), this))
    , m_report(new QPushButton(tr("Device report (PDF)…"), this))
    , m_verdict(new QLabel(this))
    , m_prefix(new QLineEdit(this))
    , m_lot(new QLineEdit(this))
    , m_status(new QComboBox(this))
    , m_since(new QDateEdit(this))
    , m_until(new QDateEdit(this))
    , m_list(new DeviceListModel(desk, this))
    , m_view(new QTableView(this))
    , m_figuresButton(new QPushButton(tr("Plant figures…"), this))
{
    m_search->setPlaceholderText(tr("Scan or type a device serial, then Enter"));
    m_search->setClearButtonEnabled(true);
    QFont big = m_search->font();
    big.setPointSizeF(big.pointSizeF() * 1.4);
    m_search->setFont(big);
    connect(m_search, &QLineEdit::returnPressed, this, [this] { showDevice(m_search->text().trimmed()); });
    connect(m_reverify, &QPushButton::clicked, this, &QaScreen::reverifyShown);
    connect(m_scrap, &QPushButton::clicked, this, [this] { scrapShown(); });
    connect(m_report, &QPushButton::clicked, this, [this] {
        if (!m_story)
            return;
        const QString path = QFileDialog::getSaveFileName(
            this, tr("Save the device report"), m_story->device.serial + QStringLiteral(".pdf"), tr("PDF (*.pdf)"));
        if (!path.isEmpty())
            writeReport(path);
    });
    m_verdict->setWordWrap(true);
    // It may repeat what was scanned or a device's words in an error: text, never markup.
    m_verdict->setTextFormat(Qt::PlainText);

    auto* actions = new QHBoxLayout;
    actions->addWidget(m_reverify);
    actions->addWidget(m_scrap);
    actions->addWidget(m_report);
    actions->addStretch();
    actions->addWidget(m_figuresButton);
    m_figuresButton->setVisible(false);
    connect(m_figuresButton, &QPushButton::clicked, this, &QaScreen::showPlantFigures);
    auto* storyBox = new QWidget(this);
    auto* storyLayout = new QVBoxLayout(storyBox);
    storyLayout->setContentsMargins(0, 0, 0, 0);
    storyLayout->addWidget(m_search);
    storyLayout->addLayout(actions);
    storyLayout->addWidget(m_verdict);
    storyLayout->addWidget(m_text, 1);

    // The device list: filters, then the table fetched a page at a time.
    m_status->addItem(tr("any status"), QString());
    for (const QString& s : core::stateTexts<core::DeviceStatus>())
        m_status->addItem(s, s);
    // Slot runs that ended before a device was identified (no answer, broken frames, ...).
    m_status->addItem(tr("no device identified"), QStringLiteral("no-device"));
    for (QDateEdit* d : { m_since, m_until }) {
        d->setCalendarPopup(true);
        d->setDisplayFormat(QStringLiteral("yyyy-MM-dd"));
        d->setSpecialValueText(tr("any"));
        d->setMinimumDate(QDate(2000, 1, 1));
        d->setDate(d->minimumDate());
    }
    m_prefix->setPlaceholderText(tr("serial begins with"));
    m_lot->setPlaceholderText(tr("lot"));
    auto* filters = new QHBoxLayout;
    filters->addWidget(m_prefix);
    filters->addWidget(m_lot);
    filters->addWidget(m_status);
    filters->addWidget(new QLabel(tr("from"), this));
    filters->addWidget(m_since);
    filters->addWidget(new QLabel(tr("to"), this));
    filters->addWidget(m_until);
    for (QLineEdit* e : { m_prefix, m_lot })
        connect(e, &QLineEdit::editingFinished, this, &QaScreen::refreshList);
    connect(m_status, &QComboBox::currentIndexChanged, this, &QaScreen::refreshList);
    connect(m_since, &QDateEdit::dateChanged, this, &QaScreen::refreshList);
    connect(m_until, &QDateEdit::dateChanged, this, &QaScreen::refreshList);
    m_view->setModel(m_list);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    // A row with no serial is an attempt that identified no device: it has no story to open.
    auto open = [this](const QModelIndex& i) {
        if (const QString serial = m_list->device(i.row()).serial; !serial.isEmpty())
            showDevice(serial);
    };
    connect(m_view, &QTableView::activated, this, open);
    connect(m_view, &QTableView::clicked, this, open);
    connect(m_list, &DeviceListModel::failed, this, &QaScreen::status);
    auto* listBox = new QWidget(this);
    auto* listLayout = new QVBoxLayout(listBox);
    listLayout->setContentsMargins(0, 0, 0, 0);
    listLayout->addLayout(filters);
    listLayout->addWidget(m_view, 1);

    auto* split = new QSplitter(Qt::Horizontal, this);
    split->addWidget(listBox);
    split->addWidget(storyBox);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(split);
    display();
}

void QaScreen::refreshList()
{
    core::DeviceQuery q;
    q.serialPrefix = m_prefix->text().trimmed();
    q.lot = m_lot->text().trimmed();
    if (const QString s = m_status->currentData().toString(); s == QLatin1String("no-device"))
        q.noDevice = true;
    else if (!s.isEmpty())
        q.status = core::parseState<core::DeviceStatus>(s);
    if (m_since->date() > m_since->minimumDate())
        q.since = QDateTime(m_since->date(), QTime(0, 0));
    if (m_until->date() > m_until->minimumDate())
        q.until = QDateTime(m_until->date().addDays(1), QTime(0, 0));
    m_list->setQuery(q);
}

void QaScreen::showDevice(const QString& serial)
{
    if (serial.isEmpty())
        return;
    m_search->setText(serial);
    m_auditVerdict.clear();
    m_plantRecord.reset();
    m_desk->story(this, serial, [this, serial](core::Result<core::DeviceStory> story) {
        if (!story) {
            m_story.reset();
            display();
            if (story.error().code == core::ErrorCode::NotFound && m_plant)
                return lookInPlant(serial, story.error().message);
            m_verdict->setText(story.error().message);
            emit status(story.error().message);
            return;
        }
        m_story = std::move(*story);
        display();
        emit storyShown(serial);
    });
}

void QaScreen::setPlantDesk(core::PlantDesk* plant)
{
    m_plant = plant;
    m_figuresButton->setVisible(plant != nullptr);
}

void QaScreen::lookInPlant(const QString& serial, const QString& notHere)
{
    m_verdict->setText(tr("%1 Looking in the plant record…").arg(notHere));
    m_plant->plantDevice(this, serial, [this, serial](core::Result<QJsonObject> found) {
        // A later scan has the screen by now.
        if (m_search->text() != serial || m_story)
            return;
        if (!found) {
            m_verdict->setText(found.error().message);
            emit status(found.error().message);
            return;
        }
        m_plantRecord = std::move(*found);
        m_text->setHtml(plantHtml(*m_plantRecord));
        bool allGood = true;
        const QJsonArray records = (*m_plantRecord)[QStringLiteral("records")].toArray();
        for (const QJsonValue& r : records)
            for (const QJsonValue& c : r.toObject()[QStringLiteral("certificates")].toArray())
                allGood = allGood && c.toObject()[QStringLiteral("chain_verified")].toBool()
                    && c.toObject()[QStringLiteral("upstream_verified")].toBool(true);
        const QJsonObject& o = *m_plantRecord;
        const QString asOf = when(QDateTime::fromString(o[QStringLiteral("as_of")].toString(), Qt::ISODate));
        // Any station can push a record under any serial: when several did, none is the
        // device's on its word, and no tick says otherwise.
        if (records.size() > 1)
            m_verdict->setText(tr("From the plant record, as of %1: ✖ %2 stations hold a record of this serial; which "
                                  "one made the device cannot be told from here. Each is shown below.")
                                   .arg(asOf)
                                   .arg(records.size()));
        else
            m_verdict->setText(
                tr("From the plant record, as of %1: made on station %2 (line %3).")
                    .arg(asOf, o[QStringLiteral("station")].toString(), o[QStringLiteral("line")].toString())
                + QStringLiteral("  ")
                + (allGood ? tr("✔ Every certificate verifies here to a root this station trusts (strict).")
                           : tr("✖ A certificate does not verify here: see below.")));
        emit storyShown(serial);
    });
}

QString QaScreen::verdictText() const
{
    return m_verdict->text();
}

void QaScreen::showPlantFigures()
{
    if (!m_plant)
        return;
    if (!m_figures) {
        m_figures = new PlantFigures(this);
        m_figures->setWindowFlag(Qt::Window);
        m_figures->setWindowTitle(tr("Plant figures"));
        m_figures->resize(1100, 650);
    }
    m_figures->showError(tr("Reading the plant record…"));
    m_figures->QWidget::show();
    m_figures->raise();
    m_plant->plantFigures(this, [this](core::Result<QJsonObject> figures) {
        if (figures)
            m_figures->setFigures(*figures);
        else
            m_figures->showError(figures.error().message);
    });
}

QString QaScreen::plantHtml(const QJsonObject& device) const
{
    // Everything here is a station's own words, read from the plant: escaped, every one.
    auto value = [](const QJsonObject& o, const char* key) {
        const QJsonValue v = o[QLatin1String(key)];
        return (v.isString()   ? v.toString()
                : v.isDouble() ? QString::number(v.toInteger())
                               : QString())
            .toHtmlEscaped();
    };
    // A time as the station wrote it (UTC, ISO 8601), shown as every time here is.
    auto time = [&value](const QJsonObject& o, const char* key) {
        const QDateTime t = QDateTime::fromString(o[QLatin1String(key)].toString(), Qt::ISODateWithMs);
        return t.isValid() ? when(t) : value(o, key);
    };
    const QJsonArray records = device[QStringLiteral("records")].toArray();
    QString h = QStringLiteral("<h2>%1</h2>").arg(m_search->text().toHtmlEscaped());
    h += QStringLiteral("<p><b>%1</b></p>")
             .arg(tr("Read from the plant record, as of %1. This station did not make this device.")
                      .arg(when(QDateTime::fromString(device[QStringLiteral("as_of")].toString(), Qt::ISODate)))
                      .toHtmlEscaped());
    if (records.size() > 1)
        h += QStringLiteral("<p><b>%1</b></p>")
                 .arg(tr("⚠ %n stations hold a record of this serial; each is shown, the one heard from last first.",
                     nullptr, static_cast<int>(records.size()))
                          .toHtmlEscaped());
    for (const QJsonValue& rv : records) {
        const QJsonObject r = rv.toObject();
        const QJsonObject d = r[QStringLiteral("device")].toObject();
        h += QStringLiteral("<h3>%1</h3><table cellspacing=0 cellpadding=2>")
                 .arg(tr("Station %1, line %2").arg(value(r, "station"), value(r, "line")));
        auto row = [&h](const QString& k, const QString& escaped) {
            h += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(k.toHtmlEscaped(), escaped);
        };
        row(tr("Status"), value(d, "status") + QStringLiteral(" ") + value(d, "status_reason"));
        row(tr("Lot"), value(d, "lot"));
        row(tr("Model"), value(d, "model"));
        row(tr("Firmware"), value(d, "firmware"));
        row(tr("Last heard from"), time(r, "received"));
        h += QStringLiteral("</table>");
        for (const QJsonValue& cv : r[QStringLiteral("certificates")].toArray()) {
            const QJsonObject c = cv.toObject();
            h += QStringLiteral("<p><b>%1</b> — %2, %3<br>%4<br>%5</p>")
                     .arg(value(c, "serial"), value(c, "state"), time(c, "issued_at"),
                         c[QStringLiteral("chain_verified")].toBool()
                             ? tr("✔ chain verifies here (strict)").toHtmlEscaped()
                             : tr("✖ chain: %1").arg(c[QStringLiteral("chain_problem")].toString()).toHtmlEscaped(),
                         (!c.contains(QStringLiteral("upstream_verified")) ? tr("Upstream: not yet")
                                 : c[QStringLiteral("upstream_verified")].toBool()
                                 ? tr("Upstream: certified (verified here)")
                                 : tr("✖ Upstream certificate NOT verified: %1")
                                       .arg(c[QStringLiteral("upstream_problem")].toString()))
                             .toHtmlEscaped());
        }
        h += QStringLiteral("<table border=1 cellspacing=0 cellpadding=3><tr><th>%1</th><th>%2</th><th>%3</th>"
                            "<th>%4</th></tr>")
                 .arg(tr("When"), tr("Job"), tr("Step"), tr("Detail"));
        for (const QJsonValue& jv : r[QStringLiteral("jobs")].toArray()) {
            const QJsonObject j = jv.toObject();
            h += QStringLiteral("<tr><td>%1</td><td>%2</td><td><b>%3</b></td><td>%4</td></tr>")
                     .arg(value(j, "finished").isEmpty() ? time(j, "started") : time(j, "finished"), value(j, "id"),
                         value(j, "result").isEmpty() ? tr("unfinished").toHtmlEscaped() : value(j, "result"),
                         value(j, "reason"));
            for (const QJsonValue& sv : j[QStringLiteral("steps")].toArray()) {
                const QJsonObject st = sv.toObject();
                h += QStringLiteral("<tr><td>%1</td><td>%2</td><td>%3 %4</td><td>%5</td></tr>")
                         .arg(time(st, "at"), value(j, "id"), value(st, "step"), value(st, "status"),
                             value(st, "detail"));
            }
        }
        h += QStringLiteral("</table>");
    }
    return h;
}

QString QaScreen::storyText() const
{
    return m_text->toPlainText();
}

void QaScreen::display()
{
    m_reverify->setEnabled(m_story.has_value());
    m_scrap->setEnabled(m_story && m_story->device.status != core::DeviceStatus::Scrapped);
    m_report->setEnabled(m_story.has_value());
    if (!m_story) {
        m_text->setHtml(tr("<p>Scan a device's label, type its serial, or pick it in the list.</p>"));
        m_verdict->clear();
        return;
    }
    m_text->setHtml(storyHtml(*m_story));
    bool allGood = true;
    for (const core::CertificateStory& c : m_story->certificates) {
        if (c.record.state != core::CertificateState::Superseded && c.record.state != core::CertificateState::Revoked)
            allGood = allGood && c.chainVerified;
    }
    QString verdict = allGood ? tr("✔ Every certificate in use verifies to the station's root (strict).")
                              : tr("✖ A certificate in use does not verify: see below.");
    if (!m_auditVerdict.isEmpty())
        verdict += QStringLiteral("  ") + m_auditVerdict;
    m_verdict->setText(verdict);
}

QString QaScreen::storyHtml(const core::DeviceStory& s) const
{
    const core::DeviceRecord& d = s.device;
    QString h;
    h += QStringLiteral("<h2>%1</h2>").arg(d.serial.toHtmlEscaped());
    h += QStringLiteral("<table cellspacing=0 cellpadding=2>");
    auto row = [&h](const QString& k, const QString& v) {
        h += QStringLiteral("<tr><td><b>%1</b></td>%2</tr>").arg(k.toHtmlEscaped(), cell(v));
    };
    row(tr("Status"), text(d.status) + (d.statusReason.isEmpty() ? QString() : QStringLiteral(" — ") + d.statusReason));
    row(tr("Lot"), d.lot.isEmpty() ? tr("none") : d.lot);
    row(tr("Model"), d.model);
    row(tr("Firmware"), d.firmware);
    row(tr("First seen"), when(d.firstSeen));
    row(tr("Updated"), when(d.updated));
    h += QStringLiteral("</table>");

    h += QStringLiteral("<h3>%1</h3>").arg(tr("Certificates"));
    if (s.certificates.isEmpty())
        h += QStringLiteral("<p>%1</p>").arg(tr("None issued."));
    for (const core::CertificateStory& c : s.certificates) {
        h += QStringLiteral("<p><b>%1</b> — %2, %3<br>")
                 .arg(c.record.serialHex, text(c.record.state), when(c.record.issuedAt));
        if (d.status == core::DeviceStatus::Failed
            && (c.record.state == core::CertificateState::Issued
                || c.record.state == core::CertificateState::Installed))
            h += QStringLiteral("<b>%1</b><br>")
                     .arg(tr("⚠ Issued, never shipped: the device failed after it was issued. It is revoked after the "
                             "grace period, unless the device comes back with the same key and passes."));
        h += tr("SHA-256 %1").arg(c.record.sha256) + QStringLiteral("<br>");
        h += (c.chainVerified ? tr("✔ chain verifies (strict)") : tr("✖ chain: %1").arg(c.chainProblem.toHtmlEscaped()))
            + QStringLiteral("<br>");
        h += tr("CRL: %1").arg(c.crlState.toHtmlEscaped()) + QStringLiteral("<br>");
        if (!c.upstreamDer.isEmpty()) {
            QString subject;
            if (auto up = core::ossl::certFromDer(c.upstreamDer))
                subject = core::ossl::nameToString(X509_get_issuer_name(up->get()));
            h += tr("Upstream certificate from %1 (SHA-256 %2)")
                     .arg(subject.toHtmlEscaped(), core::ossl::sha256Hex(c.upstreamDer).left(16))
                + QStringLiteral("<br>");
            if (c.upstreamVerified)
                h += (*c.upstreamVerified ? tr("✔ upstream chain verifies to its anchors (strict)")
                                          : tr("✖ upstream chain: %1").arg(c.upstreamProblem.toHtmlEscaped()))
                    + QStringLiteral("<br>");
        }
        for (const core::OutboxEntry& e : c.upstream)
            h += tr("Upstream %1: %2%3")
                     .arg(text(e.kind), text(e.state),
                         e.lastError.isEmpty() && e.upstreamStatus.isEmpty()
                             ? QString()
                             : QStringLiteral(" — ") + (e.lastError.isEmpty() ? e.upstreamStatus : e.lastError))
                     .toHtmlEscaped()
                + QStringLiteral("<br>");
        h += QStringLiteral("</p>");
    }

    h += QStringLiteral("<h3>%1</h3><table border=1 cellspacing=0 cellpadding=3>").arg(tr("Timeline"));
    h += QStringLiteral("<tr><th>%1</th><th>%2</th><th>%3</th><th>%4</th><th>%5</th><th>%6</th></tr>")
             .arg(tr("When"), tr("Job"), tr("Step"), tr("Station"), tr("Operator"), tr("Detail"));
    for (const core::StepRecord& st : s.timeline)
        h += QStringLiteral("<tr>%1%2%3%4%5%6</tr>")
                 .arg(cell(when(st.at)), cell(QString::number(st.jobId)),
                     cell(text(st.step) + QLatin1Char(' ') + text(st.status)), cell(st.station), cell(st.operatorName),
                     cell(st.detail));
    h += QStringLiteral("</table>");

    h += QStringLiteral("<h3>%1</h3><table border=1 cellspacing=0 cellpadding=3>").arg(tr("Audit entries"));
    h += QStringLiteral("<tr><th>#</th><th>%1</th><th>%2</th><th>%3</th><th>%4</th></tr>")
             .arg(tr("When"), tr("What"), tr("Who"), tr("Detail"));
    for (const core::AuditEntry& e : s.audit)
        h += QStringLiteral("<tr>%1%2%3%4%5</tr>")
                 .arg(cell(QString::number(e.seq)), cell(e.at), cell(e.kind + QLatin1Char(' ') + e.subject),
                     cell(e.station + QLatin1Char('/') + e.operatorName), cell(e.detail));
    h += QStringLiteral("</table>");
    return h;
}

void QaScreen::reverifyShown()
{
    if (!m_story)
        return;
    const QString serial = m_story->device.serial;
    // With the device on a slot: read back and a fresh challenge, through the pipeline.
    for (int i = 0; m_lineSource && i < m_lineSource->slotCount(); ++i) {
        const core::SlotView job = m_lineSource->slotAt(i);
        if (job.serial == serial && job.isFinished()) {
            m_lineSource->retry(i);
            emit status(
                tr("Device %1 is on slot %2: reading its certificate back and challenging it.").arg(serial).arg(i + 1));
        }
    }
    m_auditVerdict = tr("Checking the audit log…");
    m_desk->checkAudit(this, [this, serial](core::Result<core::AuditVerdict> v) {
        if (!v)
            m_auditVerdict = tr("✖ The audit log could not be checked: %1").arg(v.error().message);
        else if (v->problem.isEmpty())
            m_auditVerdict = tr("✔ The audit log is intact (%n entries).", nullptr, static_cast<int>(v->entries));
        else
            m_auditVerdict = tr("✖ The audit log is damaged: %1").arg(v->problem);
        const QString keep = m_auditVerdict;
        showDevice(serial);
        m_auditVerdict = keep;
    });
}

void QaScreen::scrapShown(const QString& givenReason)
{
    if (!m_story)
        return;
    const QString serial = m_story->device.serial;
    QString reason = givenReason;
    if (reason.isEmpty()) {
        bool ok = false;
        reason = QInputDialog::getText(this, tr("Scrap device %1").arg(serial),
            tr("Scrapping takes the device out of production for good: its certificates are revoked and the "
               "revocation goes to the upstream.\n\nWhy is it scrapped?"),
            QLineEdit::Normal, QString(), &ok)
                     .trimmed();
        if (!ok || reason.isEmpty())
            return;
    }
    const QString person = m_confirm ? m_confirm(tr("Scrap device %1").arg(serial)) : QString();
    if (person.isEmpty()) {
        emit status(tr("Not scrapped: the QA passphrase was not given."));
        return;
    }
    m_desk->scrap(this, serial, reason, person, [this, serial](core::Result<QString> done) {
        emit status(done ? *done : done.error().message);
        showDevice(serial);
    });
}

bool QaScreen::writeReport(const QString& path)
{
    if (!m_story)
        return false;
    QPrinter printer(QPrinter::HighResolution);
    printer.setOutputFormat(QPrinter::PdfFormat);
    printer.setOutputFileName(path);
    printer.setPageSize(QPageSize(QPageSize::A4));
    printer.setDocName(tr("Device report %1").arg(m_story->device.serial));
    QTextDocument doc;
    doc.setHtml(tr("<p>Imprint device report, printed %1</p>").arg(when(QDateTime::currentDateTimeUtc()))
        + storyHtml(*m_story));
    doc.print(&printer);
    const bool ok = QFileInfo(path).size() > 0;
    emit status(ok ? tr("Report written to %1.").arg(path) : tr("The report could not be written to %1.").arg(path));
    return ok;
}

} // namespace imprint::ui
