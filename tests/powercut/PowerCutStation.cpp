// imprint-powercut-station: imprintctl itself, with its record store over the power-cut
// VFS (PowerCutVfs.h) when IMPRINT_POWER_CUT says when and how to cut. For the power-cut
// test only; never installed.

#include "PowerCutVfs.h"
#include "cli/Command.h"

#include <QCoreApplication>

#include <cstdio>

int main(int argc, char** argv)
{
    QString error;
    const auto plan = imprint::test::powercut::planFromEnvironment(&error);
    if (!error.isEmpty()) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 2;
    }
    if (plan && !imprint::test::powercut::install(*plan)) {
        std::fprintf(stderr, "the power-cut VFS could not be installed\n");
        return 2;
    }
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("imprintctl"));
    return imprint::app::cli::dispatch(QCoreApplication::arguments());
}
