"""RSA for importing key material: a wrapping key pair, and unwrapping what a user wrapped with it."""

import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from openkms.crypto.aead import AuthenticationFailed

WRAPPING_KEY_BITS = 2048
WRAPPING_PADDINGS: dict[str, Callable[[], padding.AsymmetricPadding]] = {
    "RSAES_PKCS1_V1_5": lambda: padding.PKCS1v15(),
    "RSAES_OAEP_SHA_1": lambda: padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
    "RSAES_OAEP_SHA_256": lambda: padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
}


def new_wrapping_key() -> tuple[bytes, bytes]:
    """A fresh RSA-2048 key pair: (private key as PKCS#8 DER, public key as SubjectPublicKeyInfo DER)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=WRAPPING_KEY_BITS)
    private_der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_der, public_der


def rsa_unwrap(private_der: bytes, algorithm: str, wrapped: bytes) -> bytes:
    private = serialization.load_der_private_key(private_der, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    try:
        return private.decrypt(wrapped, WRAPPING_PADDINGS[algorithm]())
    except ValueError as exc:
        raise AuthenticationFailed from exc


def material_digest(material: bytes) -> bytes:
    """What identifies imported material without being it (and is itself stored wrapped)."""
    return hashlib.sha256(b"OpenKMS imported material\x00" + material).digest()
