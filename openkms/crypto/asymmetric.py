"""Asymmetric cryptography: RSA for importing key material, and the asymmetric customer master keys
(RSA-2048 decryption and signing, ECDSA on P-256 and P-384, and SM2 by way of `sm2`)."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from openkms.crypto import sm2
from openkms.crypto.aead import AuthenticationFailed
from openkms.domain.models import KeyUsage

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
    private = _load_private(private_der)
    assert isinstance(private, rsa.RSAPrivateKey)
    try:
        return private.decrypt(wrapped, WRAPPING_PADDINGS[algorithm]())
    except ValueError as exc:
        raise AuthenticationFailed from exc


def _load_private(private_der: bytes) -> Any:
    """Load a private key OpenKMS generated itself. It comes out of an authenticated unwrap, so pyca's RSA
    consistency check (tens of milliseconds, more than the RSA operation itself) proves nothing here."""
    return serialization.load_der_private_key(private_der, password=None, unsafe_skip_rsa_key_validation=True)


def material_digest(material: bytes) -> bytes:
    """What identifies imported material without being it (and is itself stored wrapped)."""
    return hashlib.sha256(b"OpenKMS imported material\x00" + material).digest()


# Asymmetric customer master keys: how each kind is generated (crypto/usages.py says which usage is
# which), and the algorithms they sign with.
@dataclass(frozen=True)
class SignAlgorithm:
    key_usage: KeyUsage
    digest_bytes: int
    make_hash: Callable[[], hashes.HashAlgorithm]
    pss: bool = False
    sm2: bool = False


SIGN_ALGORITHMS: dict[str, SignAlgorithm] = {
    "RSA_PSS_SHA_256": SignAlgorithm(KeyUsage.ASYMMETRIC_SIGN_VERIFY_RSA_2048, 32, hashes.SHA256, pss=True),
    "RSA_PKCS1_SHA_256": SignAlgorithm(KeyUsage.ASYMMETRIC_SIGN_VERIFY_RSA_2048, 32, hashes.SHA256),
    "ECC_P256_R1": SignAlgorithm(KeyUsage.ASYMMETRIC_SIGN_VERIFY_ECC, 32, hashes.SHA256),
    "ECC_P384_R1": SignAlgorithm(KeyUsage.ASYMMETRIC_SIGN_VERIFY_ECDSA384, 48, hashes.SHA384),
    "SM2DSA": SignAlgorithm(KeyUsage.ASYMMETRIC_SIGN_VERIFY_SM2, sm2.DIGEST_BYTES, hashes.SM3, sm2=True),
}


def _pkcs8(generate: Callable[[], Any]) -> Callable[[], bytes]:
    def generated() -> bytes:
        der: bytes = generate().private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return der

    return generated


new_rsa_2048 = _pkcs8(lambda: rsa.generate_private_key(65537, 2048))
new_ecc_p256 = _pkcs8(lambda: ec.generate_private_key(ec.SECP256R1()))
new_ecc_p384 = _pkcs8(lambda: ec.generate_private_key(ec.SECP384R1()))

DATA_KEY_PAIRS: dict[str, Callable[[], bytes]] = {
    "RSA_2048": new_rsa_2048,
    "RSA_3072": _pkcs8(lambda: rsa.generate_private_key(65537, 3072)),
    "RSA_4096": _pkcs8(lambda: rsa.generate_private_key(65537, 4096)),
    "ECC_NIST_P256": new_ecc_p256,
    "ECC_NIST_P384": new_ecc_p384,
    "ECC_NIST_P521": _pkcs8(lambda: ec.generate_private_key(ec.SECP521R1())),
    "ECC_SECG_P256K1": _pkcs8(lambda: ec.generate_private_key(ec.SECP256K1())),
    "SM2": sm2.new_private_key,
}
"""Key pairs handed to the caller (data key pairs), by spec: each makes a PKCS#8 DER private key."""


def new_data_key_pair(spec: str) -> tuple[bytes, bytes]:
    """A fresh key pair for the caller: (PKCS#8 DER private key, SubjectPublicKeyInfo DER public key)."""
    private = DATA_KEY_PAIRS[spec]()
    return private, (sm2.public_key if spec == "SM2" else public_key)(private)[0]


def public_key(private_der: bytes) -> tuple[bytes, str]:
    """(SubjectPublicKeyInfo DER, PEM) of an RSA or ECDSA private key."""
    public = _load_private(private_der).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der, pem.decode()


def _prepared(algorithm: SignAlgorithm, message: bytes, digest: bool) -> tuple[bytes, Any]:
    chosen = algorithm.make_hash()
    return message, (utils.Prehashed(chosen) if digest else chosen)


def sign(private_der: bytes, algorithm_name: str, message: bytes, digest: bool) -> bytes:
    algorithm = SIGN_ALGORITHMS[algorithm_name]
    if algorithm.sm2:
        return sm2.sign(private_der, message, digest)
    private = _load_private(private_der)
    data, chosen = _prepared(algorithm, message, digest)
    if isinstance(private, rsa.RSAPrivateKey):
        scheme = _pss(algorithm) if algorithm.pss else padding.PKCS1v15()
        return private.sign(data, scheme, chosen)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    return private.sign(data, ec.ECDSA(chosen))


def verify(private_der: bytes, algorithm_name: str, message: bytes, signature: bytes, digest: bool) -> bool:
    algorithm = SIGN_ALGORITHMS[algorithm_name]
    if algorithm.sm2:
        return sm2.verify(private_der, message, signature, digest)
    public = _load_private(private_der).public_key()
    data, chosen = _prepared(algorithm, message, digest)
    try:
        if isinstance(public, rsa.RSAPublicKey):
            public.verify(signature, data, _pss(algorithm) if algorithm.pss else padding.PKCS1v15(), chosen)
        else:
            assert isinstance(public, ec.EllipticCurvePublicKey)
            public.verify(signature, data, ec.ECDSA(chosen))
    except InvalidSignature:
        return False
    return True


def _pss(algorithm: SignAlgorithm) -> padding.PSS:
    return padding.PSS(mgf=padding.MGF1(algorithm.make_hash()), salt_length=padding.PSS.DIGEST_LENGTH)


SM2_RETURN_FORMATS = {"SM2": False, "SM2_C1C3C2_ASN1": True}
"""EncryptionAlgorithm -> whether the SM2 ciphertext is ASN.1 (otherwise raw C1 || C3 || C2)."""


def encrypt_to(public_pem: str, algorithm: str, plaintext: bytes) -> bytes:
    """Encrypt a plaintext KMS would return to a caller-supplied public key (EncryptionPublicKey)."""
    if algorithm in SM2_RETURN_FORMATS:
        if not sm2.is_sm2_public_key(public_pem.encode()):
            raise ValueError("EncryptionPublicKey is not an SM2 public key")
        return sm2.encrypt_to(public_pem.encode(), plaintext, SM2_RETURN_FORMATS[algorithm])
    try:
        public = serialization.load_pem_public_key(public_pem.encode())
    except UnsupportedAlgorithm as exc:
        raise ValueError("EncryptionPublicKey is not an RSA public key") from exc
    if not isinstance(public, rsa.RSAPublicKey):
        raise ValueError("EncryptionPublicKey is not an RSA public key")
    return public.encrypt(plaintext, WRAPPING_PADDINGS[algorithm]())
