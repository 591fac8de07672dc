#include "pki/CertificateTemplate.h"
#include "TestSupport.h"
#include "pki/CertificateBuilder.h"
#include "pki/CsrCheck.h"
#include "pki/Der.h"
#include "pki/EvpSigner.h"
#include "pki/IssuingCa.h"

#include <openssl/core_names.h>
#include <openssl/pkcs7.h>

#include <catch2/catch.hpp>

using namespace imprint;
using namespace imprint::core;

namespace {

/// An in-memory CA (EvpSigner) with a self-signed certificate carrying an SKI.
struct MemoryCa {
    std::shared_ptr<EvpSigner> key;
    QByteArray certDer;

    MemoryCa()
    {
        auto k = EvpSigner::generateP256();
        REQUIRE(k.has_value());
        key = std::make_shared<EvpSigner>(std::move(*k));
        auto name = makeName({ { QStringLiteral("O"), QStringLiteral("Test") },
            { QStringLiteral("CN"), QStringLiteral("Template Test CA") } });
        REQUIRE(name.has_value());
        CertificateBuilder b;
        const QDateTime now = QDateTime::currentDateTimeUtc();
        b.subject(name->get())
            .publicKey(key->key())
            .validity(now, now.addYears(5))
            .extension(NID_basic_constraints, "critical,CA:TRUE")
            .extension(NID_key_usage, "critical,keyCertSign")
            .extension(NID_subject_key_identifier, "hash");
        REQUIRE(b.randomSerial().has_value());
        auto cert = b.sign(*key);
        REQUIRE(cert.has_value());
        certDer = ossl::certToDer(cert->get());
    }
};

QByteArray extensionValue(X509* cert, int nid, bool* critical = nullptr)
{
    const int idx = X509_get_ext_by_NID(cert, nid, -1);
    if (idx < 0)
        return {};
    X509_EXTENSION* ext = X509_get_ext(cert, idx);
    if (critical)
        *critical = X509_EXTENSION_get_critical(ext) == 1;
    const ASN1_OCTET_STRING* v = X509_EXTENSION_get_data(ext);
    return QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)), ASN1_STRING_length(v));
}

} // namespace

TEST_CASE("A certificate from the template is strict DER that OpenSSL re-encodes byte for byte")
{
    MemoryCa ca;
    auto issuing = IssuingCa::create(ca.key, { ca.certDer });
    REQUIRE(issuing.has_value());
    CertificateProfile profile = CertificateProfile::idevid();
    profile.extendedKeyUsage = { QStringLiteral("1.3.6.1.5.5.7.3.2") };
    profile.hardwareModuleType = QStringLiteral("1.3.6.1.4.1.55555.1");
    profile.validityDays = 3650;
    auto prepared = issuing->prepare(profile);
    REQUIRE(prepared.has_value());

    ossl::PKey device { EVP_EC_gen("P-256") };
    DeviceIdentity id;
    id.serial = QStringLiteral("TPL-0001");
    id.model = QStringLiteral("Sensor 9");
    auto issued = issuing->issue(*prepared, id, ossl::publicKeyDer(device.get()));
    REQUIRE(issued.has_value());

    auto cert = ossl::certFromDer(issued->der);
    REQUIRE(cert.has_value());
    X509* x = cert->get();
    // DER is canonical: OpenSSL's encoding of what it decoded is the same bytes.
    unsigned char* again = nullptr;
    const int len = i2d_X509(x, &again);
    CHECK(QByteArray(reinterpret_cast<const char*>(again), len) == issued->der);
    OPENSSL_free(again);

    auto caCert = ossl::certFromDer(ca.certDer);
    CHECK(X509_verify(x, X509_get0_pubkey(caCert->get())) == 1);
    CHECK(X509_check_issued(caCert->get(), x) == X509_V_OK);
    CHECK(X509_get_version(x) == X509_VERSION_3);
    CHECK(ossl::nameToString(X509_get_subject_name(x))
        == QLatin1String("serialNumber=TPL-0001,CN=Sensor 9,OU=Manufacturing,O=Imprint Demo Devices"));
    CHECK(ossl::serialHex(x) == issued->serialHex);
    CHECK(issued->serialHex.size() == 32); // 16 octets, positive
    CHECK(BN_num_bits(ossl::BigNum(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)).get()) == 127);
    CHECK(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), time(nullptr) + 1) <= 0);
    int days = 0, secs = 0;
    REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)) == 1);
    CHECK(days == 3650);
    CHECK(secs == 0);

    bool critical = false;
    CHECK(extensionValue(x, NID_basic_constraints, &critical) == QByteArray::fromHex("3000"));
    CHECK(critical);
    CHECK(extensionValue(x, NID_key_usage, &critical) == QByteArray::fromHex("03020780"));
    CHECK(critical);
    CHECK(X509_get_key_usage(x) == KU_DIGITAL_SIGNATURE);
    CHECK(X509_get_extended_key_usage(x) == XKU_SSL_CLIENT);
    const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(x);
    const ASN1_OCTET_STRING* caSki = X509_get0_subject_key_id(caCert->get());
    REQUIRE(ski);
    REQUIRE(caSki);
    CHECK(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x), caSki) == 0);
    CHECK(X509_check_ca(x) == 0);
    // subjectAltName: otherName hardwareModuleName { 1.3.6.1.4.1.55555.1, "TPL-0001" }
    CHECK(extensionValue(x, NID_subject_alt_name).toHex()
        == QByteArray("3025a02306082b06010505070804a017301506092b0601040183b20301040854504c2d30303031"));
}

