"""The symmetric primitives OpenKMS uses, kept in one place: AES-256-GCM and HMAC-SHA256."""

import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


class AuthenticationFailed(Exception):
    """The AEAD tag did not verify: wrong key, wrong associated data, or altered bytes."""


def random_bytes(count: int) -> bytes:
    return os.urandom(count)


def new_key() -> bytes:
    return os.urandom(KEY_BYTES)


def derive_key(key: bytes, info: bytes) -> bytes:
    """A 256-bit key for one purpose: HMAC-SHA256(key, info), a PRF keyed by a uniformly random key."""
    return hmac.digest(key, info, "sha256")


def seal(key: bytes, nonce: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    return AESGCM(key).encrypt(nonce, plaintext, associated_data)


def open_sealed(key: bytes, nonce: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated_data)
    except InvalidTag as exc:
        raise AuthenticationFailed from exc
