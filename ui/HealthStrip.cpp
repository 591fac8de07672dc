#include "HealthStrip.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>

namespace imprint::ui {

namespace {

QString ago(const QDateTime& then, const QDateTime& now)
{
    const qint64 s = then.secsTo(now);
    if (s < 90)
        return HealthStrip::tr("%n second(s) ago", nullptr, static_cast<int>(std::max<qint64>(0, s)));
    if (s < 90 * 60)
        return HealthStrip::tr("%n minute(s) ago", nullptr, static_cast<int>(s / 60));
    if (s < 48 * 3600)
        return HealthStrip::tr("%n hour(s) ago", nullptr, static_cast<int>(s / 3600));
    return HealthStrip::tr("%n day(s) ago", nullptr, static_cast<int>(s / 86400));
}

QString day(const QDateTime& t)
{
    return QLocale().toString(t.toLocalTime().date(), QLocale::ShortFormat);
}

QString gib(qint64 bytes)
{
    return QLocale().formattedDataSize(bytes, 1, QLocale::DataSizeTraditionalFormat);
}

} // namespace

QList<HealthItem> assessHealth(const core::StationHealth& h, const QDateTime& now)
{
    using Level = HealthItem::Level;
    QList<HealthItem> items;

    HealthItem hsm { HealthStrip::tr("HSM"), Level::Good, {} };
    if (!h.token.present || !h.token.unlocked) {
        hsm.level = Level::Alarm;
        hsm.sentence = !h.token.problem.isEmpty() ? h.token.problem
            : !h.token.present ? HealthStrip::tr("The HSM token is not there: plug it in; nothing can be signed.")
                               : HealthStrip::tr("The HSM token is locked: an admin unlocks it.");
    } else {
        QStringList parts { HealthStrip::tr("token unlocked") };
        if (h.caNotAfter.isValid()) {
            parts << HealthStrip::tr("CA valid until %1").arg(day(h.caNotAfter));
            if (h.caNotAfter < now) {
                hsm.level = Level::Alarm;
                parts << HealthStrip::tr("the CA certificate has expired: the PKI admin renews it");
            } else if (now.daysTo(h.caNotAfter) < 30) {
                hsm.level = Level::Attention;
                parts << HealthStrip::tr("the CA certificate ends within a month: the PKI admin renews it");
            }
        }
        if (!h.crlNextUpdate) {
            parts << HealthStrip::tr("no CRL signed yet");
        } else {
            parts << HealthStrip::tr("CRL next update %1").arg(day(*h.crlNextUpdate));
            if (*h.crlNextUpdate < now) {
                hsm.level = Level::Alarm;
                parts << HealthStrip::tr("the CRL is out of date: issue one (Admin, Issue CRL)");
            } else if (now.secsTo(*h.crlNextUpdate) < 24 * 3600 && hsm.level == Level::Good) {
                hsm.level = Level::Attention;
                parts << HealthStrip::tr("the CRL runs out within a day: issue one (Admin, Issue CRL)");
            }
        }
        hsm.sentence = parts.join(QStringLiteral(" · "));
    }
    items << hsm;

    HealthItem up { HealthStrip::tr("Upstream"), Level::Good, {} };
    if (!h.upstreamConfigured) {
        up.level = h.upstreamOpen > 0 ? Level::Attention : Level::Off;
        up.sentence = h.upstreamOpen > 0
            ? HealthStrip::tr("not connected; %n record(s) wait for an offline batch (Admin, Export)", nullptr,
                static_cast<int>(h.upstreamOpen))
            : HealthStrip::tr("not connected (offline batches)");
    } else {
        QStringList parts;
        const bool reached = h.contact.reached.isValid()
            && (!h.contact.attempted.isValid() || h.contact.reached >= h.contact.attempted);
        if (reached)
            parts << HealthStrip::tr("reached %1").arg(ago(h.contact.reached, now));
        else if (h.contact.attempted.isValid())
            parts << HealthStrip::tr("not reached since %1")
                         .arg(ago(h.contact.reached.isValid() ? h.contact.reached : h.contact.attempted, now));
        else
            parts << HealthStrip::tr("not tried yet");
        parts << HealthStrip::tr("%n record(s) waiting", nullptr, static_cast<int>(h.upstreamOpen));
        const qint64 oldest = h.oldestUnsynced ? h.oldestUnsynced->secsTo(now) : 0;
        if (h.oldestUnsynced)
            parts << HealthStrip::tr("oldest from %1").arg(ago(*h.oldestUnsynced, now));
        if (h.upstreamRejected > 0)
            parts << HealthStrip::tr(
                "%n refused by the upstream (Admin, Upstream)", nullptr, static_cast<int>(h.upstreamRejected));
        if (!reached && !h.contact.lastError.isEmpty())
            parts << h.contact.plainError(); // OpenSSL's text is for the Admin screen's detail line
        if ((!reached && h.contact.attempted.isValid() && oldest > 24 * 3600) || h.upstreamRejected > 0)
            up.level = Level::Alarm;
        else if ((!reached && h.contact.attempted.isValid()) || oldest > 3600)
            up.level = Level::Attention;
        up.sentence = parts.join(QStringLiteral(" · "));
    }
    items << up;

    // The plant record, when the station pushes to one: the line never waits for it, so it
    // asks for attention (not an alarm) until a day without a push.
    if (h.plantConfigured) {
        HealthItem plant { HealthStrip::tr("Plant record"), Level::Good, {} };
        QStringList parts;
        const bool reached = h.plantContact.reached.isValid()
            && (!h.plantContact.attempted.isValid() || h.plantContact.reached >= h.plantContact.attempted);
        if (reached)
            parts << HealthStrip::tr("pushed %1").arg(ago(h.plantContact.reached, now));
        else if (h.plantContact.attempted.isValid())
            parts << HealthStrip::tr("not reached since %1")
                         .arg(ago(h.plantContact.reached.isValid() ? h.plantContact.reached : h.plantContact.attempted,
                             now));
        else
            parts << HealthStrip::tr("not tried yet");
        parts << HealthStrip::tr("%n change(s) waiting", nullptr, static_cast<int>(h.plantBacklog));
        if (!reached && !h.plantContact.lastError.isEmpty())
            parts << h.plantContact.plainError();
        const QDateTime since = h.plantContact.reached.isValid() ? h.plantContact.reached : h.plantContact.attempted;
        if (!reached && h.plantContact.attempted.isValid())
            plant.level = since.secsTo(now) > 24 * 3600 ? Level::Alarm : Level::Attention;
        plant.sentence = parts.join(QStringLiteral(" · "));
        items << plant;
    }

    HealthItem disk { HealthStrip::tr("Disk"), Level::Good, {} };
    if (h.diskFree < 0) {
        disk.level = Level::Attention;
        disk.sentence = HealthStrip::tr("the free space of the data directory is unknown");
    } else {
        const double share = h.diskTotal > 0 ? double(h.diskFree) / double(h.diskTotal) : 1.0;
        const QLocale locale;
        disk.sentence
            = HealthStrip::tr("%1 free (%2)")
                  .arg(gib(h.diskFree), locale.toString(100.0 * share, 'f', 0) + QChar(0x202F) + locale.percent());
        constexpr qint64 GiB = 1024ll * 1024 * 1024;
        if (h.diskFree < GiB / 2 || share < 0.02) {
            disk.level = Level::Alarm;
            disk.sentence
                += HealthStrip::tr(": the data directory is nearly full; records may stop; plant IT frees space");
        } else if (h.diskFree < 2 * GiB || share < 0.10) {
            disk.level = Level::Attention;
            disk.sentence += HealthStrip::tr(": space is running low; tell plant IT");
        }
    }
    items << disk;

    HealthItem jobs { HealthStrip::tr("Interrupted jobs"), Level::Good, HealthStrip::tr("none") };
    if (h.interruptedJobs > 0) {
        jobs.level = Level::Attention;
        jobs.sentence = HealthStrip::tr(
            "%n job(s) the station was stopped under: put those devices back on a slot", nullptr, h.interruptedJobs);
    }
    items << jobs;

    if (!h.storeProblem.isEmpty())
        items << HealthItem { HealthStrip::tr("Records"), Level::Alarm, h.storeProblem };
    return items;
}

HealthStrip::HealthStrip(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("healthStrip"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(6);
}

HealthItem::Level HealthStrip::worst() const
{
    auto w = HealthItem::Level::Good;
    for (const HealthItem& i : m_items) {
        if (i.level == HealthItem::Level::Alarm)
            return i.level;
        if (i.level == HealthItem::Level::Attention)
            w = i.level;
    }
    return w;
}

void HealthStrip::show(const core::StationHealth& health)
{
    m_items = assessHealth(health, QDateTime::currentDateTimeUtc());
    auto* box = static_cast<QHBoxLayout*>(layout());
    while (m_labels.size() < m_items.size()) {
        auto* label = new QLabel(this);
        label->setWordWrap(true);
        label->setTextFormat(Qt::RichText);
        label->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
        box->addWidget(label, 1);
        m_labels << label;
    }
    for (qsizetype i = 0; i < m_labels.size(); ++i) {
        QLabel* label = m_labels.at(i);
        if (i >= m_items.size()) {
            label->hide();
            continue;
        }
        const HealthItem& item = m_items.at(i);
        QString symbol, word, colours;
        switch (item.level) {
        case HealthItem::Level::Good:
            symbol = QStringLiteral("●");
            word = tr("OK");
            colours = QStringLiteral("background: #e8f5e9; color: #1b5e20; border: 1px solid #a5d6a7;");
            break;
        case HealthItem::Level::Attention:
            symbol = QStringLiteral("▲");
            word = tr("ATTENTION");
            colours = QStringLiteral("background: #fff3cd; color: #664d03; border: 1px solid #ffe69c;");
            break;
        case HealthItem::Level::Alarm:
            symbol = QStringLiteral("✖");
            word = tr("ALARM");
            colours = QStringLiteral("background: #ffebee; color: #b71c1c; border: 2px solid #e57373;");
            break;
        case HealthItem::Level::Off:
            symbol = QStringLiteral("○");
            word = tr("OFF");
            colours = QStringLiteral("background: #f5f5f5; color: #555555; border: 1px solid #dddddd;");
            break;
        }
        label->setStyleSheet(QStringLiteral("QLabel { %1 padding: 4px 8px; border-radius: 4px; }").arg(colours));
        label->setText(QStringLiteral("<b>%1 %2 %3</b><br>%4")
                           .arg(symbol, item.name.toHtmlEscaped(), word, item.sentence.toHtmlEscaped()));
        label->setAccessibleName(QStringLiteral("%1: %2. %3").arg(item.name, word, item.sentence));
        label->show();
    }
}

} // namespace imprint::ui
