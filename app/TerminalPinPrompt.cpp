#include "TerminalPinPrompt.h"

#include <openssl/crypto.h>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace imprint::app {

using core::ErrorCode;
using core::fail;

core::Result<core::Secret> TerminalPinPrompt::askPin(const Request& request)
{
    const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail(ErrorCode::Cancelled,
            QStringLiteral("The token \"%1\" needs its PIN and there is no terminal to ask on; give the key URI a "
                           "pin-source for unattended use.")
                .arg(request.tokenLabel));
    QByteArray prompt;
    if (!request.warning.isEmpty())
        prompt += request.warning.toUtf8() + '\n';
    prompt += "PIN for token \"" + request.tokenLabel.toUtf8() + "\": ";
    (void)!::write(fd, prompt.constData(), static_cast<size_t>(prompt.size()));

    termios saved {};
    const bool isTty = ::tcgetattr(fd, &saved) == 0;
    if (isTty) {
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    char buf[256];
    qsizetype len = 0;
    char c = 0;
    while (len < static_cast<qsizetype>(sizeof buf) && ::read(fd, &c, 1) == 1 && c != '\n')
        buf[len++] = c;
    if (isTty)
        ::tcsetattr(fd, TCSAFLUSH, &saved);
    (void)!::write(fd, "\n", 1);
    ::close(fd);
    const bool whole = len < static_cast<qsizetype>(sizeof buf);
    core::Secret pin(QByteArray(buf, len));
    OPENSSL_cleanse(buf, sizeof buf);
    c = 0;
    // A cut-off PIN would be wrong and count against the token's tries: refuse it instead.
    if (!whole)
        return fail(ErrorCode::BadInput, QStringLiteral("The PIN is longer than 255 characters; it was not tried."));
    if (pin.size() == 0)
        return fail(ErrorCode::Cancelled, QStringLiteral("No PIN was given; the token stays locked."));
    return pin;
}

} // namespace imprint::app
