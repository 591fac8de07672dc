#pragma once

#include "DataDir.h"
#include "pki/EvpSigner.h"
#include "pki/OpenSsl.h"

#include <QJsonObject>
#include <QProcess>
#include <QStringList>
#include <QTemporaryDir>

#include <memory>

namespace imprint::test {

/// A data directory set up like `imprintctl init` does: its own SoftHSM2 token, the CA key
/// inside it, a demo root. Removed with the object.
class DemoStation {
public:
    DemoStation();
    const core::DataDir& dir() const { return m_dir; }
    QString path() const { return m_tmp.path(); }

private:
    QTemporaryDir m_tmp;
    core::DataDir m_dir;
};

/// A fresh, empty SoftHSM2 token store in a temporary directory, which this process's
/// SoftHSM2 then uses (SOFTHSM2_CONF). Removed with the object.
struct FreshSoftHsm {
    FreshSoftHsm();
    QTemporaryDir tmp;
};

/// imprint-devsim in the background; knows the pty paths it printed. Killed with the object.
class DevSim {
public:
    /// `as`: a program and its arguments the simulator runs under (setpriv as another user).
    explicit DevSim(const QStringList& args, const QStringList& as = {});
    ~DevSim();
    const QStringList& ports() const { return m_ports; }
    /// "--port P1 --port P2 ..."
    QStringList portArgs() const;

private:
    QProcess m_process;
    QStringList m_ports;
};

/// `imprintctl init` into `dataDir`, with slot timeouts short enough for tests but with room
/// for a loaded 2-core CI machine (a passing device must never time out).
void initQuickStation(const QString& dataDir);
/// initQuickStation in `tmp`/station; returns its path.
QString quickStation(const QTemporaryDir& tmp);

/// Runs SQL statements (separated by ';') on a database file behind the station's back, as
/// a tamperer would.
void tamper(const QString& databasePath, const QString& sql);
/// The rows of a query on a data directory's store, behind the station's back: each row its
/// columns joined with '|'.
QStringList query(const QString& dataDir, const QString& sql);

struct ProcessResult {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

/// The device scenarios every transport is checked with (pty and emulated USB): a simulator
/// fault, the code the slot must end with (empty: it passes), and how many certificates the
/// store holds for the device afterwards (issued but never verified, unless it passed).
struct DeviceScenario {
    const char* fault;
    const char* code;
    int certificates;
    const char* certificateState = ""; ///< issued (never left), installed (taken, not proven), verified
    int maxFrame = 65536; ///< the device's max-frame
    int protocol = 3; ///< the newest protocol version the device speaks

    /// A name unique among the scenarios (a section name, a serial's tail).
    QString name() const;
};
const QList<DeviceScenario>& deviceScenarios();

/// One JSON object per non-empty line (imprintctl --json output); fails the test on bad JSON.
QList<QJsonObject> jsonLines(const QByteArray& out);

/// The certificates of a PKCS#7 bundle as `openssl pkcs7 -print_certs` reads them (DER each).
QList<QByteArray> bundleCertificates(const QString& path);

/// Runs imprintctl with `args` on the data directory `dataDir`, to completion.
ProcessResult ctl(const QString& dataDir, QStringList args);

/// Runs a program to completion (60 s at most).
ProcessResult run(const QString& program, const QStringList& args, const QByteArray& input = {});

/// A PKCS#10 request for `serial` signed by `key` (or by `signingKey` when given, to forge it).
QByteArray makeCsr(EVP_PKEY* key, const QString& serial, EVP_PKEY* signingKey = nullptr);

/// Runs openssl with `args`; the test stops when it fails.
ProcessResult openssl(const QStringList& args);

/// The corporate side: a CA (its key in a file, as the test peer's), certifying the RA.
struct UpstreamPki {
    explicit UpstreamPki(const QString& where);
    QString file(const QString& name) const { return dir + u'/' + name; }
    QString key() const { return file(QStringLiteral("ca.key")); }
    QString cert() const { return file(QStringLiteral("ca.pem")); }
    /// Certifies a request (PEM or DER) as the corporate CA.
    QString certify(const QString& request, const QString& out, bool der = false) const;
    QString dir;
};

/// A station with its RA key certified by the corporate CA, pointed at `url`.
void enrollStation(const QString& dataDir, const UpstreamPki& pki, const QString& url);

/// One part of an exported batch checks alone: openssl cms -verify of its manifest, the
/// archive's SHA-256, each file's in it.
[[nodiscard]] bool partVerifies(const QString& batch, const QString& part, const QString& anchors);
/// Whether an exported batch's batch.json verifies (openssl cms) to `anchors`, and every part it
/// lists (partVerifies).
bool batchVerifies(const QString& batch, const QString& anchors);

} // namespace imprint::test
