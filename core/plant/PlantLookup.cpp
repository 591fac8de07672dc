#include "plant/PlantLookup.h"

#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "plant/PlantDatabase.h"
#include "plant/PlantPush.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace imprint::core {

namespace {

/// The subject's serialNumber: the device a certificate of this station's profiles is for.
QString subjectSerialNumber(X509* cert)
{
    X509_NAME* name = X509_get_subject_name(cert);
    const int at = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
    if (at < 0)
        return {};
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
    return QString::fromUtf8(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)), ASN1_STRING_length(value));
}

/// One station's certificates of device `serial`, each verified here: the certificate its
/// row names, for this device, verifying to a root this station trusts (the station's chain
/// from the plant gives the intermediates only: a root in it counts for nothing), and the
/// upstream's certificate, if any, verifying to those roots for the same key.
QJsonArray verifiedCertificates(const QJsonObject& record, const QList<QByteArray>& roots, const QString& serial)
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
        } else if (const QString named = subjectSerialNumber(cert->get()); named != serial) {
            problem = QStringLiteral("the certificate is not for device %1 (it names \"%2\")").arg(serial, named);
        } else {
            for (const QJsonValue& pem : record[QStringLiteral("chains")].toArray()) {
                auto chain = ossl::certsDerFromPem(pem.toString().toLatin1());
                if (!chain || chain->isEmpty())
                    continue;
                if (!roots.contains(chain->last())) {
                    problem = QStringLiteral("its station's root is not one this station trusts");
                    continue;
                }
                auto verified = verifyToAnchors(der, roots, *chain);
                problem = verified ? QString() : verified.error().text();
                if (verified)
                    break;
            }
        }
        if (c.contains(QStringLiteral("upstream_der"))) {
            const QByteArray up = QByteArray::fromBase64(c[QStringLiteral("upstream_der")].toString().toLatin1());
            auto upCert = ossl::certFromDer(up);
            QString upProblem;
            if (!upCert || !cert)
                upProblem = QStringLiteral("it is not a certificate");
            else if (EVP_PKEY_eq(X509_get0_pubkey(upCert->get()), X509_get0_pubkey(cert->get())) != 1)
                upProblem = QStringLiteral("it is for another key");
            else if (auto verified = verifyToAnchors(up, roots, {}); !verified)
                upProblem = verified.error().text();
            c[QStringLiteral("upstream_verified")] = upProblem.isEmpty();
            if (!upProblem.isEmpty())
                c[QStringLiteral("upstream_problem")] = upProblem;
            c.remove(QStringLiteral("upstream_der"));
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
        return std::unexpected(
            Error { db.error().code == ErrorCode::NotInitialized ? ErrorCode::NotInitialized : ErrorCode::Io,
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
        r[QStringLiteral("certificates")] = verifiedCertificates(r, roots, serial);
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
