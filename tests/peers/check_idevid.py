#!/usr/bin/env python3
"""Independent check of an Imprint IDevID certificate with python3-cryptography.

usage: check_idevid.py CERT.pem ISSUER.pem DEVICE_SERIAL
Exits 0 and prints "ok" when the certificate is signed by the issuer and every field is what
the idevid profile says; otherwise prints what is wrong and exits 1.
"""
import datetime
import sys

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def main():
    cert = x509.load_pem_x509_certificate(open(sys.argv[1], "rb").read())
    issuer = x509.load_pem_x509_certificate(open(sys.argv[2], "rb").read())
    serial = sys.argv[3]
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
    if cert.not_valid_after != datetime.datetime(9999, 12, 31, 23, 59, 59):
        problems.append(f"notAfter is {cert.not_valid_after}, expected 99991231235959Z")

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
