#!/usr/bin/env python3
"""An attacker with the store file and no key: runs SQL on it, then recomputes the audit
log's hash chain from the first entry so that every entry follows the one before again.

    rewrite_audit.py STORE.sqlite "SQL; SQL; ..." [--fix-checkpoints | --sign-with KEY.pem]

--fix-checkpoints makes each checkpoint entry name the rewritten hash of the entry before it
(its signature is the old one); --sign-with signs each checkpoint again with the attacker's
own EC key (and names that key), as the station's audit key would.

The hash is the one the station documents (README, "The audit log"): SHA-256 over the
previous hash, "IMPRINT-AUDIT-V1\\0", the entry number (8 bytes big-endian), then at,
station, operator, kind, subject and detail, each as a 4-byte big-endian length and its
UTF-8 bytes. Entries are renumbered 1..N in their order.
"""
import base64
import hashlib
import re
import sqlite3
import struct
import sys

CHECKPOINT = re.compile(r"^entry (\d+) hash ([0-9a-f]{64}) key-sha256 ([0-9a-f]{64}) signature (\S+)$")


def entry_hash(prev_hex, seq, fields):
    data = bytes.fromhex(prev_hex) + b"IMPRINT-AUDIT-V1\x00" + struct.pack(">Q", seq)
    for f in fields:
        b = (f or "").encode()
        data += struct.pack(">I", len(b)) + b
    return hashlib.sha256(data).hexdigest()


def signer(path):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    fingerprint = hashlib.sha256(spki).hexdigest()

    def sign(seq, hash_hex):
        message = b"IMPRINT-AUDIT-CHECKPOINT-V1\x00" + struct.pack(">Q", seq) + bytes.fromhex(hash_hex)
        return fingerprint, key.sign(message, ec.ECDSA(hashes.SHA256()))
    return sign


def main():
    db = sqlite3.connect(sys.argv[1])
    if len(sys.argv) > 2 and sys.argv[2].strip():
        db.executescript(sys.argv[2])
    fix = "--fix-checkpoints" in sys.argv
    sign = signer(sys.argv[sys.argv.index("--sign-with") + 1]) if "--sign-with" in sys.argv else None
    rows = db.execute(
        "SELECT seq, at, station, operator, kind, subject, detail FROM audit ORDER BY seq").fetchall()
    db.execute("DELETE FROM audit")
    prev = "0" * 64
    for n, (_, at, station, operator, kind, subject, detail) in enumerate(rows, start=1):
        m = CHECKPOINT.match(detail) if kind == "checkpoint" else None
        if m and (fix or sign):
            fingerprint, signature = m.group(3), m.group(4)
            if sign:
                fingerprint, raw = sign(n - 1, prev)
                signature = base64.b64encode(raw).decode()
            detail = "entry %d hash %s key-sha256 %s signature %s" % (n - 1, prev, fingerprint, signature)
        h = entry_hash(prev, n, (at, station, operator, kind, subject, detail))
        db.execute("INSERT INTO audit(seq, at, station, operator, kind, subject, detail, prev_hash, hash) "
                   "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)", (n, at, station, operator, kind, subject, detail, prev, h))
        prev = h
    db.commit()
    print(len(rows))


if __name__ == "__main__":
    main()
