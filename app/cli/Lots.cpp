// imprintctl lot create, lot show, lot list: lots (work orders).

#include "cli/Command.h"
#include "pki/CertificateProfile.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace imprint::app::cli {

namespace {

const QString LotsDescription = QStringLiteral(
    "Lots (work orders): what the line makes, with which profile, how many; provision --lot LOT records each device "
    "in it.");

const QCommandLineOption idOption(
    QStringLiteral("id"), QStringLiteral("The lot's name, e.g. WO-2026-1142."), QStringLiteral("LOT"));

/// The lot named by --id, required.
std::optional<QString> lotId(const CommandLine& p)
{
    const QString id = p.value(idOption).trimmed();
    return id.isEmpty() ? std::nullopt : std::optional<QString>(id);
}

} // namespace

int lotCreate(const QStringList& args)
{
    CommandLine p(LotsDescription);
    QCommandLineOption expected(
        QStringLiteral("expected"), QStringLiteral("How many devices the lot holds."), QStringLiteral("N"));
    QCommandLineOption note(
        QStringLiteral("note"), QStringLiteral("Free text (customer, product)."), QStringLiteral("TEXT"));
    const QCommandLineOption op = option::operatorName(QStringLiteral("Who creates it."));
    p.addOptions({ idOption, expected, note, op, option::profile });
    p.parse(args);
    return withRecords(p, Access::Write, [&](core::RecordStore& records, const core::StationConfig& config) {
        const auto id = lotId(p);
        if (!id)
            return usageError(args, QStringLiteral("give --id LOT"));
        bool ok = false;
        const int n = p.value(expected).toInt(&ok);
        if (!ok || n < 1)
            return usageError(args, QStringLiteral("give --expected N (a positive number of devices)"));
        auto profile = core::CertificateProfile::load(p.value(option::profile), p.dataDir().profileDir());
        if (!profile)
            return report(profile.error());
        core::Lot l { *id, p.value(option::profile), n, p.value(note), {}, config.stationName, p.value(op), {} };
        if (auto r = records.lots().create(l); !r)
            return report(r.error());
        out() << "Lot " << l.id << " created: " << n << " devices, profile " << l.profile << Qt::endl;
        return 0;
    });
}

int lotShow(const QStringList& args)
{
    CommandLine p(LotsDescription, CommandLine::DataDirAndJson);
    p.addOption(idOption);
    p.parse(args);
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig&) {
        const auto id = lotId(p);
        if (!id)
            return usageError(args, QStringLiteral("give --id LOT"));
        auto lot = records.lots().find(*id);
        if (!lot)
            return report(lot.error());
        if (!*lot)
            return report(core::Error {
                core::ErrorCode::NotFound, QStringLiteral("There is no lot %1.").arg(p.value(idOption)), {}, {} });
        auto counts = records.records().lotCounts((*lot)->id);
        if (!counts)
            return report(counts.error());
        int passed = 0;
        QJsonObject c;
        for (const auto& [status, n] : *counts) {
            c[text(status)] = n;
            if (status == core::DeviceStatus::Passed)
                passed = n;
        }
        const int remaining = std::max(0, (*lot)->expected - passed);
        if (p.json()) {
            out() << QJsonDocument(
                QJsonObject { { QStringLiteral("id"), (*lot)->id }, { QStringLiteral("profile"), (*lot)->profile },
                    { QStringLiteral("expected"), (*lot)->expected }, { QStringLiteral("note"), (*lot)->note },
                    { QStringLiteral("counts"), c }, { QStringLiteral("remaining"), remaining } })
                         .toJson(QJsonDocument::Compact)
                  << Qt::endl;
            return 0;
        }
        out() << "Lot " << (*lot)->id << "  profile " << (*lot)->profile << "  created "
              << (*lot)->created.toString(Qt::ISODate) << " by " << (*lot)->operatorName << " at " << (*lot)->station
              << Qt::endl
              << "Passed " << passed << " of " << (*lot)->expected << "; " << remaining << " to go" << Qt::endl;
        for (const auto& [status, n] : *counts)
            out() << "  " << text(status).leftJustified(12) << n << Qt::endl;
        return 0;
    });
}

int lotClose(const QStringList& args)
{
    CommandLine p(LotsDescription);
    const QCommandLineOption op = option::operatorName(QStringLiteral("Who closes it."));
    p.addOptions({ idOption, op });
    p.parse(args);
    return withRecords(p, Access::Write, [&](core::RecordStore& records, const core::StationConfig& config) {
        const auto id = lotId(p);
        if (!id)
            return usageError(args, QStringLiteral("give --id LOT"));
        if (auto r = records.lots().close(*id, config.stationName, p.value(op)); !r)
            return report(r.error());
        out() << "Lot " << *id << " is closed: the station takes no more devices for it." << Qt::endl;
        return 0;
    });
}

int lotList(const QStringList& args)
{
    CommandLine p(LotsDescription, CommandLine::DataDirAndJson);
    p.parse(args);
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig&) {
        auto lots = records.lots().list();
        if (!lots)
            return report(lots.error());
        QJsonArray a;
        for (const auto& l : *lots) {
            if (p.json())
                a.append(QJsonObject { { QStringLiteral("id"), l.id }, { QStringLiteral("profile"), l.profile },
                    { QStringLiteral("expected"), l.expected }, { QStringLiteral("note"), l.note },
                    { QStringLiteral("created"), l.created.toString(Qt::ISODateWithMs) },
                    { QStringLiteral("closed"),
                        l.closed.isValid() ? QJsonValue(l.closed.toString(Qt::ISODateWithMs)) : QJsonValue() } });
            else
                out() << l.id << "  profile " << l.profile << "  " << l.expected << " devices  created "
                      << l.created.toString(Qt::ISODate)
                      << (l.closed.isValid() ? QStringLiteral("  closed ") + l.closed.toString(Qt::ISODate) : QString())
                      << (l.note.isEmpty() ? QString() : QStringLiteral("  ") + l.note) << Qt::endl;
        }
        if (p.json())
            out() << QJsonDocument(a).toJson(QJsonDocument::Compact) << Qt::endl;
        return 0;
    });
}

} // namespace imprint::app::cli
