#pragma once

#include "Error.h"
#include "Secret.h"
#include "engine/StepTimeouts.h"

#include <QDateTime>
#include <QList>
#include <QString>

namespace imprint::core {

/// [upstream]: how the station reaches the corporate CA over CMP, and what it signs with.
struct UpstreamConfig {
    QString url; ///< the CMP server, http://host[:port]/path (RFC 6712) or https://
    QString trustedFile; ///< the upstream's trust anchors (PEM): answers and certificates verify to them
    QString recipient; ///< the upstream CA's name, e.g. "/CN=Corporate Device CA"; empty: the server's own
    /// [upstream] server-cert: the upstream's CMP signer certificate (PEM, first in the file),
    /// pinned: only answers signed with its key are accepted. Empty: any signer the anchors
    /// vouch for, unless serverName names one.
    QString serverCertFile;
    /// [upstream] server-name: the name answers must be sent by ("/CN=Corporate CMP"), their
    /// signer's certificate verifying to the anchors; a pin that survives the signer's renewal.
    QString serverName;
    QString raKeyUri; ///< PKCS#11 URI of the RA key in the token
    QString raCertFile; ///< the RA certificate and its issuers (PEM)
    int batchSize = 500; ///< rows per round of the sync
    /// CMP transactions kept in flight at once, each on a connection of its own. 32, measured
    /// (tests/bench/upstream-bench, 2 cores, 2,000 rows): at a 50 ms round trip 8 gives 70
    /// rows/s, 16 gives 135, 32 gives 238, 64 gives 266; on loopback 8, 16 and 32 give 403, 392
    /// and 370 (the cores, not the link, set the pace there).
    int inFlight = 32;
    int connectTimeoutS = 5; ///< making a connection, apart from the message timeout
    /// Ask the upstream for implicit confirmation (no certConf; see CmpOptions::implicitConfirm).
    bool implicitConfirm = false;
    int messageTimeoutS = 30; ///< one request and its answer
    int totalTimeoutS = 600; ///< a whole transaction, polling included
    int retryMinS = 5; ///< back-off after the first failed attempt, doubled each time (with jitter)
    int retryMaxS = 3600; ///< up to this
    int syncEveryS = 30; ///< the window's worker looks at the outbox this often
    [[nodiscard]] bool configured() const { return !url.isEmpty(); }
};

/// [plant]: the plant record, a PostgreSQL database every station of the plant pushes to.
struct PlantConfig {
    /// A libpq connection string without a password: host, port, dbname, user, and for a
    /// host over the network sslmode=verify-full with sslrootcert.
    QString conninfo;
    QString passwordFile; ///< the station role's password, in a file only its owner reads (0600)
    QString line; ///< the line the station stands on, as the plant names it
    int pushEveryS = 30; ///< the service pushes this often (and when devices pass)
    int batchRows = 5000; ///< changes in one transaction of the plant database
    int connectTimeoutS = 5;
    int answerTimeoutS = 60; ///< any answer of the plant database, before it is called gone
    int retryMaxS = 600; ///< back-off after failed pushes, doubled up to this
    [[nodiscard]] bool configured() const { return !conninfo.isEmpty(); }
};

/// [line] and [roles]: how the window lays out the fixture, when shifts start, how long a
/// signed-in QA or admin role lasts without a touch.
struct LineConfig {
    int rows = 0; ///< tiles down; 0: as many as the slots need
    int columns = 0; ///< tiles across; 0: as many as the slots need with `rows`, else DefaultColumns
    static constexpr int DefaultColumns = 8;
    QStringList names; ///< the slots' names in the fixture, in the order they are added (e.g. A1, A2, B1)
    QList<int> shiftStartsMin { 6 * 60, 14 * 60, 22 * 60 }; ///< minutes after local midnight, ascending
    int roleIdleMinutes = 10; ///< a QA or admin role ends after this long idle

