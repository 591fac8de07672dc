// imprintctl init: a data directory made ready for a demo or a first station.

#include "StationSetup.h"
#include "cli/Command.h"

namespace imprint::app::cli {

int init(const QStringList& args)
{
    CommandLine p(QStringLiteral("Set up a data directory: SoftHSM2 token, issuing CA key inside it, "
                                 "demo root and CA certificate."));
    QCommandLineOption module(QStringLiteral("module"), QStringLiteral("PKCS#11 module with a free token."),
        QStringLiteral("PATH"), QStringLiteral(IMPRINT_DEFAULT_PKCS11_MODULE));
    QCommandLineOption name(
        QStringLiteral("station-name"), QStringLiteral("Name recorded with every step."), QStringLiteral("NAME"));
    p.addOption(module);
    p.addOption(name);
    p.parse(args);

    core::DataDir dir = p.dataDir();
    hsm::InitOptions options;
    options.modulePath = p.value(module);
    options.stationName = p.value(name);
    if (auto r = hsm::initDemoStation(dir, options); !r)
        return report(r.error());
    out() << "Station set up in " << dir.path() << Qt::endl
          << "  token:     SoftHSM2, label \"" << options.tokenLabel << "\" (" << dir.tokenDir() << ")" << Qt::endl
          << "  CA key:    \"" << options.keyLabel << "\", generated inside the token, not extractable" << Qt::endl
          << "  CA chain:  " << dir.chainFile() << Qt::endl
          << "  records:   " << dir.database() << Qt::endl;
    return 0;
}

} // namespace imprint::app::cli
