// imprintctl: the station's engine, headless, for people at a shell and for a MES. Each
// command lives in app/cli/ and is listed once in cli::commands().

#include "cli/Command.h"

#include <QCoreApplication>

int main(int argc, char** argv)
{
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("imprintctl"));
    QCoreApplication::setApplicationVersion(QStringLiteral(IMPRINT_VERSION));
    return imprint::app::cli::dispatch(QCoreApplication::arguments());
}
