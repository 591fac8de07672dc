// imprint-bench-lookup: QA lookups on a big store. Fills a store with N issued devices (each
// a device, a job with its steps, a certificate, an audit entry: what sign-batch writes),
// then times what `imprintctl show --device-serial` reads for random serials, and a page of
// `imprintctl list`. Prints p50/p99.
//
//   imprint-bench-lookup [--records 1000000] [--lookups 10000] [--db FILE]

#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

#include "Percentile.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QTextStream>

#include <algorithm>

using namespace imprint;
using bench::percentile;

namespace {

QString serialOf(int i)
{
    return QStringLiteral("LK-%1").arg(i, 8, 10, QLatin1Char('0'));
}

} // namespace

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser p;
    p.setApplicationDescription(QStringLiteral("QA lookup by serial on a store of many records."));
    p.addHelpOption();
    QCommandLineOption records(QStringLiteral("records"), QStringLiteral("Devices in the store (default 1000000)."),
        QStringLiteral("N"), QStringLiteral("1000000"));
    QCommandLineOption lookups(QStringLiteral("lookups"), QStringLiteral("Lookups timed (default 10000)."),
        QStringLiteral("N"), QStringLiteral("10000"));
    QCommandLineOption dbOption(QStringLiteral("db"),
        QStringLiteral("Keep the store in FILE (reused when it exists, so it is filled once)."),
        QStringLiteral("FILE"));
    p.addOptions({ records, lookups, dbOption });
    p.process(app);
    QTextStream out(stdout), err(stderr);
    const int n = std::max(1, p.value(records).toInt());
    const int m = std::max(1, p.value(lookups).toInt());
    QTemporaryDir tmp;
    const QString path = p.isSet(dbOption) ? p.value(dbOption) : tmp.filePath(QStringLiteral("lookup.sqlite"));
    out << Qt::fixed << qSetRealNumberPrecision(3);

    {
        auto store = core::RecordStore::open(path);
        if (!store) {
            err << store.error().text() << Qt::endl;
            return 1;
        }
        auto existing = store->records().device(serialOf(n - 1));
        if (existing && !existing->has_value()) {
            QElapsedTimer fill;
            fill.start();
            auto* rng = QRandomGenerator::global();
            constexpr int Chunk = 20000;
            for (int start = 0; start < n; start += Chunk) {
                QList<core::BatchIssued> batch;
                for (int i = start; i < std::min(n, start + Chunk); ++i) {
                    QByteArray der(480, Qt::Uninitialized); // the size of a device certificate
                    rng->fillRange(reinterpret_cast<quint32*>(der.data()), der.size() / 4);
                    QByteArray serial(16, Qt::Uninitialized);
                    rng->fillRange(reinterpret_cast<quint32*>(serial.data()), 4);
                    batch.append(core::BatchIssued { serialOf(i), QStringLiteral("gen"), der,
                        QString::fromLatin1(serial.toHex().toUpper()), core::ossl::sha256Hex(der),
                        core::ossl::sha256Hex(serial), {} });
                }
                if (auto r = store->ledger().recordBatch(batch, QStringLiteral("bench"), QStringLiteral("bench")); !r) {
                    err << r.error().text() << Qt::endl;
                    return 1;
                }
                err << "  filled " << std::min(n, start + Chunk) << "/" << n << "\r" << Qt::flush;
            }
            err << Qt::endl;
            out << "filled " << n << " records in " << static_cast<double>(fill.elapsed()) / 1000.0 << " s ("
                << QFileInfo(path).size() / (1024 * 1024) << " MiB)" << Qt::endl;
        }
    }

    // What `show --device-serial` reads, on a read-only connection as QA opens it.
    auto store = core::RecordStore::open(path, true);
    if (!store) {
        err << store.error().text() << Qt::endl;
        return 1;
    }
    auto* rng = QRandomGenerator::global();
    std::vector<double> showMs, pageMs;
    for (int i = 0; i < m; ++i) {
        const QString sn = serialOf(static_cast<int>(rng->bounded(n)));
        QElapsedTimer t;
        t.start();
        auto d = store->records().device(sn);
        auto c = store->ledger().ofDevice(sn);
        auto s = store->records().timeline(sn);
        showMs.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
        if (!d || !d->has_value() || !c || c->size() != 1 || !s || s->isEmpty()) {
            err << "imprint-bench-lookup: " << sn << " was not found whole" << Qt::endl;
            return 1;
        }
    }
    core::DeviceQuery q;
    q.status = core::DeviceStatus::Issued;
    q.limit = 50;
    for (int i = 0; i < std::min(m, 1000); ++i) {
        QElapsedTimer t;
        t.start();
        auto page = store->records().devices(q);
        pageMs.push_back(static_cast<double>(t.nsecsElapsed()) / 1e6);
        if (!page) {
            err << page.error().text() << Qt::endl;
            return 1;
        }
        // Walk on page by page; from the top again after the last.
        q.before = page->isEmpty() ? QString() : page->last().serial;
    }
    out << "records:                         " << n << Qt::endl
        << "lookup by serial (device, certificates, timeline), " << m << " random serials:" << Qt::endl
        << "  p50:                           " << percentile(showMs, 50) << " ms" << Qt::endl
        << "  p99:                           " << percentile(showMs, 99) << " ms" << Qt::endl
        << "  max:                           " << percentile(showMs, 100) << " ms" << Qt::endl
        << "a page of 50 devices by status (keyset paging):" << Qt::endl
        << "  p50:                           " << percentile(pageMs, 50) << " ms" << Qt::endl
        << "  p99:                           " << percentile(pageMs, 99) << " ms" << Qt::endl;
    return 0;
}
