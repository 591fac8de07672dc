#pragma once

// The work of the window's QA and admin screens and its health strip: reads and acts on the
// store, the CA and the upstream on a thread of its own (never the GUI's, never the
// Registrar's), on a store connection of its own; results come back on the caller's thread.
// What needs the HSM or the upstream client comes in as Wiring, which the executable fills:
// the window's screens see neither libp11 nor CMP.

#include "DataDir.h"
#include "Error.h"
#include "Secret.h"
#include "TokenStatus.h"
#include "domain/Records.h"
#include "engine/CrlPublisher.h"
#include "engine/OfflineBatch.h"
#include "engine/QaDesk.h"
#include "store/RecordStore.h"

#include <QObject>
#include <QPointer>
#include <QThread>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

namespace imprint::core {

/// One certificate of a device, as the QA screen shows it.
struct CertificateStory {
    CertificateRecord record;
    bool chainVerified = false; ///< strict (X.509 strict) chain to the station's root
    QString chainProblem;
    QString crlState; ///< listed on the current CRL, or not, in plain words
    QByteArray upstreamDer; ///< the upstream's certificate for the same key, once answered
    std::optional<bool> upstreamVerified; ///< strict chain to the upstream's anchors (none: not checked)
    QString upstreamProblem;
    QList<OutboxEntry> upstream; ///< its rows on the way upstream
};

/// A device's whole story: its record, certificates, timeline and the audit entries naming it.
struct DeviceStory {
    DeviceRecord device;
    QList<CertificateStory> certificates;
    QList<StepRecord> timeline;
    QList<AuditEntry> audit;
};

/// What the health strip shows.
struct StationHealth {
    TokenStatus token;
    QString caSubject;
    QDateTime caNotAfter;
    std::optional<QDateTime> crlNextUpdate; ///< none: no CRL signed yet
    bool upstreamConfigured = false;
    UpstreamContact contact;
    qint64 upstreamOpen = 0; ///< rows not yet confirmed by the upstream (nor skipped)
    qint64 upstreamRejected = 0;
    std::optional<QDateTime> oldestUnsynced;
    bool plantConfigured = false; ///< [plant]: the station pushes to the plant record
    qint64 plantBacklog = 0; ///< changes the plant record has not got
    PlantContact plantContact;
    qint64 diskFree = -1; ///< bytes free for the data directory
    qint64 diskTotal = -1;
    int interruptedJobs = 0; ///< left open by a station that stopped (not the jobs at work now)
    QString storeProblem; ///< the store could not be read, in plain words
};

/// A lot with how far it is.
struct LotProgress {
    Lot lot;
    int passed = 0;
    int failed = 0;
    int inProgress = 0;
};

/// A credential presented for QA or the PKI admin, checked by checkCredential.
struct SignInOutcome {
    Result<bool> ok = false; ///< right or wrong; an error when it could not be checked
    SignInAttempts::State state; ///< the role's wrong attempts in a row, after this one
    bool paused = false; ///< refused unchecked: the role is paused (state.pausedUntil)
};

class Backoffice : public QObject, public QaDesk {
    Q_OBJECT
public:
    /// What the executable provides: the HSM and the upstream, behind plain functions.
    struct Wiring {
        std::function<TokenStatus()> tokenStatus;
        std::function<Result<void>(const Secret& pin)> unlock;
        std::function<void()> lock;
        /// Whether this is the token's PIN (the admin's credential), without locking it out.
        std::function<Result<bool>(const Secret& pin)> checkPin;
        /// The token's PIN counters in plain words (count low, final try, locked), or empty.
        std::function<QString()> pinState;
        /// The CA key's attributes as the token reports them (name, value).
        std::function<Result<QList<QPair<QString, QString>>>()> keyAttributes;
        /// Signs and publishes the CRL now.
        std::function<Result<PublishedCrl>(RecordStore&)> issueCrl;
        /// Writes an offline batch into a new folder (empty: no upstream configured).
        std::function<Result<ExportReport>(RecordStore&, const QString& folder, const QString& person,
            const std::function<void(int written, int rows)>& progress)>
            exportBatch;
        /// The upstream's trust anchors, for imports.
        std::function<Result<QList<QByteArray>>()> upstreamAnchors;
        /// Checks an audit checkpoint's signature (empty: not checked).
        CheckpointVerifier checkpointVerifier;
    };

