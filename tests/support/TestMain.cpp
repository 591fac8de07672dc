// Catch2 runner with a Qt application object, so tests can use signals, timers and widgets.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#ifdef IMPRINT_TEST_GUI
#include <QApplication>
using TestApp = QApplication;
#else
#include <QCoreApplication>
using TestApp = QCoreApplication;
#endif

int main(int argc, char** argv)
{
#ifdef IMPRINT_TEST_GUI
    // GUI tests run without a display unless one is asked for.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
#endif
    // imprintctl goes through a station service when one listens: the tests' commands work
    // on their own data directories unless a test starts a service and says so.
    if (qEnvironmentVariableIsEmpty("IMPRINT_SOCKET"))
        qputenv("IMPRINT_SOCKET", "/nonexistent/imprint-tests/station.sock");
    int qtArgc = 1;
    TestApp app(qtArgc, argv);
    return Catch::Session().run(argc, argv);
}
