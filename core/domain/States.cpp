#include "domain/States.h"

#include <array>
#include <utility>

namespace imprint::core {

namespace {

template <typename E, std::size_t N> using Names = std::array<std::pair<E, const char*>, N>;

// The one place each state's text is written. Never change a text: it is in every store
// and every program reading --json.
template <typename E> struct StateNames;

template <> struct StateNames<DeviceStatus> {
    static constexpr Names<DeviceStatus, 5> names { {
        { DeviceStatus::InProgress, "in-progress" },
        { DeviceStatus::Passed, "passed" },
        { DeviceStatus::Failed, "failed" },
        { DeviceStatus::Issued, "issued" },
        { DeviceStatus::Scrapped, "scrapped" },
    } };
};

template <> struct StateNames<CertificateState> {
    static constexpr Names<CertificateState, 5> names { {
        { CertificateState::Issued, "issued" },
        { CertificateState::Installed, "installed" },
        { CertificateState::Verified, "verified" },
        { CertificateState::Superseded, "superseded" },
        { CertificateState::Revoked, "revoked" },
    } };
};

template <> struct StateNames<SerialState> {
    static constexpr Names<SerialState, 3> names { {
        { SerialState::Reserved, "reserved" },
        { SerialState::Used, "used" },
        { SerialState::Void, "void" },
    } };
};

template <> struct StateNames<JobOutcome> {
    static constexpr Names<JobOutcome, 6> names { {
        { JobOutcome::Passed, "passed" },
        { JobOutcome::Failed, "failed" },
        { JobOutcome::Issued, "issued" },
        { JobOutcome::Interrupted, "interrupted" },
        { JobOutcome::Scrapped, "scrapped" },
        { JobOutcome::DoneEarlier, "done-earlier" },
    } };
};

template <> struct StateNames<StepName> {
    static constexpr Names<StepName, 17> names { {
        { StepName::Identify, "identify" },
        { StepName::Resume, "resume" },
        { StepName::CheckCsr, "check-csr" },
        { StepName::Issue, "issue" },
        { StepName::Inject, "inject" },
        { StepName::Verify, "verify" },
        { StepName::Supersede, "supersede" },
        { StepName::Disconnect, "disconnect" },
        { StepName::Reconnect, "reconnect" },
        { StepName::Scrap, "scrap" },
        { StepName::Finish, "finish" },
        { StepName::Keygen, "keygen" },
        { StepName::InjectKey, "inject-key" },
        { StepName::Install, "install" },
        { StepName::ReadBack, "read-back" },
        { StepName::Challenge, "challenge" },
        { StepName::Lock, "lock" },
    } };
};

template <> struct StateNames<StepStatus> {
    static constexpr Names<StepStatus, 9> names { {
        { StepStatus::Done, "done" },
        { StepStatus::Intent, "intent" },
        { StepStatus::Rejected, "rejected" },
        { StepStatus::Waiting, "waiting" },
        { StepStatus::Passed, "passed" },
        { StepStatus::Failed, "failed" },
        { StepStatus::Issued, "issued" },
        { StepStatus::Interrupted, "interrupted" },
        { StepStatus::DoneEarlier, "done-earlier" },
    } };
};

template <> struct StateNames<OutboxKind> {
    static constexpr Names<OutboxKind, 2> names { {
        { OutboxKind::Certificate, "certificate" },
        { OutboxKind::Revocation, "revocation" },
    } };
};

template <> struct StateNames<OutboxState> {
    static constexpr Names<OutboxState, 8> names { {
        { OutboxState::Pending, "pending" },
        { OutboxState::Sent, "sent" },
        { OutboxState::Waiting, "waiting" },
        { OutboxState::Answered, "answered" },
        { OutboxState::Confirmed, "confirmed" },
        { OutboxState::Rejected, "rejected" },
        { OutboxState::Failed, "failed" },
        { OutboxState::Skipped, "skipped" },
    } };
};

template <> struct StateNames<AuditKind> {
    static constexpr Names<AuditKind, 21> names { {
        { AuditKind::Issued, "issued" },
        { AuditKind::IssuedBatch, "issued-batch" },
        { AuditKind::Installed, "installed" },
        { AuditKind::Verified, "verified" },
        { AuditKind::Superseded, "superseded" },
        { AuditKind::Revoked, "revoked" },
        { AuditKind::Rejected, "rejected" },
        { AuditKind::Scrapped, "scrapped" },
        { AuditKind::LotCreated, "lot-created" },
        { AuditKind::LotClosed, "lot-closed" },
        { AuditKind::Login, "login" },
        { AuditKind::Setting, "setting" },
        { AuditKind::Exported, "exported" },
        { AuditKind::UpstreamCertified, "upstream-certified" },
        { AuditKind::UpstreamRevoked, "upstream-revoked" },
        { AuditKind::UpstreamRejected, "upstream-rejected" },
        { AuditKind::UpstreamRefused, "upstream-refused" },
        { AuditKind::Imported, "imported" },
        { AuditKind::CrlIssued, "crl-issued" },
        { AuditKind::Checkpoint, "checkpoint" },
        { AuditKind::Refused, "refused" },
    } };
};

template <typename E> QString nameOf(E value)
{
    for (const auto& [v, name] : StateNames<E>::names) {
        if (v == value)
            return QString::fromLatin1(name);
    }
    Q_UNREACHABLE();
    return QString();
}

} // namespace

template <typename E> std::optional<E> parseState(QStringView text)
{
    for (const auto& [v, name] : StateNames<E>::names) {
        if (text == QLatin1String(name))
            return v;
    }
    return std::nullopt;
}

template <typename E> QStringList stateTexts()
{
    QStringList out;
    for (const auto& entry : StateNames<E>::names)
        out << QString::fromLatin1(entry.second);
    return out;
}

#define IMPRINT_STATE(E)                                                                                               \
    QString text(E s)                                                                                                  \
    {                                                                                                                  \
        return nameOf(s);                                                                                              \
    }                                                                                                                  \
    template std::optional<E> parseState<E>(QStringView);                                                              \
    template QStringList stateTexts<E>();

IMPRINT_STATE(DeviceStatus)
IMPRINT_STATE(CertificateState)
IMPRINT_STATE(SerialState)
IMPRINT_STATE(JobOutcome)
IMPRINT_STATE(StepName)
IMPRINT_STATE(StepStatus)
IMPRINT_STATE(OutboxKind)
IMPRINT_STATE(OutboxState)
IMPRINT_STATE(AuditKind)

#undef IMPRINT_STATE

StepStatus finishStatus(JobOutcome outcome)
{
    switch (outcome) {
    case JobOutcome::Passed: return StepStatus::Passed;
    case JobOutcome::Failed: return StepStatus::Failed;
    case JobOutcome::Issued: return StepStatus::Issued;
    case JobOutcome::Interrupted: return StepStatus::Interrupted;
    case JobOutcome::Scrapped: return StepStatus::Done;
    case JobOutcome::DoneEarlier: return StepStatus::DoneEarlier;
    }
    Q_UNREACHABLE();
    return StepStatus::Done;
}

DeviceStatus deviceStatus(JobOutcome outcome)
{
    switch (outcome) {
    case JobOutcome::Passed: return DeviceStatus::Passed;
    case JobOutcome::Failed: return DeviceStatus::Failed;
    case JobOutcome::Issued: return DeviceStatus::Issued;
    case JobOutcome::Interrupted: return DeviceStatus::InProgress;
    case JobOutcome::Scrapped: return DeviceStatus::Scrapped;
    case JobOutcome::DoneEarlier: return DeviceStatus::Passed;
    }
    Q_UNREACHABLE();
    return DeviceStatus::InProgress;
}

} // namespace imprint::core
