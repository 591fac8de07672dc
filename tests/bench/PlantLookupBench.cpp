// imprint-bench-plant-lookup: QA lookups by serial in the plant record. Fills a plant
// database (migrated, reached as its administrator over CONNINFO) with DEVICES devices from
// STATIONS stations, as the stations' pushes leave them (each a device, its finished job
// with six steps, its certificate of 500 bytes with a request of 300), made by PostgreSQL
// itself (generate_series); then times what `imprintctl show --device-serial` reads for
// random serials (plant::device). Prints p50/p99.
//
//   imprint-bench-plant-lookup CONNINFO [--devices 1000000] [--stations 20] [--lookups 2000]

#include "plant/PlantDatabase.h"

#include "Percentile.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QRandomGenerator>
#include <QTextStream>

using namespace imprint;
using bench::percentile;

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("QA lookup by serial in the plant record."));
    p.addHelpOption();
    p.addPositionalArgument(QStringLiteral("conninfo"), QStringLiteral("The plant database, as its administrator."));
    QCommandLineOption devices(QStringLiteral("devices"), QStringLiteral("Devices in the plant."), QStringLiteral("N"),
        QStringLiteral("1000000"));
    QCommandLineOption stations(QStringLiteral("stations"), QStringLiteral("Stations they come from."),
        QStringLiteral("N"), QStringLiteral("20"));
    QCommandLineOption lookups(
        QStringLiteral("lookups"), QStringLiteral("Lookups timed."), QStringLiteral("N"), QStringLiteral("2000"));
    QCommandLineOption existing(QStringLiteral("existing"),
        QStringLiteral("The plant record was filled by an earlier run with the same --devices: only look up."));
    p.addOptions({ devices, stations, lookups, existing });
    p.process(app);
    QTextStream out(stdout);
    QTextStream err(stderr);
    if (p.positionalArguments().size() != 1) {
        err << "usage: imprint-bench-plant-lookup CONNINFO [--devices N] [--stations N] [--lookups N]" << Qt::endl;
        return 2;
    }
    const qint64 n = p.value(devices).toLongLong();
    const int s = p.value(stations).toInt();
    // Filling the plant is one statement of minutes.
    auto db = core::pg::Connection::open(core::pg::Target { p.positionalArguments().first(), {}, 10, 86400 });
    if (!db) {
        err << db.error().text() << Qt::endl;
        return 1;
    }
    QElapsedTimer fill;
    fill.start();
    // Each station's rows: its devices d = station, station + s, ...; three changes each.
    const QString steps = QStringLiteral(
        "json_build_array(json_build_object('id', 1, 'step', 'identify', 'status', 'done', 'detail', '', 'at', t), "
        "json_build_object('id', 2, 'step', 'keygen', 'status', 'done', 'detail', 'EC-P256 key made by the "
        "device; its request received', 'at', t), json_build_object('id', 3, 'step', 'check-csr', 'status', "
        "'done', 'detail', 'EC-P256', 'at', t), json_build_object('id', 4, 'step', 'issue', 'status', 'done', "
        "'detail', 'certificate ' || cs, 'at', t), json_build_object('id', 5, 'step', 'verify', 'status', 'done', "
        "'detail', '', 'at', t), json_build_object('id', 6, 'step', 'finish', 'status', 'passed', 'detail', '', "
        "'at', t))");
    const QString script = QStringLiteral(R"(
INSERT INTO imprint.stations(station_id, line, name, role)
  SELECT 'bench-' || i, 'L' || i, 'Bench ' || i, 'bench_role_' || i FROM generate_series(1, %2) i;
INSERT INTO imprint.changes(station_id, seq, kind, key, at, payload, der, request)
  SELECT 'bench-' || (mod(d, %2) + 1), 3 * (d / %2) + k, kind, key, at, payload, der, req
  FROM (SELECT d, 'PL-' || lpad(d::text, 9, '0') AS sn, md5(d::text) AS cs,
               to_char(timestamptz '2026-01-01' + d * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS t
        FROM generate_series(1, %1) d) g,
  LATERAL (VALUES
    (1, 'device', sn, t::timestamptz, jsonb_build_object('serial', sn, 'model', 'M1', 'firmware', '1.0', 'status',
      'passed', 'status_reason', '', 'lot', 'LOT-' || (d / 10000), 'first_seen', t, 'updated', t), NULL::bytea, NULL::bytea),
    (2, 'job', d::text, t::timestamptz, jsonb_build_object('id', d, 'device_serial', sn, 'port', '/dev/ttyUSB0',
      'operator', 'op', 'lot', 'LOT-' || (d / 10000), 'started', t, 'finished', t, 'result', 'passed', 'reason', '',
      'steps', %3), NULL, NULL),
    (3, 'certificate', upper(cs), t::timestamptz, jsonb_build_object('serial', upper(cs), 'device_serial', sn,
      'job_id', d, 'sha256', md5(cs) || md5(cs), 'spki_sha256', md5(sn) || md5(sn), 'issued_at', t),
      decode(repeat(md5(cs), 16), 'hex'), decode(repeat(md5(sn), 10), 'hex'))) AS r(k, kind, key, at, payload, der, req);
ANALYZE imprint.changes;
)")
                               .arg(n)
                               .arg(s)
                               .arg(steps);
    if (p.isSet(existing)) {
        out << QStringLiteral("plant record:                         %1 devices, filled before").arg(n) << Qt::endl;
    } else if (auto r = db->script(script, QStringLiteral("fill the plant record")); !r) {
        err << r.error().text() << Qt::endl;
        return 1;
    } else {
        out << QStringLiteral(
            "plant record:                         %1 devices from %2 stations (%3 changes), made in %4 s")
                   .arg(n)
                   .arg(s)
                   .arg(3 * n)
                   .arg(double(fill.elapsed()) / 1000.0, 0, 'f', 0)
            << Qt::endl;
    }
    std::vector<double> ms;
    const int count = p.value(lookups).toInt();
    for (int i = 0; i < count; ++i) {
        const QString serial = QStringLiteral("PL-%1").arg(
            QRandomGenerator::global()->bounded(static_cast<quint32>(n)) + 1, 9, 10, QLatin1Char('0'));
        QElapsedTimer t;
        t.start();
        auto found = core::plant::device(*db, serial);
        const double elapsed = double(t.nsecsElapsed()) / 1e6;
        if (!found || found->isEmpty()) {
            err << "lookup of " << serial << " failed" << Qt::endl;
            return 1;
        }
        ms.push_back(elapsed);
    }
    out << QStringLiteral("QA lookup by serial (%1 lookups):   p50 %2 ms, p99 %3 ms   (target p99 <= 5 ms)")
               .arg(count)
               .arg(percentile(ms, 50), 0, 'f', 2)
               .arg(percentile(ms, 99), 0, 'f', 2)
        << Qt::endl;
    return 0;
}
