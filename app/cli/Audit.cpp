// imprintctl audit verify, audit show: the audit log, checked and read.

#include "StationSetup.h"
#include "cli/Command.h"
#include "pki/OpenSsl.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <memory>

namespace imprint::app::cli {

int auditVerify(const QStringList& args)
{
    CommandLine p(QStringLiteral("Check the audit log's hash chain and the certificates it covers; name the first "
                                 "edited, missing or reordered entry. Exit 0 only if intact."),
        CommandLine::DataDirAndJson);
    p.parse(args);
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig& config) {
        // Checkpoint signatures are checked with the audit key's public half, read from the
        // token (no PIN needed).
        core::CheckpointVerifier verifier;
        QString keyProblem;
        if (auto spki = hsm::readAuditPublicKey(config); !spki) {
            keyProblem = spki.error().message;
        } else if (auto key = core::ossl::publicKeyFromDer(*spki); !key) {
            keyProblem = key.error().message;
        } else {
            verifier
                = [key = std::make_shared<core::ossl::PKey>(std::move(*key))](const QByteArray& message,
                      const QByteArray& signature) { return core::ossl::verifySha256(key->get(), message, signature); };
        }
        auto v = records.audit().verify(verifier);
        if (!v)
            return report(v.error());
        if (p.json()) {
            out() << QJsonDocument(
                QJsonObject { { QStringLiteral("entries"), static_cast<double>(v->entries) },
                    { QStringLiteral("intact"), v->problem.isEmpty() }, { QStringLiteral("problem"), v->problem },
                    { QStringLiteral("first_bad_entry"), static_cast<double>(v->firstBadEntry) },
                    { QStringLiteral("checkpoints"), static_cast<double>(v->checkpoints) },
                    { QStringLiteral("last_checkpoint"), static_cast<double>(v->lastCheckpoint) },
                    { QStringLiteral("signatures_checked"), v->signaturesChecked } })
                         .toJson(QJsonDocument::Compact)
                  << Qt::endl;
        } else if (v->problem.isEmpty()) {
            out() << "The audit log is intact: " << v->entries << " entries, and every certificate they name."
                  << Qt::endl
                  << v->checkpoints << " checkpoints"
                  << (v->signaturesChecked ? QStringLiteral(" signed by the audit key in the token")
                                           : QStringLiteral(" (signatures NOT checked: ") + keyProblem + u')')
                  << "; the newest vouches for entries 1-" << v->lastCheckpoint << "." << Qt::endl;
            if (v->entries > v->lastCheckpoint)
                out() << "Entries " << v->lastCheckpoint + 1 << "-" << v->entries
                      << " are chained but not yet under a checkpoint (the station seals them every N entries and "
                         "when it stops)."
                      << Qt::endl;
        } else {
            out() << "TAMPERED: " << v->problem << Qt::endl;
        }
        return v->problem.isEmpty() ? 0 : 1;
    });
}

int auditShow(const QStringList& args)
{
    CommandLine p(
        QStringLiteral("List audit log entries, oldest first, a page at a time."), CommandLine::DataDirAndJson);
    QCommandLineOption after(
        QStringLiteral("after"), QStringLiteral("Start after this entry."), QStringLiteral("SEQ"), QStringLiteral("0"));
    QCommandLineOption limit(QStringLiteral("limit"), QStringLiteral("Entries per page (default 100)."),
        QStringLiteral("N"), QStringLiteral("100"));
    p.addOptions({ after, limit });
    p.parse(args);
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig&) {
        auto entries = records.audit().entries(p.value(after).toLongLong(), p.value(limit).toInt());
        if (!entries)
            return report(entries.error());
        QJsonArray a;
        for (const auto& e : *entries) {
            if (p.json()) {
                a.append(QJsonObject { { QStringLiteral("seq"), static_cast<double>(e.seq) },
                    { QStringLiteral("at"), e.at }, { QStringLiteral("station"), e.station },
                    { QStringLiteral("operator"), e.operatorName }, { QStringLiteral("kind"), e.kind },
                    { QStringLiteral("subject"), e.subject }, { QStringLiteral("detail"), e.detail } });
            } else {
                out() << e.seq << "  " << e.at << "  " << e.kind.leftJustified(10) << "  " << e.subject << "  "
                      << e.station << "/" << e.operatorName
                      << (e.detail.isEmpty() ? QString() : QStringLiteral("  ") + e.detail) << Qt::endl;
            }
        }
        if (p.json())
            out() << QJsonDocument(a).toJson(QJsonDocument::Compact) << Qt::endl;
        return 0;
    });
}

} // namespace imprint::app::cli
