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
    int qtArgc = 1;
    TestApp app(qtArgc, argv);
    return Catch::Session().run(argc, argv);
}
