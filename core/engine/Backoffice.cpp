#include "engine/Backoffice.h"

#include "pki/IssuingCa.h"
#include "pki/OpenSsl.h"
#include "pki/Passphrase.h"

#include <QFile>
#include <QStorageInfo>

#include <openssl/pem.h>
#include <openssl/x509.h>

namespace imprint::core {

Backoffice::Backoffice(DataDir dir, StationConfig config, QList<QByteArray> chain, Wiring wiring, QObject* parent)
    : QObject(parent)
    , m_dir(std::move(dir))
    , m_config(std::move(config))
    , m_chain(std::move(chain))
    , m_wiring(std::move(wiring))
{
    m_thread.setObjectName(QStringLiteral("backoffice"));
}

Backoffice::~Backoffice()
{
    m_cancel = true;
    if (m_worker) {
        // The store connection belongs to the thread: closed there.
        QMetaObject::invokeMethod(
            m_worker, [this] { m_store.reset(); }, Qt::BlockingQueuedConnection);
        m_worker->deleteLater();
    }
    m_thread.quit();
    m_thread.wait();
}

Result<void> Backoffice::start()
{
    m_thread.start();
    m_worker = new QObject;
    m_worker->moveToThread(&m_thread);
    Result<void> opened;
    QMetaObject::invokeMethod(
        m_worker,
        [this, &opened] {
            auto store = RecordStore::open(m_dir.database());
            if (!store) {
                opened = std::unexpected(store.error());
                return;
            }
            m_store = std::make_unique<RecordStore>(std::move(*store));
            // Jobs begun before now and still open were left by a stopped station; the ones
            // begun later are this station's, at work.
            if (auto newest = m_store->jobs().newestId())
                m_jobsBeforeStart = *newest;
        },
        Qt::BlockingQueuedConnection);
    return opened;
}

void Backoffice::health(QObject* context, std::function<void(StationHealth)> done)
{
    run<StationHealth>(
        context,
        [this](RecordStore& store) {
            StationHealth h;
            if (m_wiring.tokenStatus)
                h.token = m_wiring.tokenStatus();
            if (!m_chain.isEmpty()) {
                if (auto ca = ossl::certFromDer(m_chain.first())) {
                    h.caSubject = ossl::nameToString(X509_get_subject_name(ca->get()));
                    h.caNotAfter = QDateTime::fromString(ossl::timeToIso(X509_get0_notAfter(ca->get())), Qt::ISODate);
                }
            }
            QFile crl(m_dir.crlFile());
            if (crl.open(QIODevice::ReadOnly)) {
                const QByteArray pem = crl.readAll();
                ossl::Bio bio(BIO_new_mem_buf(pem.constData(), static_cast<int>(pem.size())));
                if (X509_CRL* c = bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr) {
                    h.crlNextUpdate = QDateTime::fromString(ossl::timeToIso(X509_CRL_get0_nextUpdate(c)), Qt::ISODate);
                    X509_CRL_free(c);
                }
            }
            h.upstreamConfigured = m_config.upstream.configured();
            auto fail = [&h](const Error& e) {
                if (h.storeProblem.isEmpty())
                    h.storeProblem = e.message;
            };
            if (auto contact = store.outbox().contact())
                h.contact = *contact;
            else
                fail(contact.error());
            if (auto counts = store.outbox().counts()) {
                for (auto it = counts->cbegin(); it != counts->cend(); ++it) {
                    if (it.key() == OutboxState::Rejected)
                        h.upstreamRejected += it.value();
                    else if (it.key() != OutboxState::Confirmed && it.key() != OutboxState::Skipped)
                        h.upstreamOpen += it.value();
                }
            } else {
                fail(counts.error());
            }
            if (auto oldest = store.outbox().oldestUnsynced())
                h.oldestUnsynced = *oldest;
            else
                fail(oldest.error());
            h.plantConfigured = m_config.plant.configured();
            if (auto backlog = store.plant().backlog())
                h.plantBacklog = *backlog;
            else
                fail(backlog.error());
            if (auto contact = store.plant().contact())
                h.plantContact = *contact;
            else
                fail(contact.error());
            if (auto unfinished = store.jobs().unfinishedCount(m_jobsBeforeStart))
                h.interruptedJobs = static_cast<int>(*unfinished);
            else
                fail(unfinished.error());
            const QStorageInfo disk(m_dir.path());
            if (disk.isValid()) {
                h.diskFree = disk.bytesAvailable();
                h.diskTotal = disk.bytesTotal();
            }
            return h;
        },
        std::move(done));
}

void Backoffice::shift(
    QObject* context, QDateTime since, QDateTime until, std::function<void(Result<ShiftFigures>)> done)
{
    run<Result<ShiftFigures>>(
        context, [since, until](RecordStore& store) { return store.records().shift(since, until); }, std::move(done));
}

QString Backoffice::crlStateOf(const QByteArray& der, const QByteArray& crlPem)
{
    if (crlPem.isEmpty())
        return tr("no CRL signed yet");
    ossl::Bio bio(BIO_new_mem_buf(crlPem.constData(), static_cast<int>(crlPem.size())));
    X509_CRL* crl = bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    auto cert = ossl::certFromDer(der);
    if (!crl || !cert) {
        X509_CRL_free(crl);
        return tr("the CRL could not be read");
    }
    const QString when = QDateTime::fromString(ossl::timeToIso(X509_CRL_get0_lastUpdate(crl)), Qt::ISODate)
                             .toLocalTime()
                             .toString(Qt::ISODate);
    X509_REVOKED* entry = nullptr;
    const bool listed = X509_CRL_get0_by_serial(crl, &entry, X509_get0_serialNumber(cert->get())) == 1;
    X509_CRL_free(crl);
    return listed ? tr("revoked: listed on the CRL of %1").arg(when) : tr("not listed on the CRL of %1").arg(when);
}

void Backoffice::story(QObject* context, QString serial, std::function<void(Result<DeviceStory>)> done)
{
    run<Result<DeviceStory>>(
        context,
        [this, serial](RecordStore& store) -> Result<DeviceStory> {
            auto device = store.records().device(serial);
            if (!device)
                return std::unexpected(device.error());
            if (!*device)
                return fail(ErrorCode::NotFound, tr("No device with serial %1 is recorded.").arg(serial));
            DeviceStory story;
            story.device = **device;
            auto certs = store.ledger().ofDevice(serial);
            if (!certs)
                return std::unexpected(certs.error());
            QByteArray crlPem;
            if (QFile crl(m_dir.crlFile()); crl.open(QIODevice::ReadOnly))
                crlPem = crl.readAll();
            QStringList subjects { serial };
            std::optional<Result<QList<QByteArray>>> anchors;
            for (const CertificateRecord& c : *certs) {
                CertificateStory cs;
                cs.record = c;
                auto verified = verifyChain(c.der, m_chain);
                cs.chainVerified = verified.has_value();
                if (!verified)
                    cs.chainProblem = verified.error().message;
                cs.crlState = crlStateOf(c.der, crlPem);
                if (auto up = store.ledger().upstreamCertificate(c.serialHex))
                    cs.upstreamDer = *up;
                if (!cs.upstreamDer.isEmpty() && m_wiring.upstreamAnchors) {
                    if (!anchors)
                        anchors = m_wiring.upstreamAnchors();
                    auto checked = *anchors ? verifyToAnchors(cs.upstreamDer, **anchors, {})
                                            : Result<QList<QByteArray>>(std::unexpected((*anchors).error()));
                    cs.upstreamVerified = checked.has_value();
                    if (!checked)
                        cs.upstreamProblem = checked.error().message;
                }
                if (auto rows = store.outbox().ofCertificate(c.serialHex))
                    cs.upstream = *rows;
                subjects << c.serialHex;
                story.certificates.append(std::move(cs));
            }
            auto steps = store.records().timeline(serial, 1000);
            if (!steps)
                return std::unexpected(steps.error());
            story.timeline = *steps;
            auto audit = store.audit().about(subjects);
            if (!audit)
                return std::unexpected(audit.error());
            story.audit = *audit;
            return story;
        },
        std::move(done));
}

void Backoffice::scrap(
    QObject* context, QString serial, QString reason, QString person, std::function<void(Result<QString>)> done)
{
    run<Result<QString>>(
        context,
        [this, serial, reason, person](RecordStore& store) -> Result<QString> {
            if (auto r = store.jobs().scrap(serial, reason, m_config.stationName, person); !r)
                return std::unexpected(r.error());
            QString said = tr("Device %1 is scrapped; its revocation is queued for the upstream.").arg(serial);
            if (m_wiring.issueCrl) {
                auto crl = m_wiring.issueCrl(store);
                said += crl
                    ? tr(" CRL %1 lists its certificates.").arg(crl->number)
                    : tr(" The CRL was not signed (%1): issue it from the Admin screen.").arg(crl.error().message);
            }
            return said;
        },
        std::move(done));
}

void Backoffice::verifyAudit(
    QObject* context, std::function<void(qint64, qint64)> progress, std::function<void(Result<AuditVerdict>)> done)
{
    m_cancel = false;
    QPointer<QObject> guard(context);
    run<Result<AuditVerdict>>(
        context,
        [this, guard, progress = std::move(progress)](RecordStore& store) {
            return store.audit().verify(
                m_wiring.checkpointVerifier,
                [&](qint64 checked, qint64 newest) {
                    if (progress)
                        QMetaObject::invokeMethod(this, [guard, progress, checked, newest] {
                            if (guard)
                                progress(checked, newest);
                        });
                    return !m_cancel.load();
                },
                {}, m_config.auditKeySha256);
        },
        std::move(done));
}

void Backoffice::exportBatch(QObject* context, QString folder, QString person, std::function<void(int, int)> progress,
    std::function<void(Result<ExportReport>)> done)
{
    QPointer<QObject> guard(context);
    run<Result<ExportReport>>(
        context,
        [this, guard, folder, person, progress = std::move(progress)](RecordStore& store) -> Result<ExportReport> {
            if (!m_wiring.exportBatch)
                return fail(ErrorCode::BadInput,
                    tr("No RA key and upstream settings: set them up first (imprintctl ra keygen, upstream "
                       "configure)."));
            return m_wiring.exportBatch(store, folder, person, [&](int written, int rows) {
                if (progress)
                    QMetaObject::invokeMethod(this, [guard, progress, written, rows] {
                        if (guard)
                            progress(written, rows);
                    });
            });
        },
        std::move(done));
}

void Backoffice::lots(QObject* context, std::function<void(Result<QList<LotProgress>>)> done)
{
    run<Result<QList<LotProgress>>>(
        context,
        [](RecordStore& store) -> Result<QList<LotProgress>> {
            auto lots = store.lots().list(200);
            if (!lots)
                return std::unexpected(lots.error());
            QList<LotProgress> out;
            for (const Lot& lot : *lots) {
                LotProgress p { lot, 0, 0, 0 };
                auto counts = store.records().lotCounts(lot.id);
                if (!counts)
                    return std::unexpected(counts.error());
                for (const auto& [status, n] : *counts) {
                    if (status == DeviceStatus::Passed)
                        p.passed += n;
                    else if (status == DeviceStatus::Failed || status == DeviceStatus::Scrapped)
                        p.failed += n;
                    else
                        p.inProgress += n;
                }
                out.append(p);
            }
            return out;
        },
        std::move(done));
}

void Backoffice::audit(QObject* context, AuditKind kind, QString subject, QString detail, QString person)
{
    run<Result<void>>(
        context,
        [this, kind, subject, detail, person](
            RecordStore& store) { return store.audit().append(kind, subject, detail, m_config.stationName, person); },
        [](Result<void> r) {
            if (!r)
                qWarning("imprint: an audit entry was not written: %s", qPrintable(r.error().text()));
        });
}

void Backoffice::tokenStatus(QObject* context, std::function<void(TokenStatus)> done)
{
    run<TokenStatus>(
        context, [this](RecordStore&) { return m_wiring.tokenStatus ? m_wiring.tokenStatus() : TokenStatus {}; },
        std::move(done));
}

void Backoffice::unlock(QObject* context, std::shared_ptr<Secret> pin, std::function<void(Result<void>)> done)
{
    run<Result<void>>(
        context,
        [this, pin](RecordStore&) -> Result<void> {
            if (!m_wiring.unlock)
                return fail(ErrorCode::Hsm, tr("This station cannot be unlocked from the window."));
            auto r = m_wiring.unlock(*pin);
            pin->wipe();
            return r;
        },
        std::move(done));
}

void Backoffice::lock(QObject* context, std::function<void()> done)
{
    run<bool>(
        context,
        [this](RecordStore&) {
            if (m_wiring.lock)
                m_wiring.lock();
            return true;
        },
        [done = std::move(done)](bool) { done(); });
}

void Backoffice::devices(QObject* context, DeviceQuery query, std::function<void(Result<QList<DeviceRecord>>)> done)
{
    run<Result<QList<DeviceRecord>>>(
        context, [query](RecordStore& store) { return store.records().devices(query); }, std::move(done));
}

SignInOutcome Backoffice::checkCredential(RecordStore& store, const QString& role, Secret& secret,
    const QString& person, bool unlocking, const QString& throttleKey)
{
    SignInOutcome o;
    const QString station = m_config.stationName;
    const QString key = unlocking || throttleKey.isEmpty() ? role : throttleKey;
    auto state = store.signIns().state(key);
    if (!state) {
        secret.wipe();
        return SignInOutcome { std::unexpected(state.error()), {}, false };
    }
    if (state->pausedUntil.isValid() && state->pausedUntil > QDateTime::currentDateTimeUtc()) {
        secret.wipe();
        (void)store.signIns().refusedPaused(key, person, station, *state);
        return SignInOutcome { false, *state, true };
    }
    const bool admin = role == QLatin1String("admin");
    if (admin && unlocking) {
        if (!m_wiring.unlock)
            o.ok = fail(ErrorCode::Hsm, tr("This station has no PIN to check."));
        else if (auto r = m_wiring.unlock(secret); r)
            o.ok = true;
        else if (r.error().code == ErrorCode::PinRejected)
            o.ok = false;
        else
            o.ok = std::unexpected(r.error());
    } else if (admin) {
        o.ok = m_wiring.checkPin ? m_wiring.checkPin(secret)
                                 : Result<bool>(fail(ErrorCode::Hsm, tr("This station has no PIN to check.")));
    } else {
        QFile f(m_dir.qaPassphraseFile());
        if (!f.exists())
            o.ok = fail(
                ErrorCode::NotFound, tr("No QA passphrase is set yet: the PKI admin sets it on the admin screen."));
        else if (auto stored = DataDir::readSecretFile(f.fileName()); !stored)
            o.ok = std::unexpected(stored.error());
        else
            o.ok = checkPassphrase(secret, QByteArray(stored->data(), stored->size()));
    }
    secret.wipe();
    if (o.ok && !*o.ok) {
        auto after = store.signIns().refused(key, person, station);
        if (!after)
            return SignInOutcome { std::unexpected(after.error()), {}, false };
        o.state = *after;
    } else if (o.ok && *o.ok) {
        (void)store.signIns().accepted(key);
    }
    return o;
}

} // namespace imprint::core
