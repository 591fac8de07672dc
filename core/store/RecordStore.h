#pragma once

// The station's durable records in one SQLite file (WAL). RecordStore owns the connection
// (open, pragmas, the numbered migrations of Schema.h) and hands out its parts, one per
// concern, each owning its tables:
//   JobLog             jobs, job_steps (and the devices' rows they move)
//   CertificateLedger  serials, certificates
//   AuditLog           audit (its checkpoints are entries of the chain)
//   Outbox             outbox
//   Lots               lots
//   SignInAttempts     sign_in_attempts
//   PlantLog           plant_log, plant_contact (the plant record's queue)
//   DeviceRecords      the read side for QA (record, timeline, pages, counts)
// The parts work on the same connection, so one transaction spans them (an issuance writes
// certificate, step, audit entry and outbox row together). One instance per thread: the
// engine has exactly one writer; readers (QA queries) open their own.

#include "Error.h"
#include "store/AuditLog.h"
#include "store/CertificateLedger.h"
#include "store/DeviceRecords.h"
#include "store/JobLog.h"
#include "store/Lots.h"
#include "store/Outbox.h"
#include "store/PlantLog.h"
#include "store/SignInAttempts.h"

namespace imprint::core {

class RecordStore {
public:
    ~RecordStore();
    RecordStore(RecordStore&&) noexcept;
    RecordStore& operator=(RecordStore&&) = delete;
    RecordStore(const RecordStore&) = delete;

    /// Opens (and creates or migrates) the store. `readOnly` opens without migrating.
    [[nodiscard]] static Result<RecordStore> open(const QString& path, bool readOnly = false);

    [[nodiscard]] int schemaVersion() const;
    /// The station the store belongs to: empty until a station first works on it.
    [[nodiscard]] Result<QString> stationId() const;
    /// Records `id` as the station the store belongs to, unless it already belongs to one
    /// (in one transaction: two first starts at once agree); the id it holds after.
    [[nodiscard]] Result<QString> claimStationId(const QString& id);
    /// Sets the page cache of this connection (64 MiB by default): a batch with two
    /// connections keeps its memory bound with less.
    void setCacheSize(int mebibytes);
    /// How much this connection's commits let the write-ahead log grow before one of them
    /// copies it into the store (SQLite's wal_autocheckpoint; 4 MiB by default). A batch's
    /// commits of thousands of certificates each write again many of the pages the commit
    /// before wrote (the tails of tables and indexes, the key index's leaves): copying
    /// them in every few hundred MiB instead of after every commit copies each once.
    void setCheckpointEvery(int mebibytes);
    /// Copies what the write-ahead log holds into the store, as far as readers allow.
    void checkpoint();
    /// A consistent copy of the whole store in a new file (VACUUM INTO), taken while others
    /// go on writing: what a backup holds.
    [[nodiscard]] Result<void> snapshotTo(const QString& path) const;
    /// The file the store is in (another thread opens its own connection to it).
    [[nodiscard]] QString path() const { return m_connection.db().databaseName(); }

    JobLog& jobs() { return m_jobs; }
    CertificateLedger& ledger() { return m_ledger; }
    AuditLog& audit() { return m_audit; }
    Outbox& outbox() { return m_outbox; }
    Lots& lots() { return m_lots; }
    SignInAttempts& signIns() { return m_signIns; }
    PlantLog& plant() { return m_plant; }
    const PlantLog& plant() const { return m_plant; }
    const JobLog& jobs() const { return m_jobs; }
    const CertificateLedger& ledger() const { return m_ledger; }
    const AuditLog& audit() const { return m_audit; }
    const Outbox& outbox() const { return m_outbox; }
    const Lots& lots() const { return m_lots; }
    const DeviceRecords& records() const { return m_records; }

private:
    explicit RecordStore(Connection connection);

    Connection m_connection;
    JobLog m_jobs;
    CertificateLedger m_ledger;
    AuditLog m_audit;
    Outbox m_outbox;
    Lots m_lots;
    SignInAttempts m_signIns;
    PlantLog m_plant;
    DeviceRecords m_records;
};

} // namespace imprint::core