TEST_CASE("Two certificates never share a serial, and a serial is refused when the device serial cannot be one")
{
    MemoryCa ca;
    auto issuing = IssuingCa::create(ca.key, { ca.certDer });
    auto prepared = issuing->prepare(CertificateProfile::idevid());
    REQUIRE(prepared.has_value());
    ossl::PKey device { EVP_EC_gen("P-256") };
    DeviceIdentity id;
    id.serial = QStringLiteral("SN-1");
    QSet<QString> serials;
    for (int i = 0; i < 200; ++i) {
        auto c = issuing->issue(*prepared, id, ossl::publicKeyDer(device.get()));
        REQUIRE(c.has_value());
        serials.insert(c->serialHex);
    }
    CHECK(serials.size() == 200);
    id.serial = QStringLiteral("SN_underscore");
    auto refused = issuing->issue(*prepared, id, ossl::publicKeyDer(device.get()));
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().code == ErrorCode::BadInput);
}

TEST_CASE("Profile files are checked key by key")
{
    auto ok = CertificateProfile::fromJson(R"({"name":"s","subject":{"O":"A","CN":"Fixed"},"validity_days":365,
        "extended_key_usage":["clientAuth","1.2.3.4"],"hardware_module_name":{"type":"1.3.6.1.4.1.1"},
        "keys":["EC-P256","EC-P384"],"max_request_bytes":4096})",
        QStringLiteral("s.json"));
    REQUIRE(ok.has_value());
    CHECK(ok->commonName == QLatin1String("Fixed"));
    CHECK(ok->validityDays == 365);
    CHECK(ok->extendedKeyUsage == QStringList { QStringLiteral("1.3.6.1.5.5.7.3.2"), QStringLiteral("1.2.3.4") });
    CHECK(ok->csrPolicy.allowedKeys.size() == 2);
    CHECK(ok->csrPolicy.maxDerSize == 4096);

    const char* bad[] = {
        R"({"subject":{}})", // no name
        R"({"name":"x","colour":"blue"})", // unknown key
        R"({"name":"x","subject":{"C":"DE"}})", // not O/OU/CN
        R"({"name":"x","extended_key_usage":["fastAuth"]})",
        R"({"name":"x","hardware_module_name":{"type":"not.an.oid"}})",
        R"({"name":"x","keys":["DSA-1024"]})",
        R"({"name":"x","validity_days":-1})",
        R"([1,2])",
    };
    for (const char* json : bad) {
        INFO(json);
        auto r = CertificateProfile::fromJson(json, QStringLiteral("bad.json"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == ErrorCode::BadInput);
        CHECK(r.error().message.contains(QStringLiteral("bad.json")));
    }
}

