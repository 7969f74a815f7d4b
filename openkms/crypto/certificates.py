"""A certificate for serving HTTPS locally, whose issuer clients can be told to trust.

The issuer is a CA made for this one certificate: its name constraints permit only the server's own
names and addresses, and its private key is discarded once the server's certificate is signed. So a
client that trusts it (ca.pem, or cert.pem which carries it) trusts this server's certificate and
can never be made to trust anything else by it. The server's certificate is not a CA.
"""

import datetime
import ipaddress
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILE, KEY_FILE, CA_FILE = "cert.pem", "key.pem", "ca.pem"
VALID_DAYS = 825


def _key_usage(*, sign_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign_certificates,
        key_cert_sign=sign_certificates,
        crl_sign=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def _names(hosts: list[str]) -> tuple[list[x509.GeneralName], list[x509.GeneralName]]:
    """Each host as a subject alternative name, and as the name constraint that permits exactly it."""
    alternative: list[x509.GeneralName] = []
    permitted: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            alternative.append(x509.DNSName(host))
            permitted.append(x509.DNSName(host))
            continue
        alternative.append(x509.IPAddress(address))
        permitted.append(x509.IPAddress(ipaddress.ip_network(address)))
    return alternative, permitted


def _is_legacy(cert_path: Path) -> bool:
    """A certificate made before the CA was separate: itself a CA, which clients must not trust."""
    leaf = x509.load_pem_x509_certificates(cert_path.read_bytes())[0]
    try:
        return bool(leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def self_signed_certificate(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """The certificate (with its issuer after it) and key in `directory`, made on first use for
    `hosts` (names or IP addresses); ca.pem beside them holds the issuer alone."""
    cert_path, key_path, ca_path = directory / CERT_FILE, directory / KEY_FILE, directory / CA_FILE
    if cert_path.exists() and key_path.exists() and ca_path.exists() and not _is_legacy(cert_path):
        return cert_path, key_path
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    alternative, permitted = _names(hosts)
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=VALID_DAYS))

    ca_key = ec.generate_private_key(ec.SECP256R1())  # never written anywhere: it signs one certificate
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OpenKMS local issuer")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign_certificates=True), critical=True)
        .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "OpenKMS local")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    ca_pem = ca.public_bytes(serialization.Encoding.PEM)
    ca_path.write_bytes(ca_pem)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM) + ca_pem)
    return cert_path, key_path
