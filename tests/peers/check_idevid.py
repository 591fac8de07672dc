#!/usr/bin/env python3
"""Independent check of an Imprint IDevID certificate with python3-cryptography.

usage: check_idevid.py CERT.pem ISSUER.pem DEVICE_SERIAL [--eku OID ...] [--hwmn-type OID]
                       [--days N] [--subject-o O] [--subject-ou OU]
Exits 0 and prints "ok" when the certificate is signed by the issuer and every field is what
the profile says (idevid unless options say otherwise); otherwise prints what is wrong and
exits 1. Without --eku / --hwmn-type the certificate must have no EKU / subjectAltName.
"""
import argparse
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cert")
    ap.add_argument("issuer")
    ap.add_argument("serial")
    ap.add_argument("--eku", nargs="*", default=[])
    ap.add_argument("--hwmn-type")
    ap.add_argument("--days", type=int, default=0)
    ap.add_argument("--subject-o")
    ap.add_argument("--subject-ou")
    args = ap.parse_args()
    cert = x509.load_pem_x509_certificate(open(args.cert, "rb").read())
    issuer = x509.load_pem_x509_certificate(open(args.issuer, "rb").read())
    serial = args.serial
    problems = []

    issuer.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                               ec.ECDSA(cert.signature_hash_algorithm))
    if cert.issuer != issuer.subject:
        problems.append("issuer name differs from the CA subject")
    if cert.version != x509.Version.v3:
        problems.append("not v3")
    sn = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if [a.value for a in sn] != [serial]:
        problems.append(f"subject serialNumber is {sn}, expected {serial}")
    if cert.serial_number < 2**63:
        problems.append("certificate serial has fewer than 64 bits")
    if args.days == 0 and cert.not_valid_after != datetime.datetime(9999, 12, 31, 23, 59, 59):
        problems.append(f"notAfter is {cert.not_valid_after}, expected 99991231235959Z")
    if args.days and cert.not_valid_after - cert.not_valid_before != datetime.timedelta(days=args.days):
        problems.append(f"validity is {cert.not_valid_after - cert.not_valid_before}, expected {args.days} days")
    for oid, wanted in ((NameOID.ORGANIZATION_NAME, args.subject_o),
                        (NameOID.ORGANIZATIONAL_UNIT_NAME, args.subject_ou)):
        got = [a.value for a in cert.subject.get_attributes_for_oid(oid)]
        if wanted is not None and got != [wanted]:
            problems.append(f"subject {oid._name} is {got}, expected {wanted}")

    try:
        eku = [o.dotted_string for o in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value]
    except x509.ExtensionNotFound:
        eku = []
    if eku != args.eku:
        problems.append(f"extendedKeyUsage is {eku}, expected {args.eku}")
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if args.hwmn_type is None and san is not None:
        problems.append("unexpected subjectAltName")
    if args.hwmn_type is not None:
        names = [n for n in (san or []) if isinstance(n, x509.OtherName)]
        if len(names) != 1 or names[0].type_id.dotted_string != "1.3.6.1.5.5.7.8.4":
            problems.append("subjectAltName has no hardwareModuleName (RFC 4108)")
        else:
            # HardwareModuleName ::= SEQUENCE { hwType OID, hwSerialNum OCTET STRING }
            oid_der = x509.ObjectIdentifier(args.hwmn_type)
            arcs = [int(a) for a in args.hwmn_type.split(".")]
            body = bytes([40 * arcs[0] + arcs[1]])
            for arc in arcs[2:]:
                chunk = [arc & 0x7F]
                arc >>= 7
                while arc:
                    chunk.insert(0, 0x80 | (arc & 0x7F))
                    arc >>= 7
                body += bytes(chunk)
            sn_bytes = serial.encode()
            inner = b"\x06" + bytes([len(body)]) + body + b"\x04" + bytes([len(sn_bytes)]) + sn_bytes
            expected = b"\x30" + bytes([len(inner)]) + inner
            if expected not in names[0].value:
                problems.append(f"hardwareModuleName is {names[0].value.hex()}, expected {expected.hex()} ({oid_der})")

    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    if not bc.critical or bc.value.ca:
        problems.append("basicConstraints must be critical, CA:FALSE")
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    if not ku.critical or not ku.value.digital_signature or ku.value.key_cert_sign or ku.value.key_encipherment:
        problems.append("keyUsage must be critical digitalSignature only")
    ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    issuer_ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    if aki.value.key_identifier != issuer_ski.value.digest:
        problems.append("authorityKeyIdentifier does not match the CA's subjectKeyIdentifier")
    if ski.value.digest != x509.SubjectKeyIdentifier.from_public_key(cert.public_key()).digest:
        problems.append("subjectKeyIdentifier is not the hash of the public key")

    if problems:
        print("\n".join(problems))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
