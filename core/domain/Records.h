#pragma once

// The station's records as values: what the record store keeps and hands out, what the
// engine writes and the command line and the window show. Plain structs; no layer's
// machinery.

#include "domain/States.h"

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QPair>
#include <QString>

#include <algorithm>
#include <functional>
#include <optional>

namespace imprint::core {

/// What is known of one device.
struct DeviceRecord {
    QString serial;
    QString model;
    QString firmware;
    DeviceStatus status = DeviceStatus::InProgress;
    QString statusReason;
    QDateTime firstSeen;
    QDateTime updated;
    QString lot;
};

struct CertificateRecord {
    QString serialHex;
    QString deviceSerial;
    QByteArray der;
    QString sha256;
    CertificateState state = CertificateState::Issued;
    QDateTime issuedAt;
    qint64 jobId = 0;
};

/// A certificate the device may still be holding or about to hold: the newest one of the
/// device that is neither superseded nor revoked, and how its job ended (none: it has not).
struct PendingCertificate {
    CertificateRecord certificate;
    std::optional<JobOutcome> jobResult;
};

/// A job that never finished: the station stopped (crash, power cut, kill) while the
/// device was on it. Listed on restart; resumed when the device comes back.
struct UnfinishedJob {
    qint64 jobId = 0;
    QString deviceSerial;
    QString port;
    QString station;
    QString operatorName;
    QString lot;
    QDateTime started;
    QString lastStep; ///< the last step recorded, with its status
    QDateTime lastAt;
    QString certificateSerial; ///< the newest certificate of the job, if any
    std::optional<CertificateState> certificateState;
    QString reservedSerial; ///< a serial reserved for signing that no certificate used
};

/// A lot (work order): what the line is making, with which profile, how many.
struct Lot {
    QString id;
    QString profile;
    int expected = 0;
    QString note;
    QDateTime created;
    QString station;
    QString operatorName;
    QDateTime closed; ///< invalid while the lot is open; a closed lot takes no more devices
};

/// A record on its way upstream (the upstream sync sends them in order) and where it stands.
struct OutboxEntry {
    qint64 id = 0;
    OutboxKind kind = OutboxKind::Certificate;
    QString subject; ///< certificate serial
    QString detail;
    QDateTime created;
    OutboxState state = OutboxState::Pending;
    int attempts = 0;
    QString lastError; ///< why the last attempt failed, or why the row is skipped, in plain words
    QDateTime nextAttempt; ///< a failed row: not before; a waiting row: the upstream's checkAfter
    QString upstreamStatus; ///< the upstream's status and text, as it answered
    QString exportBatch; ///< the offline batch that carried it, if one did
    QDateTime updated;
    int reason = -1; ///< a revocation's RFC 5280 CRLReason (-1: none recorded)
};

/// An outbox row with what it carries, for the upstream sync.
struct OutboxWork {
    OutboxEntry entry;
    QString deviceSerial;
    qint64 jobId = 0;
    CertificateState certificateState = CertificateState::Issued;
    std::optional<JobOutcome> jobResult;
    QByteArray request; ///< the device's PKCS#10 (DER); empty for a certificate issued before it was kept
    QByteArray localDer; ///< the local certificate
    QByteArray upstreamDer; ///< the upstream's certificate for the same key, once answered
    /// For a revocation: where the row of the certificate it revokes stands.
    std::optional<OutboxState> certificateRow;
};

/// The last contact with the upstream CA, for the health display.
struct UpstreamContact {
    QDateTime attempted;
    QDateTime reached;
    QString lastError; ///< the station's plain words, then OpenSSL's text on the lines after

