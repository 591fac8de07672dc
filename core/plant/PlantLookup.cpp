#include "plant/PlantLookup.h"

#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "plant/PlantDatabase.h"
#include "plant/PlantPush.h"

#include <QJsonArray>
#include <QJsonDocument>

namespace imprint::core {

namespace {

/// One station's certificates of a device, each verified here.
QJsonArray verifiedCertificates(const QJsonObject& record, const QList<QByteArray>& roots)
{
    QJsonArray out;
    for (const QJsonValue& v : record[QStringLiteral("certificates")].toArray()) {
        QJsonObject c = v.toObject();
        const QByteArray der = QByteArray::fromBase64(c[QStringLiteral("der")].toString().toLatin1());
        QString problem = QStringLiteral("its station's chain is not in the plant record");
        auto cert = ossl::certFromDer(der);
        if (!cert) {
            problem = QStringLiteral("the plant holds no certificate for it");
        } else if (ossl::serialHex(cert->get()) != c[QStringLiteral("serial")].toString()) {
            problem = QStringLiteral("the certificate the plant holds is not the one its row names");
        } else {
            for (const QJsonValue& pem : record[QStringLiteral("chains")].toArray()) {
                auto chain = ossl::certsDerFromPem(pem.toString().toLatin1());
                if (!chain || chain->isEmpty())
                    continue;
                if (!roots.contains(chain->last())) {
                    problem = QStringLiteral("its station's root is not one this station trusts");
                    continue;
                }
                auto verified = verifyChain(der, *chain);
                problem = verified ? QString() : verified.error().text();
                if (verified)
                    break;
            }
        }
        c[QStringLiteral("chain_verified")] = problem.isEmpty();
        if (!problem.isEmpty())
            c[QStringLiteral("chain_problem")] = problem;
        if (cert)
            c[QStringLiteral("pem")] = QString::fromLatin1(ossl::derToPem(der));
        c.remove(QStringLiteral("der"));
        out.append(c);
    }
    return out;
}

Result<pg::Connection> reach(const PlantConfig& config, const QString& cannot)
{
    auto db = openPlant(config);
    if (!db)
        return std::unexpected(Error { db.error().code == ErrorCode::NotInitialized ? ErrorCode::NotInitialized
                                                                                      : ErrorCode::Io,
            cannot.arg(db.error().message), db.error().detail, {} });
    return db;
}

} // namespace

Result<QJsonObject> lookUpPlantDevice(const PlantConfig& config, const QList<QByteArray>& roots, const QString& serial)
{
    auto db = reach(config,
        QStringLiteral("No device with serial %1 is recorded here, and the plant record cannot be read now: %2")
            .arg(serial, QStringLiteral("%1")));
    if (!db)
        return std::unexpected(db.error());
    auto found = plant::device(*db, serial);
    if (!found)
        return std::unexpected(found.error());
    if (found->isEmpty())
        return fail(ErrorCode::NotFound,
            QStringLiteral("No device with serial %1 is recorded, here or in the plant record.").arg(serial));
    QJsonArray records;
    for (const QJsonValue& v : (*found)[QStringLiteral("records")].toArray()) {
        QJsonObject r = v.toObject();
        r[QStringLiteral("certificates")] = verifiedCertificates(r, roots);
        r.remove(QStringLiteral("chains"));
        records.append(r);
    }
    QJsonObject o = records.first().toObject();
    o[QStringLiteral("records")] = records;
    o[QStringLiteral("source")] = QStringLiteral("plant record");
    o[QStringLiteral("as_of")] = QDateTime::currentDateTimeUtc().toString(Qt::ISODate);
    return o;
}

Result<QJsonObject> plantFigures(const PlantConfig& config)
{
    auto db = reach(config, QStringLiteral("The plant's figures cannot be read now: %1"));
    if (!db)
        return std::unexpected(db.error());
    auto figures = plant::figures(*db);
    if (!figures)
        return std::unexpected(figures.error());
    QJsonObject o = *figures;
    o[QStringLiteral("as_of")] = QDateTime::currentDateTimeUtc().toString(Qt::ISODate);
    return o;
}

} // namespace imprint::core
