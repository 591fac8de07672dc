#!/usr/bin/env python3
"""Runs pkcs11-tool with the user PIN typed at its prompt, so the PIN never goes on a command line.

usage: pkcs11_tool_pty.py PIN_FILE -- pkcs11-tool ARGS...
Prints pkcs11-tool's output and exits with its status.
"""
import os
import pty
import select
import sys
import termios
import time


def main():
    pin_file = sys.argv[1]
    argv = sys.argv[sys.argv.index("--") + 1:]
    pin = open(pin_file, "rb").read().strip()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    output = b""
    sent = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not sent and b"PIN:" in output:
            # The prompt turns echo off with TCSAFLUSH, which discards input typed before it:
            # type the PIN only once echo is off.
            if not termios.tcgetattr(fd)[3] & termios.ECHO:
                os.write(fd, pin + b"\n")
                sent = True
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    else:
        os.kill(pid, 9)
        output += b"\n(pkcs11-tool did not finish in 30 s)\n"
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(output.decode(errors="replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
