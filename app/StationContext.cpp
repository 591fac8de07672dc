#include "StationContext.h"

#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "store/RecordStore.h"

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

Station::RegistrarFactory StationContext::registrarFactory() const
{
    return [signer = caSigner, chain = chain, db = dir.database(), name = config.stationName,
               profile = profile]() -> Result<std::unique_ptr<Registrar>> {
        auto store = RecordStore::open(db);
        if (!store)
            return std::unexpected(store.error());
        auto ca = IssuingCa::create(signer, chain);
        if (!ca)
            return std::unexpected(ca.error());
        auto prepared = ca->prepare(profile);
        if (!prepared)
            return std::unexpected(prepared.error());
        return std::make_unique<Registrar>(std::move(*store), std::move(*ca), std::move(*prepared), name);
    };
}

Result<StationContext> openStation(const QString& dataDir, PinPrompt* prompt, const QString& profile)
{
    StationContext ctx;
    ctx.dir = DataDir(DataDir::resolve(dataDir));
    auto config = ctx.dir.loadConfig();
    if (!config)
        return std::unexpected(config.error());
    ctx.config = *config;
    auto chain = ctx.dir.loadChain();
    if (!chain)
        return std::unexpected(chain.error());
    ctx.chain = *chain;
    auto loaded = CertificateProfile::load(profile, ctx.dir.profileDir());
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
    return ctx;
}

} // namespace imprint::app
