// imprint-devcheck, the conformance kit, against the simulator: every rule passes on a good
// device, and each simulator fault fails the rule it breaks and no other (rules that depend
// on a failed one are reported as not run, which is not a pass).

#include "TestSupport.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <catch2/catch.hpp>

using namespace imprint;

namespace {

const QString DevCheck = QStringLiteral(IMPRINT_DEVCHECK);

struct Outcome {
    int exitCode = -1;
    QStringList failed;
    QStringList passed;
    QStringList notRun;
    QByteArray out;
};

Outcome devcheck(const QStringList& simArgs, const QStringList& extra = {})
{
    test::DevSim sim(simArgs);
    auto r = test::run(DevCheck,
        QStringList { QStringLiteral("--port"), sim.ports().first(), QStringLiteral("--json"), QStringLiteral("--lock"),
            QStringLiteral("--quiet-ms"), QStringLiteral("200"), QStringLiteral("--timeout-ms"), QStringLiteral("4000"),
            QStringLiteral("--keygen-timeout-ms"), QStringLiteral("2000") }
            + extra);
    Outcome o;
    o.exitCode = r.exitCode;
    o.out = r.out;
    const QJsonObject doc = QJsonDocument::fromJson(r.out).object();
    for (const auto& v : doc[QStringLiteral("rules")].toArray()) {
        const QJsonObject rule = v.toObject();
        const QString result = rule[QStringLiteral("result")].toString();
        const QString id = rule[QStringLiteral("id")].toString();
        if (result == QLatin1String("fail"))
            o.failed << id;
        else if (result == QLatin1String("pass"))
            o.passed << id;
        else if (result == QLatin1String("not-run"))
            o.notRun << id;
    }
    return o;
}

} // namespace

TEST_CASE("imprint-devcheck: the simulator passes every rule of PROTOCOL.md, at every frame size and version")
{
    struct Case {
        const char* name;
        QStringList args;
        int rulesRun;
    };
    const QList<Case> cases {
        { "version 3, max-frame 512, makes and receives keys",
            { QStringLiteral("--max-frame"), QStringLiteral("512"), QStringLiteral("--key-mode"),
                QStringLiteral("both") },
            29 },
        { "version 3, max-frame 65536", { QStringLiteral("--key-mode"), QStringLiteral("both") }, 29 },
        { "version 2, max-frame 4096, makes keys only",
            { QStringLiteral("--protocol"), QStringLiteral("2"), QStringLiteral("--max-frame"),
                QStringLiteral("4096") },
            25 },
        { "version 3, receives keys only", { QStringLiteral("--key-mode"), QStringLiteral("inject") }, 23 },
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.name)
        {
            const Outcome o = devcheck(QStringList { QStringLiteral("--serial"), QStringLiteral("DC-GOOD") } + c.args);
            INFO(o.out.toStdString());
            CHECK(o.exitCode == 0);
            CHECK(o.failed.isEmpty());
            CHECK(o.notRun.isEmpty());
            CHECK(o.passed.size() == c.rulesRun);
        }
    }
}

TEST_CASE("imprint-devcheck: each simulator fault fails the rule it breaks, and no other")
{
    struct Case {
        const char* fault;
        const char* rule; ///< the one rule that fails; empty: the fault breaks no rule
        const char* keyMode = "both";
    };
    const QList<Case> cases {
        { "corrupt-frame", "answers-framed" },
        { "truncated-frame", "answers-framed" },
        { "oversized-frame", "answers-framed" },
        { "garbage-flood", "" }, // bytes between frames are ignored (PROTOCOL.md 1.2): allowed
        { "no-reply", "generate-key", "generate" },
        { "bad-csr-signature", "csr-signature", "generate" }, // with both, the injected key's request is broken too
        { "csr-other-serial", "csr-subject" },
        { "same-key", "new-key" },
        { "refuse-cert", "install-cert" },
        { "readback-mismatch", "read-cert" },
        { "bad-challenge", "sign-challenge" },
        { "no-repeat", "repeat" },
        { "state-before-args", "check-order" },
        { "ignore-sha", "staged-damaged" },
    };
    for (const Case& c : cases) {
        DYNAMIC_SECTION(c.fault)
        {
            const Outcome o = devcheck({ QStringLiteral("--serial"), QStringLiteral("DC-FAULT"),
                QStringLiteral("--fault"), QString::fromLatin1(c.fault), QStringLiteral("--key-mode"),
                QString::fromLatin1(c.keyMode), QStringLiteral("--max-frame"), QStringLiteral("512") });
            INFO(o.out.toStdString());
            if (QByteArray(c.rule).isEmpty()) {
                CHECK(o.exitCode == 0);
                CHECK(o.failed.isEmpty());
            } else {
                CHECK(o.exitCode == 1);
                CHECK(o.failed == QStringList { QString::fromLatin1(c.rule) });
            }
        }
    }
}

TEST_CASE("imprint-devcheck --identify prints the device's answer and changes nothing, and a bad port is exit 2")
{
    test::DevSim sim(
        { QStringLiteral("--serial"), QStringLiteral("DC-ID"), QStringLiteral("--max-frame"), QStringLiteral("512") });
    auto r = test::run(DevCheck, { QStringLiteral("--port"), sim.ports().first(), QStringLiteral("--identify") });
    REQUIRE(r.exitCode == 0);
    const QJsonObject id = QJsonDocument::fromJson(r.out).object();
    CHECK(id[QStringLiteral("serial")].toString() == QLatin1String("DC-ID"));
    CHECK(id[QStringLiteral("state")].toString() == QLatin1String("blank"));
    CHECK(id[QStringLiteral("protocol")].toInt() == 3);
    CHECK(id[QStringLiteral("capabilities")].toObject()[QStringLiteral("max-frame")].toInt() == 512);

    QTemporaryDir tmp;
    auto bad = test::run(DevCheck, { QStringLiteral("--port"), tmp.filePath(QStringLiteral("no-such-port")) });
    CHECK(bad.exitCode == 2);
    CHECK(bad.err.contains("no-such-port"));
}
