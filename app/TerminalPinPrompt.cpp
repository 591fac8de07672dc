#include "TerminalPinPrompt.h"

#include <openssl/crypto.h>

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

namespace imprint::app {

using core::ErrorCode;
using core::fail;

core::Result<core::Secret> askOnTerminal(
    const QByteArray& prompt, const QString& noTerminal, const QString& nothingTyped)
{
    const int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return fail(ErrorCode::Cancelled, noTerminal);
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
    core::Secret secret(QByteArray(buf, len));
    OPENSSL_cleanse(buf, sizeof buf);
    c = 0;
    // A cut-off secret would be wrong (and a PIN's try would count against the token): refuse it.
    if (!whole)
        return fail(
            ErrorCode::BadInput, QStringLiteral("What was typed is longer than 255 characters; it was not used."));
    if (secret.size() == 0)
        return fail(ErrorCode::Cancelled, nothingTyped);
    return secret;
}

core::Result<core::Secret> TerminalPinPrompt::askPin(const Request& request)
{
    QByteArray prompt;
    if (!request.warning.isEmpty())
        prompt += request.warning.toUtf8() + '\n';
    prompt += "PIN for token \"" + request.tokenLabel.toUtf8() + "\": ";
    return askOnTerminal(prompt,
        QStringLiteral("The token \"%1\" needs its PIN and there is no terminal to ask on; give the key URI a "
                       "pin-source for unattended use.")
            .arg(request.tokenLabel),
        QStringLiteral("No PIN was given; the token stays locked."));
}

} // namespace imprint::app
