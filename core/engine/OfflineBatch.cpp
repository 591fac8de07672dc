#include "engine/OfflineBatch.h"

#include "engine/UpstreamSync.h"
#include "pki/Cms.h"
#include "pki/Der.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

namespace imprint::core {

namespace {

Result<void> writeFile(const QString& path, const QByteArray& contents)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(contents) != contents.size() || !f.commit())
        return fail(ErrorCode::Io, QStringLiteral("Could not write %1.").arg(path), f.errorString());
    return {};
}

QString safe(const QString& s)
{
    QString out = s;
    for (QChar& c : out) {
        if (!c.isLetterOrNumber() && c != u'-' && c != u'_' && c != u'.')
            c = u'_';
    }
    return out;
}

} // namespace

Result<ExportReport> exportBatch(
    RecordStore& store, CmpClient& client, const ExportInputs& in, const QString& dir, const QString& again)
{
    if (QDir(dir).exists() && !QDir(dir).isEmpty())
        return fail(ErrorCode::BadInput, QStringLiteral("%1 is not empty; export writes into a new folder.").arg(dir));
    QList<qint64> ids;
    if (!again.isEmpty()) {
        auto exported = store.outbox().exportedIn(again);
        if (!exported)
            return std::unexpected(exported.error());
        if (exported->isEmpty())
            return fail(ErrorCode::NotFound, QStringLiteral("No batch %1 was exported from this station.").arg(again));
        ids = *exported;
    } else {
        for (qint64 after = 0;;) {
            auto page = store.outbox().list(
                { OutboxState::Pending, OutboxState::Sent, OutboxState::Failed, OutboxState::Waiting }, 10000, after);
            if (!page)
                return std::unexpected(page.error());
            for (const OutboxEntry& e : *page) {
                if (e.exportBatch.isEmpty())
                    ids << e.id;
            }
            if (page->size() < 10000)
                break;
            after = page->last().id;
        }
    }
    auto rows = store.outbox().work(ids);
    if (!rows)
        return std::unexpected(rows.error());

    ExportReport report;
    report.batch = again.isEmpty() ? QStringLiteral("%1-%2").arg(
                       safe(in.station), QDateTime::currentDateTimeUtc().toString(QStringLiteral("yyyyMMddTHHmmssZ")))
                                   : again;
    QJsonArray manifestRows;
    QList<QByteArray> localCertificates;
    QList<qint64> carried;
    for (const OutboxWork& row : *rows) {
        if (readiness(row).verdict != Readiness::Verdict::Send) {
            report.held += row.entry.kind == OutboxKind::Revocation ? 1 : 0;
            continue;
        }
        const QString stem
            = QStringLiteral("%1-%2").arg(row.entry.id, 6, 10, QLatin1Char('0')).arg(safe(row.deviceSerial));
        QJsonObject o { { QStringLiteral("row"), row.entry.id }, { QStringLiteral("kind"), text(row.entry.kind) },
            { QStringLiteral("device"), row.deviceSerial },
            { QStringLiteral("local_certificate"), row.entry.subject } };
        if (row.entry.kind == OutboxKind::Certificate) {
            auto message = client.requestMessage(row.request);
            if (!message)
                return std::unexpected(message.error());
            const QString cmp = QStringLiteral("cmp/%1.p10cr.der").arg(stem);
            const QString p10 = QStringLiteral("pkcs10/%1.csr").arg(stem);
            for (const auto& [name, data] : { std::pair { cmp, *message }, std::pair { p10, row.request } }) {
                if (auto w = writeFile(dir + u'/' + name, data); !w)
                    return std::unexpected(w.error());
                report.files << name;
            }
            o[QStringLiteral("cmp")] = cmp;
            o[QStringLiteral("pkcs10")] = p10;
            localCertificates << row.localDer;
            ++report.certificates;
        } else {
            auto message = client.revocationMessage(row.upstreamDer, revocationReason(row));
            if (!message)
                return std::unexpected(message.error());
            const QString cmp = QStringLiteral("cmp/%1.rr.der").arg(stem);
            if (auto w = writeFile(dir + u'/' + cmp, *message); !w)
                return std::unexpected(w.error());
            report.files << cmp;
            o[QStringLiteral("cmp")] = cmp;
            o[QStringLiteral("reason")] = revocationReason(row);
            ++report.revocations;
        }
        manifestRows.append(o);
        carried << row.entry.id;
        if (in.progress)
            in.progress(static_cast<int>(carried.size()), static_cast<int>(rows->size()));
    }
    if (carried.isEmpty())
        return fail(ErrorCode::NotFound,
            QStringLiteral("Nothing is waiting to go upstream%1; no batch was written.")
                .arg(report.held
                        ? QStringLiteral(" (%1 revocation(s) wait for their certificate's answer)").arg(report.held)
                        : QString()));

    auto head = store.audit().head();
    auto checkpoint = store.audit().newestCheckpoint();
    if (!head)
        return std::unexpected(head.error());
    if (!checkpoint)
        return std::unexpected(checkpoint.error());
    QJsonObject audit { { QStringLiteral("head_seq"), head->seq }, { QStringLiteral("head_hash"), head->hash } };
    if (*checkpoint)
        audit[QStringLiteral("checkpoint")] = QJsonObject { { QStringLiteral("seq"), (*checkpoint)->seq },
            { QStringLiteral("hash"), (*checkpoint)->hash }, { QStringLiteral("at"), (*checkpoint)->at },
            { QStringLiteral("key_sha256"), (*checkpoint)->keySha256 },
            { QStringLiteral("signature"), QString::fromLatin1((*checkpoint)->signature.toBase64()) } };
    const std::pair<QString, QByteArray> fixed[] = {
        { QStringLiteral("certificates.p7b"), der::certificateBundle(localCertificates + in.caChain) },
        { QStringLiteral("crl.pem"), in.crlPem },
        { QStringLiteral("audit-head.json"), QJsonDocument(audit).toJson(QJsonDocument::Indented) },
    };
    for (const auto& [name, data] : fixed) {
        if (data.isEmpty())
            continue;
        if (auto w = writeFile(dir + u'/' + name, data); !w)
            return std::unexpected(w.error());
        report.files << name;
    }
    QJsonObject hashes;
    for (const QString& name : report.files) {
        QFile f(dir + u'/' + name);
        if (!f.open(QIODevice::ReadOnly))
            return fail(ErrorCode::Io, QStringLiteral("Could not read back %1.").arg(f.fileName()));
        hashes[name] = ossl::sha256Hex(f.readAll());
    }
    const QJsonObject manifest { { QStringLiteral("format"), QStringLiteral("imprint-upstream-batch/1") },
        { QStringLiteral("station"), in.station }, { QStringLiteral("batch"), report.batch },
        { QStringLiteral("created"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate) },
        { QStringLiteral("counts"),
            QJsonObject { { QStringLiteral("certificates"), report.certificates },
                { QStringLiteral("revocations"), report.revocations } } },
        { QStringLiteral("rows"), manifestRows }, { QStringLiteral("files"), hashes } };
    const QByteArray manifestJson = QJsonDocument(manifest).toJson(QJsonDocument::Indented);
    auto signature = signDetached(manifestJson, in.raKey, in.raChain);
    if (!signature)
        return std::unexpected(signature.error());
    for (const auto& [name, data] : { std::pair { QStringLiteral("manifest.json"), manifestJson },
             std::pair { QStringLiteral("manifest.json.p7s"), *signature } }) {
        if (auto w = writeFile(dir + u'/' + name, data); !w)
            return std::unexpected(w.error());
        report.files << name;
    }
    if (again.isEmpty()) {
        if (auto r = store.outbox().markExported(carried, report.batch); !r)
            return std::unexpected(r.error());
    }
    if (auto r = store.audit().append(AuditKind::Exported, report.batch,
            QStringLiteral("%1 batch %2: %3 certificate(s), %4 revocation(s), manifest sha256 %5")
                .arg(again.isEmpty() ? QStringLiteral("exported") : QStringLiteral("exported again"), report.batch)
                .arg(report.certificates)
                .arg(report.revocations)
                .arg(ossl::sha256Hex(manifestJson)),
            in.station, in.person.isEmpty() ? qEnvironmentVariable("USER", QStringLiteral("cli")) : in.person);
        !r)
        return std::unexpected(r.error());
    return report;
}

