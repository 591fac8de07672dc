#include "SigningService.h"
#include "TestSupport.h"
#include "Token.h"

#include <QFile>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace imprint;
using namespace imprint::core;

namespace {

Secret secret(const char* s)
{
    return Secret(QByteArray(s));
}

/// A fresh token on `module` with an EC P-256 key "ca", handed to a signing service.
struct ServiceOnFreshToken {
    test::FreshSoftHsm softhsm;
    std::shared_ptr<hsm::SigningService> service;
    QByteArray spki;

    explicit ServiceOnFreshToken(const QString& module)
    {
        auto token = hsm::Token::initialize(module, QStringLiteral("Line"), secret("so-pin-1234"), secret("user-1234"));
        INFO((token ? QString() : token.error().text()).toStdString());
        REQUIRE(token.has_value());
        REQUIRE((*token)->login(secret("user-1234")).has_value());
        auto key = (*token)->generateKey(QStringLiteral("ca"), QByteArray("\x01", 1), hsm::KeyType::EcP256);
        REQUIRE(key.has_value());
        spki = *key;
        service = hsm::SigningService::create(std::move(*token));
        auto unlocked = service->unlock(secret("user-1234"));
        INFO((unlocked ? QString() : unlocked.error().text()).toStdString());
        REQUIRE(unlocked.has_value());
    }
};

bool verifies(const QByteArray& spki, const QByteArray& data, const QByteArray& signature)
{
    auto key = ossl::publicKeyFromDer(spki);
    return key && ossl::verifySha256(key->get(), data, signature);
}

} // namespace

TEST_CASE("Eight threads sign at once through the signing service, and every signature verifies")
{
    ServiceOnFreshToken t { QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE) };
    auto signer = t.service->signer(QStringLiteral("ca"));
    REQUIRE(signer.has_value());
    CHECK((*signer)->publicKey() == t.spki);

    constexpr int Threads = 8;
    constexpr int PerThread = 150;
    std::atomic<int> good { 0 }, bad { 0 };
    std::vector<std::thread> pool;
    for (int th = 0; th < Threads; ++th) {
        pool.emplace_back([&, th] {
            for (int i = 0; i < PerThread; ++i) {
                const QByteArray data = QByteArray::number(th) + '/' + QByteArray::number(i);
                auto sig = (*signer)->signSha256(data);
                // A signature over other data must not pass: the check below is a real one.
                if (sig && verifies(t.spki, data, *sig) && !verifies(t.spki, data + 'x', *sig))
                    ++good;
                else
                    ++bad;
            }
        });
    }
    for (auto& th : pool)
        th.join();
    CHECK(bad == 0);
    CHECK(good == Threads * PerThread);
}

TEST_CASE("An RSA-3072 CA key signs PKCS#1 v1.5 signatures that verify")
{
    test::FreshSoftHsm softhsm;
    auto token = hsm::Token::initialize(
        QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE), QStringLiteral("R"), secret("so-pin-1234"), secret("user-1234"));
    REQUIRE(token.has_value());
    REQUIRE((*token)->login(secret("user-1234")).has_value());
    auto spki = (*token)->generateKey(QStringLiteral("rsa"), QByteArray("\x02", 1), hsm::KeyType::Rsa3072);
    REQUIRE(spki.has_value());
    auto service = hsm::SigningService::create(std::move(*token));
    REQUIRE(service->unlock(secret("user-1234")).has_value());
    auto signer = service->signer(QStringLiteral("rsa"));
    REQUIRE(signer.has_value());
    auto sig = (*signer)->signSha256("payload");
    REQUIRE(sig.has_value());
    CHECK(sig->size() == 384);
    CHECK(verifies(*spki, "payload", *sig));
}

