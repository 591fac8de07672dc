#include "FailureWords.h"

#include <QCoreApplication>
#include <QHash>

namespace imprint::ui {

namespace {

struct Words {
    const char* label;
    const char* sentence;
};

const QHash<QString, Words>& table()
{
    static const QHash<QString, Words> words {
        { QStringLiteral("timeout"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "no answer"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "The device did not answer.") } },
        { QStringLiteral("bad-frames"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "damaged answers"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "Its answers came damaged: check the cable and the port.") } },
        { QStringLiteral("disconnected"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "went away"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "The device went away and did not come back in time.") } },
        { QStringLiteral("device-swapped"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "other device"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Another device came back.") } },
        { QStringLiteral("key-reused"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "key reused"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "Its key is another device's: its random generator is broken.") } },
        { QStringLiteral("readback-mismatch"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "read-back wrong"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "It did not store its certificate correctly.") } },
        { QStringLiteral("challenge-failed"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "no key proof"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "It could not prove it holds its key.") } },
        { QStringLiteral("already-locked"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "locked, no pass"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "Locked, but with no pass on record here: set it aside for QA.") } },
        { QStringLiteral("certificate-mismatch"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "other certificate"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "It holds another certificate than on record: set it aside for QA.") } },
        { QStringLiteral("scrapped"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "scrapped"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "This device was scrapped: set it aside.") } },
        { QStringLiteral("serial-in-use"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "serial in use"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "Its serial belongs to a device that passed: check the label.") } },
        { QStringLiteral("frame-too-large"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "frames too small"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "Its firmware cannot take a certificate this large: set it aside for a firmware update.") } },
        { QStringLiteral("bad-serial"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "bad serial"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "Its serial breaks the protocol's rules: check its firmware.") } },
        { QStringLiteral("bad-model"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "bad model name"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "Its model name breaks the protocol's rules: check its firmware.") } },
        { QStringLiteral("bad-firmware"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "bad firmware name"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "Its firmware version breaks the protocol's rules: check its firmware.") } },
        { QStringLiteral("unsupported"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "unsupported"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "Its firmware lacks what this step needs: set it aside for a firmware update.") } },
        { QStringLiteral("serial-unassigned"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "no serial"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "It has no serial and no one scans labels.") } },
        { QStringLiteral("aborted"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "stopped"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Stopped by the operator.") } },
        { QStringLiteral("token-lost"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "HSM gone"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "The HSM token is gone: nothing was signed.") } },
        { QStringLiteral("bad-signature"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "bad request"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "Its certificate request is not signed by its key: set it aside.") } },
        { QStringLiteral("serial-mismatch"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "wrong serial"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "Its request names another serial than the device: check its firmware.") } },
        { QStringLiteral("serial-missing"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "no serial in request"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Its request names no serial: check its firmware.") } },
        { QStringLiteral("key-not-allowed"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "key type refused"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Its key type is not allowed by the profile.") } },
        { QStringLiteral("malformed"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "bad request"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "It sent something that is not a certificate request.") } },
        { QStringLiteral("too-large"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "request too large"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Its certificate request is too large.") } },
        { QStringLiteral("trailing-bytes"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "bad request"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Its certificate request has bytes after its end.") } },
        { QStringLiteral("injected-key-mismatch"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "wrong key"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "It asked for a certificate for another key than it was given.") } },
        { QStringLiteral("refused"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "refused"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "Its secure element declined: press Retry once, then set it aside.") } },
        { QStringLiteral("bad-args"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "firmware mismatch"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "It and the station disagree on a request: set it aside for the firmware engineers.") } },
        { QStringLiteral("bad-state"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "not ready"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "It was not ready for this step: if it happens again, reset it.") } },
        { QStringLiteral("locked"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "locked"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "It is locked and takes nothing more: set it aside for QA.") } },
        { QStringLiteral("no-key"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "no key"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "It holds no key (reset mid-job?).") } },
        { QStringLiteral("no-cert"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "no certificate"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "It holds no certificate.") } },
        { QStringLiteral("crypto"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "sealed key failed"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "The sealed key did not open on it: its secure element may be faulty.") } },
        { QStringLiteral("internal"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "device fault"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "It failed inside: power-cycle it.") } },
        { QStringLiteral("lot-closed"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "lot closed"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "The lot is closed: start with a new lot.") } },
        { QStringLiteral("no-port"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "no port"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "There is no such port: check the name and the cable.") } },
        { QStringLiteral("port-permission"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "port not allowed"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords",
                    "The station may not open this port: ask IT for the port's group.") } },
        { QStringLiteral("port-busy"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "port in use"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Another program holds this port.") } },
        { QStringLiteral("port-open"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "port failed"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "The port could not be opened.") } },
        { QStringLiteral("protocol"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "protocol error"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "It broke the protocol: check its firmware.") } },
        { QStringLiteral("io"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "port failed"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "The port failed.") } },
        { QStringLiteral("hsm"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "HSM failed"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "The HSM failed: nothing was signed.") } },
        { QStringLiteral("store"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "records failed"),
                QT_TRANSLATE_NOOP(
                    "imprint::ui::FailureWords", "The records could not be written: call the PKI admin.") } },
        { QStringLiteral("crypto-failed"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "crypto failed"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "A cryptographic step failed.") } },
        { QStringLiteral("verification-failed"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "not verified"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Its certificate could not be verified.") } },
        { QStringLiteral("cancelled"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "stopped"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Stopped.") } },
        { QStringLiteral("csr-rejected"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "request refused"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "Its certificate request was refused.") } },
        { QStringLiteral("device-refused"),
            { QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "refused"),
                QT_TRANSLATE_NOOP("imprint::ui::FailureWords", "The device refused.") } },
    };
    return words;
}

} // namespace

QString FailureWords::sentence(const QString& code)
{
    const auto it = table().constFind(code);
    if (it != table().cend())
        return tr(it->sentence);
    return tr("It failed (%1): the details are in the tooltip.").arg(code.left(40));
}

QString FailureWords::label(const QString& code)
{
    const auto it = table().constFind(code);
    return it != table().cend() ? tr(it->label) : code.left(18);
}

} // namespace imprint::ui