Result<ImportReport> importAnswers(RecordStore& store, const QList<QByteArray>& anchors, const QStringList& files,
    const QString& station, const QString& person)
{
    QList<QByteArray> all;
    for (const QString& path : files) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return fail(ErrorCode::BadInput, QStringLiteral("Cannot read %1.").arg(path), f.errorString());
        auto certs = certificatesIn(f.readAll());
        if (!certs)
            return fail(ErrorCode::BadInput, QStringLiteral("%1: %2").arg(path, certs.error().message));
        all += *certs;
    }
    QList<QByteArray> issuers;
    QList<QByteArray> leaves;
    for (const QByteArray& der : all) {
        auto c = ossl::certFromDer(der);
        if (c && X509_check_ca(c->get()) != 0)
            issuers << der;
        else
            leaves << der;
    }
    ImportReport report;
    for (const QByteArray& der : leaves) {
        auto cert = ossl::certFromDer(der);
        if (!cert) {
            report.refused << QStringLiteral("an entry that is not a certificate");
            continue;
        }
        const QString who
            = QStringLiteral("%1 (serial %2)")
                  .arg(ossl::nameToString(X509_get_subject_name(cert->get())), ossl::serialHex(cert->get()));
        const QString keyHash = ossl::sha256Hex(ossl::publicKeyDer(X509_get0_pubkey(cert->get())));
        auto local = store.ledger().certificateOfKey(keyHash);
        if (!local)
            return std::unexpected(local.error());
        if (!*local) {
            report.refused << who + QStringLiteral(": certifies no key this station issued a certificate for");
            continue;
        }
        if (auto chain = verifyToAnchors(der, anchors, issuers); !chain) {
            report.refused << who
                    + QStringLiteral(": does not verify to the upstream's trust anchors (%1)")
                          .arg(chain.error().detail);
            continue;
        }
        auto recorded = store.ledger().upstreamCertificate(**local);
        if (!recorded)
            return std::unexpected(recorded.error());
        if (*recorded == der) {
            ++report.already;
            continue;
        }
        if (!recorded->isEmpty()) {
            report.refused << who + QStringLiteral(": the device already has another upstream certificate on record");
            continue;
        }
        auto rows = store.outbox().ofCertificate(**local);
        if (!rows)
            return std::unexpected(rows.error());
        qint64 rowId = 0;
        for (const OutboxEntry& e : *rows) {
            if (e.kind == OutboxKind::Certificate)
                rowId = e.id;
        }
        auto work = store.outbox().work({ rowId });
        if (!work)
            return std::unexpected(work.error());
        if (work->isEmpty()) {
            report.refused << who + QStringLiteral(": its certificate has no row on the way upstream");
            continue;
        }
        if (auto r = store.outbox().recordCertificate(work->first(), der); !r)
            return std::unexpected(r.error());
        if (auto r = store.outbox().confirm(work->first(), QStringLiteral("imported")); !r)
            return std::unexpected(r.error());
        ++report.recorded;
    }
    if (auto r = store.audit().append(AuditKind::Imported, QStringLiteral("upstream-answer"),
            QStringLiteral("%1 upstream certificate(s) recorded, %2 already on record, %3 refused, from %4")
                .arg(report.recorded)
                .arg(report.already)
                .arg(report.refused.size())
                .arg(files.join(QStringLiteral(", "))),
            station, person.isEmpty() ? qEnvironmentVariable("USER", QStringLiteral("cli")) : person);
        !r)
        return std::unexpected(r.error());
    return report;
}

} // namespace imprint::core
