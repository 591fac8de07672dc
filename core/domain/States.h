#pragma once

// The states of the station's records, as types. Each enum's text — what the record store
// keeps and what --json prints — is written in one place, States.cpp; nothing else spells
// it. The texts never change: stores and programs of every version read them.

#include <QString>
#include <QStringList>

#include <optional>

namespace imprint::core {

/// Where a device stands: on a slot now, passed (certified, proven, locked), failed,
/// issued from a request file with no device present, or taken out of production.
enum class DeviceStatus { InProgress, Passed, Failed, Issued, Scrapped };

/// A certificate's life: signed and committed (issued), taken by the device (installed),
/// read back and proven (verified); or issued and never shipped (superseded), or revoked
/// (its device was scrapped). It only ever moves forward.
enum class CertificateState { Issued, Installed, Verified, Superseded, Revoked };

/// A certificate serial: reserved before signing (write-ahead), used by a certificate, or
/// void (its job ended without one). Never handed out twice.
enum class SerialState { Reserved, Used, Void };

/// How a job ended: the device proved its certificate (Passed), something stopped it
/// (Failed), a certificate was issued from a request file with no device present (Issued),
/// the station stopped under it and a later job continued (Interrupted), or the job is the
/// record of a device being scrapped (Scrapped), or the device passed on an earlier job and
/// is back on a slot, holding the certificate on record (DoneEarlier: nothing is done to it).
enum class JobOutcome { Passed, Failed, Issued, Interrupted, Scrapped, DoneEarlier };

/// The steps on a device's timeline.
enum class StepName {
    Identify, ///< the device said who it is; the job starts
    Resume, ///< the job continues one the station stopped under
    CheckCsr, ///< the request was checked
    Issue, ///< a serial was reserved (intent), then the certificate committed (done)
    Inject, ///< the device took its certificate (written by stores before schema 10; now Install)
    Verify, ///< read back and challenge signed (written by stores before schema 10; now ReadBack, Challenge)
    Supersede, ///< an issued certificate will never ship
    Disconnect, ///< the device went away in the middle of its job
    Reconnect, ///< and came back
    Scrap, ///< taken out of production
    Finish, ///< the job's end; its status is the job's outcome
    Keygen, ///< the device made its key pair and sent its request
    InjectKey, ///< the station made the key pair and the device took it, sealed
    Install, ///< the device took its certificate
    ReadBack, ///< the certificate read back from the device matched the one issued
    Challenge, ///< the device signed a fresh challenge with the certified key
    Lock, ///< the device was locked: it takes no other key or certificate
};

/// What a step's entry says happened.
enum class StepStatus { Done, Intent, Rejected, Waiting, Passed, Failed, Issued, Interrupted, DoneEarlier };

/// What a record in the outbox carries to the upstream CA.
enum class OutboxKind { Certificate, Revocation };

/// Where an outbox record stands with the upstream CA. Pending: not sent yet. Sent: on its way,
/// no answer recorded (sent again after a restart, which is safe: nothing came back). Waiting:
/// the upstream asked to poll (delayed delivery) after check_after. Answered: the upstream's
/// certificate is recorded, its confirmation (certConf) not yet acknowledged. Confirmed: done.
/// Rejected: the upstream refused it; final until an administrator retries it. Failed: the
/// last attempt did not get through (attempts, last error and next attempt are kept); tried
/// again after a back-off. Skipped: not to be sent at all (its reason says why).
enum class OutboxState { Pending, Sent, Waiting, Answered, Confirmed, Rejected, Failed, Skipped };

/// What an audit entry records.
enum class AuditKind {
    Issued,
    IssuedBatch, ///< a chunk of certificates issued from request files, one entry for them all
    Installed,
    Verified,
    Superseded,
    Revoked,
    Rejected,
    Scrapped,
    LotCreated,
    LotClosed,
    Login,
    Setting,
    Exported,
    UpstreamCertified, ///< the upstream CA's certificate for a device's key was recorded
    UpstreamRevoked, ///< the upstream CA revoked its certificate
    UpstreamRejected, ///< the upstream CA refused a request
    UpstreamRefused, ///< the station refused an upstream answer that failed a check
    Imported, ///< an upstream answer carried in by hand
    CrlIssued, ///< the local CA signed a CRL
    Checkpoint, ///< the audit key's signature over the chain up to the entry before
    Refused, ///< the station service refused a caller an act (not on the line, no credential)
};

/// The reasons a certificate is revoked for (RFC 5280 5.3.1 CRLReason), as CRLs, CMP `rr`
/// and the store carry them.
namespace crl_reason {
constexpr int Superseded = 4; ///< replaced before it shipped (the device has a new key)
constexpr int CessationOfOperation = 5; ///< taken out of production, or never shipped
} // namespace crl_reason

/// The stored (and printed) text of a state.
[[nodiscard]] QString text(DeviceStatus s);
[[nodiscard]] QString text(CertificateState s);
[[nodiscard]] QString text(SerialState s);
[[nodiscard]] QString text(JobOutcome s);
[[nodiscard]] QString text(StepName s);
[[nodiscard]] QString text(StepStatus s);
[[nodiscard]] QString text(OutboxKind s);
[[nodiscard]] QString text(OutboxState s);
[[nodiscard]] QString text(AuditKind s);

/// The state a text names, if it names one of E.
template <typename E> [[nodiscard]] std::optional<E> parseState(QStringView text);

/// Every text of E, in declaration order (for help texts and error messages).
template <typename E> [[nodiscard]] QStringList stateTexts();

/// The step status that ends a job with this outcome.
[[nodiscard]] StepStatus finishStatus(JobOutcome outcome);
/// The status a device has once the job that ended with this outcome was its newest.
[[nodiscard]] DeviceStatus deviceStatus(JobOutcome outcome);

} // namespace imprint::core