TEST_CASE("A compressed EC point and its uncompressed form are one key to the reuse check")
{
    ossl::PKey key { EVP_EC_gen("P-256") };
    const QByteArray uncompressed = test::makeCsr(key.get(), QStringLiteral("C-1"));
    REQUIRE(EVP_PKEY_set_utf8_string_param(key.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, "compressed") == 1);
    const QByteArray compressed = test::makeCsr(key.get(), QStringLiteral("C-1"));
    REQUIRE(compressed != uncompressed);
    auto a = CsrCheck().check(uncompressed, QStringLiteral("C-1"), {});
    auto b = CsrCheck().check(compressed, QStringLiteral("C-1"), {});
    REQUIRE(a.has_value());
    INFO((b ? QString() : b.error().text()).toStdString());
    REQUIRE(b.has_value());
    CHECK(a->publicKeySha256 == b->publicKeySha256);
    CHECK(a->publicKeyDer == b->publicKeyDer);
}

TEST_CASE("The DER reader refuses BER: indefinite and non-minimal lengths, and overruns")
{
    CHECK(der::Reader(QByteArray::fromHex("3000")).next().has_value());
    CHECK_FALSE(der::Reader(QByteArray::fromHex("308000000000")).next().has_value()); // indefinite
    CHECK_FALSE(der::Reader(QByteArray::fromHex("30810100")).next().has_value()); // long form below 128
    CHECK_FALSE(der::Reader(QByteArray::fromHex("3082000100")).next().has_value()); // leading zero length octet
    CHECK_FALSE(der::Reader(QByteArray::fromHex("3005000000")).next().has_value()); // runs past the end
    CHECK_FALSE(der::Reader(QByteArray::fromHex("1f2000")).next().has_value()); // high tag number
    CHECK(der::oid("1.2.840.10045.2.1") == QByteArray::fromHex("06072a8648ce3d0201"));
    CHECK(der::oid("1.3.6.1.4.1.55555.1") == QByteArray::fromHex("06092b0601040183b20301"));
    CHECK(der::oid("nonsense").isEmpty());

    // A request re-encoded with a non-minimal length is refused as malformed.
    ossl::PKey key { EVP_EC_gen("P-256") };
    QByteArray csr = test::makeCsr(key.get(), QStringLiteral("B-1"));
    REQUIRE(static_cast<unsigned char>(csr[1]) == 0x81);
    csr = csr.left(1) + QByteArray::fromHex("8200") + csr.mid(2);
    auto r = CsrCheck().check(csr, QStringLiteral("B-1"), {});
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason == QLatin1String("malformed"));
}

TEST_CASE("A certificate bundle is a PKCS#7 that OpenSSL reads back whole")
{
    MemoryCa a, b;
    const QByteArray p7 = der::certificateBundle({ a.certDer, b.certDer });
    const auto* p = reinterpret_cast<const unsigned char*>(p7.constData());
    std::unique_ptr<PKCS7, ossl::Deleter<PKCS7_free>> pkcs7 { d2i_PKCS7(nullptr, &p, p7.size()) };
    REQUIRE(pkcs7);
    CHECK(p == reinterpret_cast<const unsigned char*>(p7.constData()) + p7.size());
    REQUIRE(PKCS7_type_is_signed(pkcs7.get()));
    STACK_OF(X509)* certs = pkcs7->d.sign->cert;
    REQUIRE(sk_X509_num(certs) == 2);
    QSet<QByteArray> back { ossl::certToDer(sk_X509_value(certs, 0)), ossl::certToDer(sk_X509_value(certs, 1)) };
    CHECK(back == QSet<QByteArray> { a.certDer, b.certDer });
    // Canonical: OpenSSL writes the same bytes (it sorts the SET OF as DER requires).
    unsigned char* out = nullptr;
    const int len = i2d_PKCS7(pkcs7.get(), &out);
    CHECK(QByteArray(reinterpret_cast<const char*>(out), len) == p7);
    OPENSSL_free(out);
}