    Backoffice(DataDir dir, StationConfig config, QList<QByteArray> chain, Wiring wiring, QObject* parent = nullptr);
    ~Backoffice() override;

    /// Opens the store on the thread; blocks until it is open.
    [[nodiscard]] Result<void> start();

    const StationConfig& config() const { return m_config; }
    const DataDir& dir() const { return m_dir; }

    /// Runs `work` on the back office's thread, then `done` on the caller's (while
    /// `context` lives). Work queued is done in order.
    template <typename T> void run(QObject* context, std::function<T(RecordStore&)> work, std::function<void(T)> done)
    {
        // The answer is posted to the back office itself (on the caller's thread, alive as
        // long as an answer can come), never to `context`, which may be gone by then; the
        // guard decides whether it is delivered. Work must not reach `context` either.
        QPointer<QObject> guard(context);
        QMetaObject::invokeMethod(m_worker, [this, guard, work = std::move(work), done = std::move(done)]() mutable {
            auto result = std::make_shared<T>(work(*m_store));
            QMetaObject::invokeMethod(this, [guard, result, done = std::move(done)] {
                if (guard)
                    done(std::move(*result));
            });
        });
    }

    // Each of these runs on the thread and answers on the caller's.
    void health(QObject* context, std::function<void(StationHealth)> done);
    void shift(QObject* context, QDateTime since, QDateTime until, std::function<void(Result<ShiftFigures>)> done);
    void story(QObject* context, QString serial, std::function<void(Result<DeviceStory>)> done) override;
    void devices(QObject* context, DeviceQuery query, std::function<void(Result<QList<DeviceRecord>>)> done) override;
    void checkAudit(QObject* context, std::function<void(Result<AuditVerdict>)> done) override
    {
        verifyAudit(
            context, [](qint64, qint64) {}, std::move(done));
    }
    /// Scraps the device (its certificates revoked, a revocation each queued upstream) and
    /// signs the CRL that lists them.
    void scrap(QObject* context, QString serial, QString reason, QString person,
        std::function<void(Result<QString>)> done) override;
    /// Checks the audit log; `progress` is called on the caller's thread (checked, newest).
    void verifyAudit(
        QObject* context, std::function<void(qint64, qint64)> progress, std::function<void(Result<AuditVerdict>)> done);
    /// Writes an offline batch into `folder`; `progress` (rows written, rows) on the caller's thread.
    void exportBatch(QObject* context, QString folder, QString person, std::function<void(int, int)> progress,
        std::function<void(Result<ExportReport>)> done);
    /// Stops a verifyAudit in progress.
    void cancel() { m_cancel = true; }
    void lots(QObject* context, std::function<void(Result<QList<LotProgress>>)> done);
    void audit(QObject* context, AuditKind kind, QString subject, QString detail, QString person);
    void tokenStatus(QObject* context, std::function<void(TokenStatus)> done);
    void unlock(QObject* context, std::shared_ptr<Secret> pin, std::function<void(Result<void>)> done);
    void lock(QObject* context, std::function<void()> done);

    Wiring& wiring() { return m_wiring; }
    /// Checks `secret` for `role` ("admin": the token's PIN, "qa": the QA passphrase) on the
    /// back office's thread (inside run()). Wrong credentials are counted per role in the
    /// store, so a restart keeps them, and earn a growing pause (SignInAttempts): under a pause
    /// nothing is checked. A PIN never reaches the token's login except with `unlocking`,
    /// the explicit act of unlocking a locked token. The secret is wiped.
    /// `throttleKey` counts the wrong attempts under a name of their own (the station
    /// service counts each account apart, so that one cannot pause everyone); `role` when
    /// empty. Unlocking is always counted under the role: each try there costs one of the
    /// token's own.
    [[nodiscard]] SignInOutcome checkCredential(RecordStore& store, const QString& role, Secret& secret,
        const QString& person, bool unlocking, const QString& throttleKey = {});

    /// The CRL state of a certificate against a CRL (PEM), in plain words.
    [[nodiscard]] static QString crlStateOf(const QByteArray& der, const QByteArray& crlPem);

private:
    DataDir m_dir;
    StationConfig m_config;
    QList<QByteArray> m_chain;
    Wiring m_wiring;
    QThread m_thread;
    QObject* m_worker = nullptr;
    std::unique_ptr<RecordStore> m_store;
    std::atomic<bool> m_cancel { false };
    qint64 m_jobsBeforeStart = 0; ///< the newest job when the back office started
};

} // namespace imprint::core
