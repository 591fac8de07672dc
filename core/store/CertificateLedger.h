#pragma once

// The certificate ledger: owns the tables `serials` (the line's serials: reserved before
// signing, used by a certificate, or void) and `certificates` (each certificate and its
// state). A serial in either is never handed out again. An issuance writes the
// certificate, its step, its audit entry and its outbox row in one synced transaction; a
// batch's certificates need no write-ahead serial, since each is recorded in the same
// transaction as its certificate row.

#include "Error.h"
#include "domain/Records.h"
#include "pki/Crl.h"
#include "store/AuditLog.h"
#include "store/JobLog.h"
#include "store/Outbox.h"
#include "store/Sql.h"

#include <QList>
#include <memory>

#include <functional>
#include <optional>

namespace imprint::core {

class CertificateLedger : public StorePart {
public:
    using StorePart::StorePart;

    /// Voids reserved serials inside a transaction of the caller's (a job ended without
    /// using them).
    class Serials {
    public:
        explicit Serials(Transaction& tx);
        [[nodiscard]] bool voidReserved(qint64 jobId);
        /// Those of the device's jobs that never finished.
        [[nodiscard]] bool voidReservedOfDevice(const QString& deviceSerial);
        [[nodiscard]] QSqlError error() const;

    private:
        Statement m_ofJob;
        Statement m_ofDevice;
    };

    /// Looks devices and keys up over statements prepared once, for many lookups in a row
    /// (a batch's requests).
    class Lookup {
    public:
        explicit Lookup(const CertificateLedger& ledger);
        /// The device's newest certificate, its key and its job's port, if it has one.
        [[nodiscard]] Result<std::optional<HeldCertificate>> newest(const QString& deviceSerial);
        /// The device that holds a certificate for this public key, if any.
        [[nodiscard]] Result<std::optional<QString>> keyOwner(const QString& publicKeySha256);
        /// Holds one read of the store open while it lives: the lookups made meanwhile (a
        /// batch's chunk) see one state and cost less each. Nothing may be written through
        /// this connection meanwhile.
        [[nodiscard]] std::unique_ptr<ReadTransaction> snapshot() const
        {
            return std::make_unique<ReadTransaction>(m_connection);
        }

    private:
        Connection m_connection;
        Statement m_newest;
        Statement m_owner;
    };

    /// Revokes every live certificate of a device inside the caller's transaction
    /// (cessationOfOperation), as revoke() does each.
    [[nodiscard]] static Result<void> revokeDevice(Transaction& tx, const QString& deviceSerial, const QString& why,
        qint64 jobId, const QString& at, AuditLog::Appender& audit, Outbox::Appender& outbox);
    /// Revokes one live certificate inside the caller's transaction: its state and reason
    /// (RFC 5280 CRLReason), an audit entry and an outbox revocation (detail `why`).
    [[nodiscard]] static Result<void> revoke(Transaction& tx, const QString& serialHex, int reason, const QString& why,
        qint64 jobId, const QString& at, AuditLog::Appender& audit, Outbox::Appender& outbox);

    /// Write-ahead: records each job's checked request and reserves the certificate serial
    /// for it, in one transaction, before anything is signed with them. An entry is
    /// false when its serial was ever reserved, or recorded with a certificate, before
    /// (nothing is recorded for it).
    [[nodiscard]] Result<QList<bool>> reserve(const QList<IssueIntent>& intents);
    /// Durably commits issued certificates (all or none, one synced transaction); must
    /// succeed before a certificate leaves the station.
    [[nodiscard]] Result<void> recordIssued(const QList<IssuedRecord>& issued);
    /// Records certificates issued from request files in one fully synced transaction held
    /// open over several add()s (a batch's chunks): each as a device, a job finished as
    /// issued, the certificate with its request, and its outbox entry; one audit entry for
    /// all of them at commit(). Nothing is recorded without commit().
    class BatchRecorder {
    public:
        BatchRecorder(const CertificateLedger& ledger, const QString& station, const QString& operatorName);
        ~BatchRecorder();
        BatchRecorder(const BatchRecorder&) = delete;
        BatchRecorder& operator=(const BatchRecorder&) = delete;
        [[nodiscard]] Result<void> add(const QList<BatchIssued>& issued);
        [[nodiscard]] Result<void> commit();

    private:
        Transaction m_tx;
        Statement m_cert;
        JobLog::Writer m_jobs;
        Outbox::Appender m_outbox;
        AuditLog::Appender m_audit;
        AuditLog::BatchDigest m_digest;
        QString m_station;
        QString m_operator;
        QString m_at;
    };

    /// Records certificates issued from request files as BatchRecorder does, with one audit entry for them all
    /// (AuditLog::BatchDigest), in one fully synced transaction: all of them or none.
    [[nodiscard]] Result<void> recordBatch(
        const QList<BatchIssued>& issued, const QString& station, const QString& operatorName);
    /// Moves a certificate on, with its step and audit entry, in one transaction:
    /// installed (the device took it), verified (read back and proven), superseded (issued,
    /// never shipped; a revocation goes to the outbox). Never backwards.
    [[nodiscard]] Result<void> setState(
        qint64 jobId, const QString& serialHex, CertificateState state, const QString& detail = {});

    /// The certificate the device may hold from an earlier job, if any (see PendingCertificate).
    [[nodiscard]] Result<std::optional<PendingCertificate>> pending(const QString& deviceSerial) const;
    /// The device that holds a certificate for this public key, if any.
    [[nodiscard]] Result<std::optional<QString>> keyOwner(const QString& publicKeySha256) const;
    /// Every certificate of this CA that is superseded or revoked, with when (its revocation
    /// row was recorded) and its state, oldest first: what the CRL lists.
    [[nodiscard]] Result<QList<std::pair<RevokedCertificate, CertificateState>>> revoked() const;
    /// Issued, never shipped: revokes (cessationOfOperation) the live certificates, issued
    /// or installed and never verified, of jobs that failed before `failedBefore` (of lot
    /// `lot` only, when given) whose device is on no slot now, each with its audit entry and
    /// outbox revocation, in one synced transaction. The device's certificate stays
    /// re-usable until then: the same key back on a slot passes with it. Returns the serials.
    [[nodiscard]] Result<QStringList> revokeUnshipped(const QDateTime& failedBefore, const QString& lot = {});
    /// The newest CRL the CA signed (its number and DER), if any: every serial on it stays
    /// on the next.
    [[nodiscard]] Result<std::optional<std::pair<qint64, QByteArray>>> newestCrl() const;
    /// Records a CRL the CA signed under the next number (numbers only grow): `sign` makes
    /// it for the number it is given. Returns the number.
    [[nodiscard]] Result<qint64> recordCrl(const std::function<Result<QByteArray>(qint64 number)>& sign,
        const QDateTime& thisUpdate, const QDateTime& nextUpdate);
    /// The newest local certificate for this public key (SHA-256 of its SPKI), if any.
    /// Every certificate of this key (a device issued again with its key has several), newest first.
    [[nodiscard]] Result<QList<QString>> certificatesOfKey(const QString& publicKeySha256) const;
    [[nodiscard]] Result<std::optional<QString>> certificateOfKey(const QString& publicKeySha256) const;
    /// The upstream CA's certificate for the same key as the local certificate, once answered.
    [[nodiscard]] Result<QByteArray> upstreamCertificate(const QString& serialHex) const;
    /// A device's certificates, newest first.
    [[nodiscard]] Result<QList<CertificateRecord>> ofDevice(const QString& deviceSerial) const;
};

} // namespace imprint::core