    /// The name of the tile at `index` (the slot added index-th): from `names`, else the
    /// fixture's row letter and column number (A1, A2, ... B1; columns, or DefaultColumns), else its number.
    [[nodiscard]] QString slotName(int index) const;
    /// Tiles across for `slots` slots: `columns`; else as `rows` needs; else DefaultColumns.
    [[nodiscard]] int columnsFor(int slots) const;
    /// The shift `now` falls in: from its start to the next shift's (UTC).
    [[nodiscard]] std::pair<QDateTime, QDateTime> shiftAround(const QDateTime& now) const;
};

/// The station's settings, kept in station.ini in the data directory. Holds no secret:
/// the PIN is named by a pin-source (a file readable by its owner only), never stored here.
struct StationConfig {
    QString stationName;
    /// [station] id: which station this is, also kept in its record store, so that a store
    /// from another station is refused. Made on first start.
    QString stationId;
    QString modulePath; ///< PKCS#11 module
    QString keyUri; ///< PKCS#11 URI of the issuing CA key
    QString softhsmConf; ///< SOFTHSM2_CONF for the embedded token, or empty for another module
    StepTimeouts timeouts;
    int auditCheckpointEvery = 100; ///< [audit] checkpoint-every: entries between signed checkpoints
    /// [audit] key-sha256: the pinned audit key (SHA-256 of its SubjectPublicKeyInfo), recorded
    /// when the station is set up; checkpoints signed by any other key are refused.
    QString auditKeySha256;
    /// [audit] key-label: the token's label of the audit key in use (a rotation makes a new one).
    QString auditKeyLabel = QStringLiteral("imprint-audit");
    /// [audit] retired-keys: the labels of audit keys rotated out; their public halves stay in
    /// the token, so that the checkpoints they signed are checked still.
    QStringList auditRetiredLabels;
    /// [certificates] unshipped-grace-minutes: how long a certificate issued to a device that
    /// then failed stays valid for the same key to come back and pass with it (re-used), before
    /// it is revoked as issued, never shipped (cessationOfOperation).
    int unshippedGraceMinutes = 1440;
    UpstreamConfig upstream;
    PlantConfig plant;
    LineConfig line;
};

/// The data directory: where the token (SoftHSM2), the database and the CA files live.
class DataDir {
public:
    /// The directory to use: `explicitDir`, else $IMPRINT_DATA_DIR, else $XDG_DATA_HOME/imprint.
    [[nodiscard]] static QString resolve(const QString& explicitDir = {});

    explicit DataDir(QString path);

    const QString& path() const { return m_path; }
    QString configFile() const;
    QString database() const;
    QString softhsmConf() const;
    QString tokenDir() const;
    QString pinFile() const;
    QString soPinFile() const;
    QString rootCertFile() const;
    QString caCertFile() const;
    QString chainFile() const;
    QString profileDir() const; ///< certificate profiles, NAME.json
    QString crlFile() const; ///< the local CA's newest CRL (PEM)
    /// Held (flock) by the station service while it runs on this directory, exclusively;
    /// shared by every program that works on it directly (holdDirectly).
    QString serviceLockFile() const;
    /// Claims the directory for this process's direct work until it ends: refused in plain
    /// words while the station service runs on it, and the service does not start while the
    /// claim is held. A directory not set up yet, or not ours to write, claims nothing.
    [[nodiscard]] Result<void> holdDirectly() const;
    QString raCertFile() const; ///< where `ra import` puts the RA certificate and its issuers
    QString upstreamTrustFile() const; ///< where `upstream configure` puts the upstream's anchors
    QString upstreamServerCertFile() const; ///< where `upstream configure` puts the pinned CMP signer
    QString qaPassphraseFile() const; ///< the QA role's passphrase, as a salted scrypt hash only

    [[nodiscard]] bool isInitialized() const;
    /// The stations this account can name without a --data-dir: the default folder,
    /// $IMPRINT_DATA_DIR and the packaged service's /var/lib/imprint, those set up.
    [[nodiscard]] static QStringList knownStations();
    /// " --data-dir PATH" for a hint printed as a command, when this is not the folder a
    /// command finds without it (else empty): copied as printed, it acts on this station.
    [[nodiscard]] QString ctlArg() const;
    [[nodiscard]] Result<StationConfig> loadConfig() const;
    [[nodiscard]] Result<void> saveConfig(const StationConfig& config) const;
    /// The issuing CA certificate first, then its issuers up to the root (DER).
    [[nodiscard]] Result<QList<QByteArray>> loadChain() const;
    /// Replaces the CA files with `chain` (issuing CA first, root last), each atomically;
    /// chain.pem, the one issuance reads, is written last.
    [[nodiscard]] Result<void> saveChain(const QList<QByteArray>& chain) const;

    /// A path of the settings made absolute: relative ones are inside this directory.
    [[nodiscard]] QString absolute(const QString& path) const;
    /// A path inside this directory made relative to it; others as they are.
    [[nodiscard]] QString relative(const QString& path) const;
    /// Writes softhsm2.conf for this directory's own token store.
    [[nodiscard]] Result<void> writeSoftHsmConf() const;

    /// The least free space a station starts a line with: below it a store that runs out
    /// stops in the middle of a device.
    static constexpr qint64 MinimumFreeBytes = 64LL * 1024 * 1024;
    /// Refuses (in plain words, naming the directory) a disk with less than MinimumFreeBytes
    /// free under the data directory.
    [[nodiscard]] Result<void> checkFreeSpace() const;

    /// Writes a file only its owner can read (0600), atomically.
    [[nodiscard]] static Result<void> writePrivateFile(const QString& path, const QByteArray& contents);
    /// Reads a secret file, refusing it when anyone but its owner may read or write it.
    [[nodiscard]] static Result<Secret> readSecretFile(const QString& path);

private:
    /// Makes the settings' paths this directory's, after a move or a copy (see loadConfig).
    Result<void> followMove(StationConfig* config) const;

    QString m_path;
};

} // namespace imprint::core
