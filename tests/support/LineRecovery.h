#pragma once

// What the crash and power-cut tests check after the station stopped in the middle of a
// line (killed, or its power cut), and how they start it again.

#include <QHash>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>

namespace imprint::test {

/// What one look at a store finds, through a connection of its own.
struct StoreSnapshot {
    QString integrity; ///< PRAGMA integrity_check
    QHash<QString, QString> certStateBySha; ///< sha256 -> state
    QHash<QString, QString> deviceBySha; ///< sha256 -> device serial
    int resumed = 0; ///< jobs that continued an interrupted one
    int superseded = 0;
    QHash<QString, QString> deviceStatus;
    int certificates = 0;
    QStringList problems; ///< a certificate that does not parse or match its row, a serial twice
};
[[nodiscard]] StoreSnapshot inspectStore(const QString& dbPath);

/// The "SERIAL SHA256" lines the simulated devices wrote (and synced) for every certificate
/// they took, oldest first.
[[nodiscard]] QList<QPair<QString, QString>> receivedCertificates(const QString& log);

/// "--port P1 --port P2 ..."
[[nodiscard]] QStringList portArgs(const QStringList& ports);

/// One line of simulated devices, PREFIX-0001 .. PREFIX-N, linked under `links`.
struct Line {
    QString prefix;
    QString links;
    QString log; ///< the devices' received-certificates log
    int devices = 0;
    [[nodiscard]] QString serial(int i) const;
};

/// After the station stopped in the middle of
/// `line`: the store passes its checks, every certificate a device took is on record, the
/// audit log verifies, and every device not passed is listed as interrupted (or never got
/// a job). Then the station is started again on the devices not passed, and each is
/// resumed to a pass with the certificate it holds verified; every other certificate of
/// the line is superseded. Returns how many devices were not passed after the stop.
int checkAndResumeLine(const QString& dataDir, const Line& line);

} // namespace imprint::test
