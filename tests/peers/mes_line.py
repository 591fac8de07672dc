#!/usr/bin/env python3
"""An MES driving a line through the station service's socket, with nothing of Imprint's code:
the standard library's socket and json, as the README's API section shows.

usage: mes_line.py SOCKET PORT [PORT ...]
Adds a slot for each port, follows the pushed events until each has a verdict, and prints
one JSON object: {"verdicts": {port: verdict}, "events": N, "shift": {...}, "hello": {...}}.
"""
import json
import socket
import sys


class Station:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rwb")
        self.next_id = 1
        self.events = []

    def call(self, method, **params):
        request = {"id": self.next_id, "method": method, "params": params}
        self.next_id += 1
        self.file.write(json.dumps(request).encode() + b"\n")
        self.file.flush()
        while True:
            message = self.read()
            if "event" in message:
                self.events.append(message)
            elif message.get("id") == request["id"]:
                if "error" in message:
                    raise RuntimeError(message["error"]["code"] + ": " + message["error"]["message"])
                return message["result"]

    def read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("the station service closed the connection")
        return json.loads(line)

    def event(self):
        return self.events.pop(0) if self.events else self.read()


def main():
    station = Station(sys.argv[1])
    hello = station.call("hello")
    station.call("subscribe")
    # The shift's figures come first as they stand; the line is done when they count ours too.
    before = None
    slots = {}
    for port in sys.argv[2:]:
        slot = station.call("slot.add", port=port)["slot"]
        slots[slot["slot"]] = port
    verdicts = {}
    count = 0
    shift = None
    def total(figures):
        # Every slot's run is counted: a job passed, failed or done earlier, or an attempt that
        # identified no device.
        return figures["passed"] + figures["failed"] + figures["done_earlier"] + figures.get("no_device", 0)

    while len(verdicts) < len(slots) or shift is None or total(shift) < total(before) + len(slots):
        event = station.event()
        count += 1
        if event["event"] == "shift":
            shift = event
            if before is None:
                before = event
        if event["event"] == "slot" and event["slot"]["slot"] in slots and event["slot"]["verdict"]:
            verdicts[slots[event["slot"]["slot"]]] = event["slot"]["verdict"]
    print(json.dumps({"verdicts": verdicts, "events": count, "shift": shift, "hello": hello}))


if __name__ == "__main__":
    main()
