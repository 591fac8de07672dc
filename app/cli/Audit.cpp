// imprintctl audit verify, audit show: the audit log, checked and read.

#include "StationContext.h"
#include "StationSetup.h"
#include "cli/Command.h"
#include "pki/OpenSsl.h"
#include "plant/PlantDatabase.h"
#include "plant/PlantPush.h"

#include <QRegularExpression>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <memory>

#include <openssl/rand.h>

namespace imprint::app::cli {

namespace {

/// Exit statuses of `audit verify` besides 0 (intact) and 1 (tampered): a script must
/// never read "could not check" as "checked".
constexpr int Unverifiable = 4; ///< the pinned audit key could not be read: signatures unchecked
constexpr int Unsealed = 5; ///< newest entries under no checkpoint (a station that stops seals them)

} // namespace

QJsonObject headJson(const core::AuditCheckpoint& c, const core::StationConfig& config)
{
    return QJsonObject { { QStringLiteral("imprint_audit_head"), 1 }, { QStringLiteral("station"), config.stationName },
        { QStringLiteral("station_id"), config.stationId }, { QStringLiteral("entry"), static_cast<double>(c.seq) },
        { QStringLiteral("hash"), c.hash }, { QStringLiteral("at"), c.at },
        { QStringLiteral("key_sha256"), c.keySha256 },
        { QStringLiteral("signature"), QString::fromLatin1(c.signature.toBase64()) } };
}

namespace {

core::Result<core::AuditCheckpoint> readHead(const QString& path)
{
    auto bytes = readInput(path, 64 * 1024);
    if (!bytes)
        return std::unexpected(bytes.error());
    const QJsonObject o = QJsonDocument::fromJson(*bytes).object();
    core::AuditCheckpoint c;
    c.seq = static_cast<qint64>(o.value(QStringLiteral("entry")).toDouble());
    c.hash = o.value(QStringLiteral("hash")).toString();
    c.at = o.value(QStringLiteral("at")).toString();
    c.keySha256 = o.value(QStringLiteral("key_sha256")).toString();
    c.signature = QByteArray::fromBase64(o.value(QStringLiteral("signature")).toString().toLatin1());
    static const QRegularExpression hex(QStringLiteral("^[0-9a-f]{64}$"));
    if (o.value(QStringLiteral("imprint_audit_head")).toInt() != 1 || c.seq < 1 || !hex.match(c.hash).hasMatch()
        || c.signature.isEmpty())
        return core::fail(core::ErrorCode::BadInput,
            QStringLiteral("%1 is not an audit head written by imprintctl audit head.").arg(path));
    return c;
}

} // namespace

int auditVerify(const QStringList& args)
{
    CommandLine p(QStringLiteral("Check the audit log's hash chain, its checkpoints (signed by the station's pinned "
                                 "audit key) and the certificates it covers; name the first edited, missing or "
                                 "reordered entry. Exit 0 only if intact and sealed: 1 tampered, 4 signatures could "
                                 "not be checked, 5 too many newest entries under no checkpoint."),
        CommandLine::DataDirAndJson);
    QCommandLineOption since(QStringLiteral("since"),
        QStringLiteral("A head kept elsewhere (imprintctl audit head): the log must still extend it."),
        QStringLiteral("HEAD_FILE"));
    QCommandLineOption expectKey(QStringLiteral("expect-key"),
        QStringLiteral("The audit key's SHA-256 as recorded off the station (printed by init and audit head): the "
                       "pin in station.ini must be this one."),
        QStringLiteral("SHA256"));
    QCommandLineOption againstPlant(QStringLiteral("against-plant"),
        QStringLiteral("The newest signed head the plant record holds of this station: the log must still extend it."));
    p.addOptions({ since, expectKey, againstPlant });
    p.parse(args);
    std::optional<core::AuditCheckpoint> kept;
    if (p.isSet(since)) {
        auto head = readHead(p.value(since));
        if (!head)
            return report(head.error());
        kept = *head;
    }
    return withRecords(p, Access::Read, [&](core::RecordStore& records, const core::StationConfig& config) {
        QString keptFrom = p.value(since);
        std::pair<qint64, QString> plantHead;
        if (p.isSet(againstPlant)) {
            auto db = core::openPlant(config.plant);
            if (!db)
                return report(db.error());
            auto heads = core::plant::auditHeads(*db, config.stationId);
            if (!heads)
                return report(heads.error());
            if (heads->isEmpty()) {
                err() << "The plant record holds no signed audit head of this station yet (imprintctl plant push)."
                      << Qt::endl;
                return 1;
            }
            // The newest head's signature is checked as a kept head's is (below); the log must
            // then still hold that checkpoint entry itself, with the hash the plant holds.
            kept = heads->last().signedHead;
            plantHead = { heads->last().seq, heads->last().hash };
            keptFrom = QStringLiteral("the plant record");
            if (!p.json())
                out() << "The plant record holds " << heads->size() << " signed head(s) of this station; the newest "
                      << "is entry " << heads->last().seq << "." << Qt::endl;
        }
        // Checkpoint signatures are checked with the audit key's public half, read from the
        // token (no PIN needed): the one object with its label, matching the pin.
        core::CheckpointVerifier verifier;
        QString keyProblem;
        if (p.isSet(expectKey) && p.value(expectKey).trimmed().toLower() != config.auditKeySha256) {
            keyProblem = QStringLiteral("the audit key pinned in station.ini (sha256 %1) is not the one you expect")
                             .arg(config.auditKeySha256.left(16));
        } else if (auto spki = hsm::readAuditPublicKey(config); !spki) {
            keyProblem = spki.error().message;
        } else if (auto retired = hsm::readRetiredAuditKeys(config); !retired) {
            keyProblem = retired.error().message;
        } else if (verifier = core::AuditLog::verifierFor(QList<QByteArray> { *spki } + *retired); !verifier) {
            keyProblem = QStringLiteral("an audit key in the token does not parse");
        }
        if (kept && verifier
            && !verifier(kept->keySha256, core::AuditLog::checkpointMessage(kept->seq, kept->hash), kept->signature)) {
            err() << "The head in " << keptFrom
                  << " is not signed by this station's pinned audit key: it is not this station's, or it was edited."
                  << Qt::endl;
            return 1;
        }
        if (p.isSet(againstPlant) && kept) {
            // Signed: now the checkpoint entry the plant holds, with its hash, stands for it.
            core::AuditCheckpoint entry = *kept;
            entry.seq = plantHead.first;
            entry.hash = plantHead.second;
            kept = entry;
        }
        auto v = records.audit().verify(verifier, {}, kept, config.auditKeySha256);
        if (!v)
            return report(v.error());
        int status = 0;
        QString verdict = QStringLiteral("intact");
        if (!v->problem.isEmpty()) {
            status = 1;
            verdict = QStringLiteral("tampered");
        } else if (!v->signaturesChecked) {
            status = Unverifiable;
            verdict = QStringLiteral("unverifiable");
        } else if (v->unsealed() > 0) {
            status = Unsealed;
            verdict = QStringLiteral("unsealed");
        }
        if (p.json()) {
            out() << QJsonDocument(
                QJsonObject { { QStringLiteral("verdict"), verdict }, { QStringLiteral("intact"), status == 0 },
                    { QStringLiteral("entries"), static_cast<double>(v->entries) },
                    { QStringLiteral("problem"), status == Unverifiable ? keyProblem : v->problem },
                    { QStringLiteral("first_bad_entry"), static_cast<double>(v->firstBadEntry) },
                    { QStringLiteral("checkpoints"), static_cast<double>(v->checkpoints) },
                    { QStringLiteral("last_checkpoint"), static_cast<double>(v->lastCheckpoint) },
                    { QStringLiteral("unsealed"), static_cast<double>(v->unsealed()) },
                    { QStringLiteral("signatures_checked"), v->signaturesChecked },
                    { QStringLiteral("extends_head"), kept ? QJsonValue(status != 1) : QJsonValue() } })
                         .toJson(QJsonDocument::Compact)
                  << Qt::endl;
            return status;
        }
        if (status == 1) {
            out() << "TAMPERED: " << v->problem << Qt::endl;
            return status;
        }
        if (status == Unverifiable) {
            out() << "NOT VERIFIED: the checkpoints' signatures could not be checked (" << keyProblem
                  << "). The hash chain of " << v->entries
                  << " entries holds together, but anyone with the store file can recompute it." << Qt::endl;
            return status;
        }
        out() << "The audit log is intact: " << v->entries << " entries, and every certificate they name." << Qt::endl
              << v->checkpoints << " checkpoint(s) signed by the station's pinned audit key; the newest is entry "
              << v->lastCheckpoint << "." << Qt::endl;
        if (kept)
            out() << "It extends the head "
                  << (p.isSet(againstPlant) ? QStringLiteral("the plant record holds") : QStringLiteral("you kept"))
                  << " (entry " << kept->seq << " of " << kept->at << ")." << Qt::endl;
        if (status == Unsealed)
            out() << "UNSEALED: entries " << v->lastCheckpoint + 1 << "-" << v->entries
                  << " are chained but under no signed checkpoint. A running station seals every "
                  << config.auditCheckpointEvery
                  << " entries and when it stops, and the next start seals what a crash left; unsealed entries "
                     "after that mean checkpoints were removed and the entries after them rewritten. Compare with "
                     "a head kept elsewhere (--since)."
                  << Qt::endl;
        else
            out() << "Truncation of the newest entries shows only against a head kept elsewhere (imprintctl audit "
                     "head, then audit verify --since FILE)."
                  << Qt::endl;
        return status;
    });
}

int auditHead(const QStringList& args)
{
    CommandLine p(QStringLiteral("Seal the audit log now (a checkpoint signed by the station's audit key in the token) "
                                 "and print its signed head: keep it elsewhere (a file of the MES, a printed "
                                 "report, the plant record); imprintctl audit verify --since FILE later shows the "
                                 "log still extends it."));
    QCommandLineOption outFile(
        QStringLiteral("out"), QStringLiteral("Write the head to FILE."), QStringLiteral("FILE"));
    p.addOption(outFile);
    p.parse(args);
    const core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto key = hsm::openAuditKey(*ca, dir, config);
    if (!key)
        return report(key.error());
    auto store = app::openStationStore(dir, config);
    if (!store)
        return report(store.error());
    // A person's act: what the log holds now is sealed as it is (the station by itself seals
    // only a short tail after a checkpoint of its own), so look with audit verify first.
    if (auto sealed = store->audit().seal(true); !sealed)
        return report(sealed.error());
    // Signed now, over the log's newest entry: a head vouches for what the key holder saw,
    // never for a checkpoint entry read back from the store.
    auto newest = store->audit().head();
    if (!newest)
        return report(newest.error());
    if (newest->seq == 0)
        return report(
            core::fail(core::ErrorCode::NotFound, QStringLiteral("The audit log is empty: no head yet.")).error());
    auto signature = (*key)->signSha256(core::AuditLog::checkpointMessage(newest->seq, newest->hash));
    if (!signature)
        return report(signature.error());
    core::AuditCheckpoint head = *newest;
    head.at = core::sql::now();
    head.keySha256 = core::ossl::sha256Hex((*key)->publicKey());
    head.signature = *signature;
    const QByteArray json = QJsonDocument(headJson(head, config)).toJson(QJsonDocument::Indented);
    if (p.isSet(outFile)) {
        if (auto r = writeOutput(p.value(outFile), json); !r)
            return report(r.error());
        out() << "Audit head: entry " << head.seq << ", hash " << head.hash << ", written to " << p.value(outFile)
              << Qt::endl;
    } else {
        out() << json;
    }
    return 0;
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

namespace imprint::app::cli {

int auditRotateKey(const QStringList& args)
{
    CommandLine p(QStringLiteral(
        "Make a new audit key in the token and hand the log to it: the key in use signs the handover (an entry naming "
        "the new key), the new key signs from then on, and station.ini pins it. The old key's public half stays in the "
        "token (listed as retired), so that the checkpoints it signed are checked still; only a checkpoint in the span "
        "the log gave each key passes. Run it as the station's user with the service stopped."));
    QCommandLineOption label(QStringLiteral("label"),
        QStringLiteral("The new key's label in the token (default: imprint-audit- and 8 random hex digits)."),
        QStringLiteral("LABEL"));
    const QCommandLineOption op = option::operatorName(QStringLiteral("Recorded with the handover."));
    p.addOptions({ label, op });
    p.parse(args);
    const core::DataDir dir = p.dataDir();
    core::StationConfig config;
    auto ca = openCeremonyKey(dir, &config);
    if (!ca)
        return report(ca.error());
    auto oldKey = hsm::openAuditKey(*ca, dir, config); // pins it first on a station that has none yet
    if (!oldKey)
        return report(oldKey.error());
    unsigned char random[8];
    if (RAND_bytes(random, sizeof random) != 1)
        return report(core::fail(core::ErrorCode::Crypto, QStringLiteral("The random generator failed.")).error());
    const QByteArray id(reinterpret_cast<const char*>(random), sizeof random);
    const QString newLabel = p.isSet(label)
        ? p.value(label).trimmed()
        : QStringLiteral("imprint-audit-") + QString::fromLatin1(id.left(4).toHex());
    if (newLabel.isEmpty() || newLabel == config.auditKeyLabel || config.auditRetiredLabels.contains(newLabel))
        return usageError(args, QStringLiteral("give a label no audit key has had (--label)"));
    if (ca->service->token().publicKey(newLabel))
        return usageError(args, QStringLiteral("the token already holds a key labelled %1").arg(newLabel));
    auto spki = ca->service->token().generateKey(newLabel, id, hsm::KeyType::EcP256, true);
    if (!spki)
        return report(spki.error());
    auto newKey = ca->service->signer(newLabel);
    if (!newKey)
        return report(newKey.error());
    const QString oldSha = config.auditKeySha256;
    const QString newSha = core::ossl::sha256Hex((*newKey)->publicKey());
    auto store = app::openStationStore(dir, config);
    if (!store)
        return report(store.error());
    // The handover, sealed by the key in use; then the new key seals it too.
    if (auto r = store->audit().append(core::AuditKind::Setting, QStringLiteral("audit-key"),
            QStringLiteral("audit key rotated: sha256 %1 (label %2), after sha256 %3 (label %4)")
                .arg(newSha, newLabel, oldSha, config.auditKeyLabel),
            config.stationName, p.value(op));
        !r)
        return report(r.error());
    if (auto r = store->audit().seal(true); !r)
        return report(r.error());
    core::AuditLog::sealWith(*newKey, config.auditCheckpointEvery);
    if (auto r = store->audit().seal(true); !r)
        return report(r.error());
    config.auditRetiredLabels << config.auditKeyLabel;
    config.auditKeyLabel = newLabel;
    config.auditKeySha256 = newSha;
    ca->auditKey = *newKey;
    if (auto r = dir.saveConfig(config); !r)
        return report(r.error());
    out() << "The audit log is handed to the new key " << newLabel << ", sha256 " << newSha << " (was "
          << oldSha.left(16) << "...). station.ini pins it; keep the new value with the station's records." << Qt::endl;
    return 0;
}

} // namespace imprint::app::cli