TEST_CASE("When the token is pulled mid-run, signing fails cleanly and resumes once it is back")
{
    test::FreshSoftHsm softhsm;
    const QString unplugFile = softhsm.tmp.filePath(QStringLiteral("unplugged"));
    qputenv("IMPRINT_UNPLUG_FILE", QFile::encodeName(unplugFile));
    ServiceOnFreshToken t { QStringLiteral(IMPRINT_UNPLUG_MODULE) };
    auto signer = t.service->signer(QStringLiteral("ca"));
    REQUIRE(signer.has_value());
    REQUIRE((*signer)->signSha256("before").has_value());

    auto unplug = [&] { QFile(unplugFile).open(QIODevice::WriteOnly); };
    auto replug = [&] { QFile::remove(unplugFile); };

    SECTION("one caller")
    {
        unplug();
        auto gone = (*signer)->signSha256("while gone");
        REQUIRE_FALSE(gone.has_value());
        CHECK(gone.error().code == ErrorCode::Hsm);
        CHECK(gone.error().reason == QLatin1String("token-lost"));
        CHECK(gone.error().message.contains(QStringLiteral("not available")));
        CHECK(gone.error().detail.contains(QStringLiteral("CKR_DEVICE_REMOVED")));
        CHECK_FALSE(t.service->isAvailable());
        // Still gone: the service looks for it, does not find it, and says so again.
        auto still = (*signer)->signSha256("still gone");
        REQUIRE_FALSE(still.has_value());
        CHECK(still.error().reason == QLatin1String("token-lost"));

        replug();
        auto back = (*signer)->signSha256("after");
        INFO((back ? QString() : back.error().text()).toStdString());
        REQUIRE(back.has_value());
        CHECK(verifies(t.spki, "after", *back));
        CHECK(t.service->isAvailable());
    }

    SECTION("eight callers at once")
    {
        std::atomic<bool> stop { false };
        std::atomic<int> good { 0 }, lost { 0 }, other { 0 };
        std::vector<std::thread> pool;
        for (int th = 0; th < 8; ++th) {
            pool.emplace_back([&] {
                while (!stop) {
                    auto sig = (*signer)->signSha256("busy");
                    if (sig && verifies(t.spki, "busy", *sig))
                        ++good;
                    else if (!sig && sig.error().code == ErrorCode::Hsm
                        && sig.error().reason == QLatin1String("token-lost"))
                        ++lost;
                    else
                        ++other;
                }
            });
        }
        auto waitFor = [](std::atomic<int>& counter, int atLeast) {
            for (int i = 0; i < 2000 && counter < atLeast; ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
        };
        waitFor(good, 50);
        unplug();
        waitFor(lost, 50);
        const int goodWhileGone = good;
        replug();
        waitFor(good, goodWhileGone + 200);
        stop = true;
        for (auto& th : pool)
            th.join();
        CHECK(lost >= 50);
        CHECK(good >= goodWhileGone + 200);
        CHECK(other == 0);
    }
    replug();
    qunsetenv("IMPRINT_UNPLUG_FILE");
}

TEST_CASE("A wrong PIN at unlock is refused and not kept for later")
{
    test::FreshSoftHsm softhsm;
    {
        auto token = hsm::Token::initialize(QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE), QStringLiteral("P"),
            secret("so-pin-1234"), secret("right-1"));
        REQUIRE(token.has_value());
    }
    auto token = hsm::Token::open(QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE), QStringLiteral("P"));
    REQUIRE(token.has_value());
    auto fresh = hsm::SigningService::create(std::move(*token));
    auto r = fresh->unlock(secret("wrong-1"));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == ErrorCode::PinRejected);
    CHECK(r.error().detail.contains(QStringLiteral("CKR_PIN_INCORRECT")));
    CHECK_FALSE(fresh->isAvailable());
    CHECK(fresh->unlock(secret("right-1")).has_value());
    CHECK(fresh->isAvailable());
}

TEST_CASE("A locked service signs nothing until a person unlocks it again")
{
    ServiceOnFreshToken t { QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE) };
    auto signer = t.service->signer(QStringLiteral("ca"));
    REQUIRE(signer.has_value());
    REQUIRE((*signer)->signSha256("open").has_value());
    t.service->lock();
    CHECK_FALSE(t.service->isAvailable());
    auto locked = (*signer)->signSha256("locked");
    REQUIRE_FALSE(locked.has_value());
    CHECK(locked.error().code == ErrorCode::PinRejected);
    CHECK(locked.error().message.contains(QStringLiteral("unlock the station")));
    REQUIRE(t.service->unlock(secret("user-1234")).has_value());
    auto again = (*signer)->signSha256("again");
    REQUIRE(again.has_value());
    CHECK(verifies(t.spki, "again", *again));
}

TEST_CASE("An unlocked service takes no other PIN: unlocking it again with a wrong one is refused, the right one stays")
{
    ServiceOnFreshToken t { QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE) };
    REQUIRE(t.service->unlock(secret("user-1234")).has_value());
    // The token is logged in: C_Login would answer CKR_USER_ALREADY_LOGGED_IN to any PIN.
    auto wrong = t.service->unlock(secret("guess-0000"));
    REQUIRE_FALSE(wrong.has_value());
    CHECK(wrong.error().code == ErrorCode::PinRejected);
    auto right = t.service->pinMatches(secret("user-1234"));
    REQUIRE(right.has_value());
    CHECK(*right);
    auto guess = t.service->pinMatches(secret("guess-0000"));
    REQUIRE(guess.has_value());
    CHECK_FALSE(*guess);
    CHECK(t.service->unlock(secret("user-1234")).has_value());
}
