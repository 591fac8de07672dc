#include "StationContext.h"

#include "UpstreamWorker.h"
#include "engine/CrlPublisher.h"
#include "engine/OfflineBatch.h"
#include "pki/CsrCheck.h"
#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

#include <QFile>
#include <QFileInfo>
#include <QUuid>

namespace imprint::app {

using namespace imprint::core;

QString StationContext::caSubject() const
{
    if (chain.isEmpty())
        return {};
    auto cert = ossl::certFromDer(chain.first());
    if (!cert)
        return {};
    return ossl::nameToString(X509_get_subject_name(cert->get()));
}

namespace {

/// What the station runs with, as a line for the audit log: the settings file, the CA chain
/// and the profile. A change between two starts (an edit by hand included) is audited.
QString settingsFingerprint(const DataDir& dir, const QString& profile)
{
    auto hashOf = [](const QString& path) {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? ossl::sha256Hex(f.readAll()) : QStringLiteral("(missing)");
    };
    return QStringLiteral("station.ini sha256 %1, ca/chain.pem sha256 %2, profile %3")
        .arg(hashOf(dir.configFile()), hashOf(dir.chainFile()), profile);
}

} // namespace

Backoffice::Wiring StationContext::backofficeWiring() const
{
    Backoffice::Wiring w;
    std::shared_ptr<hsm::SigningService> service = caKey.service;
    w.tokenStatus = [service] { return service->health(); };
    w.unlock = [service](const Secret& pin) { return service->unlock(pin); };
    w.lock = [service] { service->lock(); };
    w.checkPin = [service](const Secret& pin) { return service->pinMatches(pin); };
    w.pinState = [service] { return service->pinState(); };
    w.keyAttributes = [service, label = caKey.keyUri.object, uri = config.keyUri,
                          signer = caSigner]() -> Result<QList<QPair<QString, QString>>> {
        auto a = service->token().keyAttributes(label);
        if (!a)
            return std::unexpected(a.error());
        auto yes = [](bool b) { return b ? QStringLiteral("yes") : QStringLiteral("no"); };
        QList<QPair<QString, QString>> out { { QStringLiteral("URI"), uri } };
        if (auto pub = ossl::publicKeyFromDer(signer->publicKey()))
            out.append({ QStringLiteral("Algorithm"), CsrCheck::describeKey(pub->get()) });
        out.append({ QStringLiteral("CKA_SENSITIVE"), yes(a->sensitive) });
        out.append({ QStringLiteral("CKA_EXTRACTABLE"), yes(a->extractable) });
        out.append({ QStringLiteral("CKA_ALWAYS_SENSITIVE"), yes(a->alwaysSensitive) });
        out.append({ QStringLiteral("CKA_NEVER_EXTRACTABLE"), yes(a->neverExtractable) });
        out.append({ QStringLiteral("CKA_PRIVATE"), yes(a->isPrivate) });
        return out;
    };
    w.issueCrl
        = [signer = caSigner, chain = chain, crlFile = dir.crlFile()](RecordStore& store) -> Result<PublishedCrl> {
        auto caCert = ossl::certFromDer(chain.first());
        if (!caCert)
            return std::unexpected(caCert.error());
        return publishCrl(store, signer, caCert->get(), crlFile);
    };
    if (config.upstream.configured() || !config.upstream.raKeyUri.isEmpty()) {
        w.exportBatch = [config = config, ca = caKey, signer = caSigner, chain = chain, crlFile = dir.crlFile()](
                            RecordStore& store, const QString& folder, const QString& person,
                            const std::function<void(int, int)>& progress) -> Result<ExportReport> {
            auto upstream = openUpstreamClient(config, ca, true);
            if (!upstream)
                return std::unexpected(upstream.error());
            auto caCert = ossl::certFromDer(chain.first());
            if (!caCert)
                return std::unexpected(caCert.error());
            auto crl = publishCrl(store, signer, caCert->get(), crlFile);
            if (!crl)
                return std::unexpected(crl.error());
            return exportBatch(store, *upstream->client,
                ExportInputs {
                    config.stationName, upstream->raKey, upstream->raChain, chain, crl->pem, person, progress },
                folder);
        };
    }
    if (!config.upstream.trustedFile.isEmpty())
        w.upstreamAnchors = [config = config] { return readUpstreamAnchors(config); };
    if (auditSigner) {
        // The key in use and those rotated out: the log says which signed where.
        QList<QByteArray> keys { auditSigner->publicKey() };
        if (auto retired = hsm::readRetiredAuditKeys(config))
            keys += *retired;
        w.checkpointVerifier = AuditLog::verifierFor(keys);
    }
    return w;
}

Station::RegistrarFactory StationContext::registrarFactory() const
{
    return [signer = caSigner, chain = chain, db = dir.database(), name = config.stationName, profile = profile,
               lot = lot, grace = config.unshippedGraceMinutes, settings = settingsFingerprint(dir, profile.name),
               crlFile = dir.crlFile()]() -> Result<std::unique_ptr<Registrar>> {
        // The CA is checked before anything is written: a key and chain that do not belong
        // together stop the station with the records untouched.
        auto ca = IssuingCa::create(signer, chain);
        if (!ca)
            return std::unexpected(ca.error());
        auto prepared = ca->prepare(profile);
        if (!prepared)
            return std::unexpected(prepared.error());
        auto store = RecordStore::open(db);
        if (!store)
            return std::unexpected(store.error());
        auto last = store->audit().last(AuditKind::Setting, QStringLiteral("station-settings"));
        if (!last)
            return std::unexpected(last.error());
        if (!*last || (*last)->detail != settings) {
            if (auto r = store->audit().append(
                    AuditKind::Setting, QStringLiteral("station-settings"), settings, name, QStringLiteral("station"));
                !r)
                return std::unexpected(r.error());
        }
        auto registrar
            = std::make_unique<Registrar>(std::move(*store), std::move(*ca), std::move(*prepared), name, lot);
        registrar->setCrlFile(crlFile);
        registrar->setUnshippedGrace(grace);
        // What an earlier run left issued, never shipped, and is past its grace goes now.
        if (auto swept = registrar->revokeUnshipped(true); !swept)
            return std::unexpected(swept.error());
        return registrar;
    };
}

Result<void> checkStoreIdentity(const DataDir& dir, StationConfig& config, bool claim)
{
    if (!claim && !QFileInfo::exists(dir.database()))
        return {};
    auto store = RecordStore::open(dir.database(), !claim);
    if (!store)
        return claim ? std::unexpected(store.error()) : Result<void> {};
    auto recorded = store->stationId();
    if (!recorded)
        return std::unexpected(recorded.error());
    auto refuse = [&](const QString& theirs) {
        return fail(ErrorCode::Store,
            QStringLiteral("The record store %1 belongs to another station (station id %2); this data directory is "
                           "station %3 (station.ini). Nothing was changed. Put this station's own store back, or "
                           "restore this station from its backup (imprintctl restore --in FILE --data-dir DIR).")
                .arg(dir.database(), theirs, config.stationId));
    };
    if (!recorded->isEmpty() && !config.stationId.isEmpty() && *recorded != config.stationId)
        return refuse(*recorded);
    if (!claim)
        return {};
    if (recorded->isEmpty()) {
        // The store's first start (or one from before ids): it takes this station's id, or
        // a new one. Two first starts at once agree on the one the store kept.
        auto kept = store->claimStationId(
            config.stationId.isEmpty() ? QUuid::createUuid().toString(QUuid::WithoutBraces) : config.stationId);
        if (!kept)
            return std::unexpected(kept.error());
        if (!config.stationId.isEmpty() && *kept != config.stationId)
            return refuse(*kept);
        recorded = *kept;
    }
    if (config.stationId.isEmpty()) {
        // A station.ini from before ids takes the store's. One that cannot be written (a
        // read-only directory) keeps working: the store's id is taken at every start.
        config.stationId = *recorded;
        (void)dir.saveConfig(config);
    }
    return {};
}

Result<RecordStore> openStationStore(const DataDir& dir, const StationConfig& config, bool readOnly)
{
    StationConfig unchanged = config; // nothing is claimed here
    if (auto mine = checkStoreIdentity(dir, unchanged, false); !mine)
        return std::unexpected(mine.error());
    auto store = RecordStore::open(dir.database(), readOnly);
    if (store || !readOnly || store.error().reason != QLatin1String("needs-upgrade"))
        return store;
    // After an upgrade of the programs the first command may be one that only reads (list,
    // show): the store's migrations run once here (each in its own transaction), then it is
    // checked and read. A store that cannot be written keeps its plain refusal.
    if (!RecordStore::open(dir.database(), false))
        return store;
    if (auto mine = checkStoreIdentity(dir, unchanged, false); !mine)
        return std::unexpected(mine.error());
    return RecordStore::open(dir.database(), true);
}

Result<StationContext> openStation(
    const QString& dataDir, PinPrompt* prompt, const QString& profile, const QString& lot)
{
    StationContext ctx;
    ctx.dir = DataDir(DataDir::resolve(dataDir));
    auto config = ctx.dir.loadConfig();
    if (!config)
        return std::unexpected(config.error());
    ctx.config = *config;
    if (auto space = ctx.dir.checkFreeSpace(); !space)
        return std::unexpected(space.error());
    // Another station's store is refused before a PIN is asked for or a lot looked up.
    if (auto mine = checkStoreIdentity(ctx.dir, ctx.config, false); !mine)
        return std::unexpected(mine.error());
    auto chain = ctx.dir.loadChain();
    if (!chain)
        return std::unexpected(chain.error());
    ctx.chain = *chain;
    QString profileName = profile;
    if (!lot.isEmpty()) {
        auto store = RecordStore::open(ctx.dir.database());
        if (!store)
            return std::unexpected(store.error());
        auto found = store->lots().find(lot);
        if (!found)
            return std::unexpected(found.error());
        if (!*found)
            return fail(ErrorCode::NotFound,
                QStringLiteral("There is no lot %1; create it first (imprintctl lot create).").arg(lot));
        if ((*found)->closed.isValid())
            return fail(ErrorCode::BadInput,
                QStringLiteral("Lot %1 was closed on %2 and takes no more devices; create a new lot "
                               "(imprintctl lot create).")
                    .arg(lot, (*found)->closed.toLocalTime().toString(Qt::ISODate)));
        if (!profile.isEmpty() && profile != (*found)->profile)
            return fail(ErrorCode::BadInput,
                QStringLiteral("Lot %1 is made with profile %2, not %3.").arg(lot, (*found)->profile, profile));
        profileName = (*found)->profile;
        ctx.lot = lot;
    }
    auto loaded = CertificateProfile::load(profileName, ctx.dir.profileDir());
    if (!loaded)
        return std::unexpected(loaded.error());
    ctx.profile = *loaded;
    auto ca = hsm::openCaKey(ctx.config, prompt);
    if (!ca)
        return std::unexpected(ca.error());
    ctx.caKey = *ca;
    auto signer = ctx.caKey.signer();
    if (!signer)
        return std::unexpected(signer.error());
    ctx.caSigner = *signer;
    auto audit = hsm::openAuditKey(ctx.caKey, ctx.dir, ctx.config);
    if (!audit)
        return std::unexpected(audit.error());
    ctx.auditSigner = *audit;
    if (auto mine = checkStoreIdentity(ctx.dir, ctx.config, true); !mine)
        return std::unexpected(mine.error());
    return ctx;
}

} // namespace imprint::app
