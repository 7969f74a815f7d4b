"""Post-quantum keys (NIST FIPS 203 and 204, through pyca/cryptography): ML-KEM-768 encryption as
KEM + AES-256-GCM, and ML-DSA-65 signatures. Private keys are kept as their 64- or 32-byte seeds.

PQ ciphertext: version 0x51 | key id (16) | key version (4) | ML-KEM-768 ciphertext (1088) | nonce (12)
| AES-256-GCM(plaintext) with tag; the AEAD key is HMAC-SHA256(shared secret, LABEL), the associated
data every byte before the AEAD ciphertext. One opaque error for every failure, as for symmetric blobs.
"""

import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem

from openkms.crypto.aead import NONCE_BYTES, AuthenticationFailed, derive_key, open_sealed, seal, unique_bytes
from openkms.crypto.ciphertext import CiphertextHeader, key_id_text
from openkms.domain.errors import InvalidCiphertext
from openkms.domain.ids import uuid_bytes

PQ_FORMAT = 0x51
LABEL = b"OpenKMS ML-KEM-768 AES-256-GCM v1\x00"
KEM_CIPHERTEXT_BYTES = 1088
_HEADER = struct.Struct(">B16sI")
OPAQUE_MESSAGE = "CiphertextBlob cannot be decrypted: it is malformed, altered, or not a post-quantum ciphertext."


def new_kem_seed() -> bytes:
    return mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()


def new_dsa_seed() -> bytes:
    return mldsa.MLDSA65PrivateKey.generate().private_bytes_raw()


def kem_public_key(seed: bytes) -> tuple[bytes, str]:
    return _public_key(mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key())


def dsa_public_key(seed: bytes) -> tuple[bytes, str]:
    return _public_key(mldsa.MLDSA65PrivateKey.from_seed_bytes(seed).public_key())


def _public_key(public: mlkem.MLKEM768PublicKey | mldsa.MLDSA65PublicKey) -> tuple[bytes, str]:
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der, pem.decode()


def encrypt(seed: bytes, header: CiphertextHeader, plaintext: bytes) -> bytes:
    shared, kem_ciphertext = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).public_key().encapsulate()
    nonce = unique_bytes(NONCE_BYTES)
    head = _HEADER.pack(PQ_FORMAT, uuid_bytes(header.key_id), header.key_version) + kem_ciphertext + nonce
    return head + seal(derive_key(shared, LABEL), nonce, plaintext, head)


def parse_header(blob: bytes) -> CiphertextHeader:
    if len(blob) < _HEADER.size + KEM_CIPHERTEXT_BYTES + NONCE_BYTES + 16 or blob[0] != PQ_FORMAT:
        raise InvalidCiphertext(OPAQUE_MESSAGE)
    _, key_id, version = _HEADER.unpack_from(blob)
    return CiphertextHeader(key_id_text(key_id), version)


def decrypt(seed: bytes, blob: bytes) -> bytes:
    kem_end = _HEADER.size + KEM_CIPHERTEXT_BYTES
    head = blob[: kem_end + NONCE_BYTES]
    try:
        shared = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed).decapsulate(blob[_HEADER.size : kem_end])
        return open_sealed(derive_key(shared, LABEL), blob[kem_end : kem_end + NONCE_BYTES], blob[len(head) :], head)
    except (AuthenticationFailed, ValueError):
        raise InvalidCiphertext(OPAQUE_MESSAGE) from None


def sign(seed: bytes, message: bytes) -> bytes:
    return mldsa.MLDSA65PrivateKey.from_seed_bytes(seed).sign(message)


def verify(seed: bytes, message: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        mldsa.MLDSA65PrivateKey.from_seed_bytes(seed).public_key().verify(signature, message)
    except InvalidSignature:
        return False
    return True
