#!/usr/bin/env python3
"""Runs pkcs11-tool with the user PIN typed at its prompt, so the PIN never goes on a command line.

usage: pkcs11_tool_pty.py PIN_FILE -- pkcs11-tool ARGS...
Prints pkcs11-tool's output and exits with its status.
"""
import os
import pty
import sys


def main():
    pin_file = sys.argv[1]
    argv = sys.argv[sys.argv.index("--") + 1:]
    pin = open(pin_file, "rb").read().strip()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    output = b""
    sent = False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
        if not sent and b"PIN:" in output:
            os.write(fd, pin + b"\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(output.decode(errors="replace"))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