    /// What went wrong, in plain words (for the health strip and the first line of status).
    [[nodiscard]] QString plainError() const { return lastError.section(u'\n', 0, 0); }
    /// OpenSSL's own text, for the detail line (empty when there is none).
    [[nodiscard]] QString errorDetail() const { return lastError.section(u'\n', 1).trimmed(); }
};

/// A slot's attempt that ended before a device's job could start: nothing answered, the
/// frames were broken, the device's identity was not valid, its label did not match, the
/// port was missing, or the device was refused before a job (a serial in use, a closed lot).
/// Kept apart from jobs (no device record is made for it) and counted with them.
struct Attempt {
    qint64 id = 0;
    QString port;
    QString station;
    QString operatorName;
    QString lot;
    QDateTime started;
    QDateTime finished;
    QString code; ///< the failure code, as a failed job's
    QString reason; ///< in plain words
    QString claimedSerial; ///< what the device said it is, when it said anything valid
    qint64 droppedFrames = 0; ///< broken frames the station dropped
};

/// A signed statement that the audit log had `seq` entries ending in `hash`.
struct AuditCheckpoint {
    qint64 seq = 0;
    QString hash;
    QString at;
    QString keySha256;
    QByteArray signature;
};

/// One entry on a device's timeline.
struct StepRecord {
    qint64 jobId = 0;
    StepName step = StepName::Identify;
    StepStatus status = StepStatus::Done;
    QString detail;
    QDateTime at;
    QString station; ///< where, and who: the job's station and operator
    QString operatorName;
};

/// One entry of the audit log. Its kind is kept as the text it was written with (see
/// AuditKind): the entry's hash covers that text.
struct AuditEntry {
    qint64 seq = 0;
    QString at;
    QString station;
    QString operatorName;
    QString kind;
    QString subject; ///< a certificate serial or a device serial
    QString detail;
};

/// What `audit verify` found: the number of entries checked, and the first problem in plain
/// words (empty when the log and the certificates it covers are intact).
struct AuditVerdict {
    qint64 entries = 0;
    QString problem;
    qint64 firstBadEntry = 0;
    qint64 checkpoints = 0; ///< signed checkpoints checked
    qint64 lastCheckpoint = 0; ///< the newest checkpoint entry: it and all before are signed
    bool signaturesChecked = false;
    /// The newest entries no checkpoint covers yet (entries - lastCheckpoint).
    [[nodiscard]] qint64 unsealed() const { return entries - lastCheckpoint; }
};

/// Checks a checkpoint's signature over AuditLog::checkpointMessage() with the audit key it
/// names (the SHA-256 of its SubjectPublicKeyInfo); true when valid.
using CheckpointVerifier
    = std::function<bool(const QString& keySha256, const QByteArray& message, const QByteArray& signature)>;

/// A shift's figures, from the jobs that ended in it (the store's, so a restart keeps them).
struct ShiftFigures {
    QDateTime since;
    QDateTime until;
    int passed = 0;
    int failed = 0;
    int doneEarlier = 0; ///< passed before and back on a slot: counted apart
    int noDevice = 0; ///< attempts that failed before a device's job started (see Attempt)
    int firstPass = 0; ///< passed on the device's first job
    int devices = 0; ///< distinct devices that passed or failed
    struct Bucket {
        QDateTime start;
        int passed = 0;
        int failed = 0;
        int noDevice = 0;
    };
    QList<Bucket> buckets; ///< every bucket of the shift so far, oldest first
    QList<QPair<QString, int>> failureReasons; ///< failure code and count, most first (attempts included)
    QDateTime asOf; ///< when the figures were read

    /// Every failure: failed jobs and attempts with no device.
    [[nodiscard]] int allFailed() const { return failed + noDevice; }
    /// Devices passed or failed per hour, over the shift so far (jobs: an attempt with no
    /// device is not a device made).
    [[nodiscard]] double perHour() const
    {
        const QDateTime end = asOf.isValid() && asOf < until ? asOf : until;
        const double hours = std::max(1.0 / 60, static_cast<double>(since.secsTo(end)) / 3600.0);
        return (passed + failed) / hours;
    }

    /// Passed on the first job, of the devices that passed or failed; -1 when none did.
    [[nodiscard]] double firstPassYield() const { return devices > 0 ? double(firstPass) / devices : -1.0; }
};

/// Which devices to list: all filters optional; newest first, `limit` at a time.
struct DeviceQuery {
    std::optional<DeviceStatus> status;
    QString lot;
    QDateTime since; ///< updated at or after
    QDateTime until; ///< updated before
    QString serialPrefix; ///< serials that begin with this
    QString before; ///< paging: the serial of the last row of the previous page
    QDateTime beforeUpdated; ///< and its `updated` as listed (else read again, which a busy line may have moved)
    qint64 beforeAttempt = 0; ///< paging attempts: the id of the last attempt of the previous page
    /// The attempts that identified no device instead, as device rows (see DeviceRecords::devices).
    bool noDevice = false;
    int limit = 100;
};

/// A checked request about to be signed: its job, key type and the serial reserved for it.
struct IssueIntent {
    qint64 jobId = 0;
    QString keyType;
    QString serialHex;
    bool injected = false; ///< the station made the key and injected it (else the device made it)
};

/// The timeline's key step: who made the key pair.
[[nodiscard]] inline QString keyStepDetail(const QString& keyType, bool injected)
{
    const QString key = keyType.isEmpty() ? QStringLiteral("key") : keyType + QStringLiteral(" key");
    return injected ? QStringLiteral("%1 made by the station and injected, sealed to the device").arg(key)
                    : QStringLiteral("%1 made by the device; its request received").arg(key);
}

/// A certificate signed for a job, to be committed before it leaves the station.
struct IssuedRecord {
    qint64 jobId = 0;
    QString deviceSerial;
    QByteArray der;
    QString serialHex;
    QString sha256;
    QString publicKeySha256;
    QByteArray request; ///< the device's PKCS#10 request (DER), forwarded upstream as it came
};

/// A device's newest certificate with what it certifies and where its job came from (the
/// job's port: a slot's port, or file:SOURCE for a request file).
struct HeldCertificate {
    CertificateRecord certificate;
    QString publicKeySha256;
    QString port;
};

/// A certificate issued from a request file, with no device present (sign-batch).
struct BatchIssued {
    QString deviceSerial;
    QString source; ///< the request file
    QByteArray der;
    QString serialHex;
    QString sha256;
    QString publicKeySha256;
    QByteArray request; ///< the request file's PKCS#10 (DER)
};

} // namespace imprint::core
