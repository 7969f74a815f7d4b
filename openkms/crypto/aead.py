"""The symmetric primitives OpenKMS uses, kept in one place: AES-256-GCM and HMAC-SHA256, and for the
national-standard mode SM4-GCM (GB/T 32907, RFC 8998) and HMAC-SM3."""

import hmac
import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
SM4_KEY_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16


class AuthenticationFailed(Exception):
    """The AEAD tag did not verify: wrong key, wrong associated data, or altered bytes."""


def random_bytes(count: int) -> bytes:
    """Secret randomness (keys, data keys): straight from the operating system."""
    return os.urandom(count)


class _UniquePool:
    """Public randomness that must never repeat (salts, nonces, request ids), served from blocks of
    os.urandom: one system call per POOL_BYTES instead of one per request, and that call is a large
    share of a request's cost on virtual machines. Each byte is handed out once (under a lock), and a
    forked child starts with an empty pool so parent and child never share bytes."""

    POOL_BYTES = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._offset = 0

    def take(self, count: int) -> bytes:
        if count > self.POOL_BYTES:
            return os.urandom(count)
        with self._lock:
            end = self._offset + count
            if end > len(self._buffer):
                self._buffer, self._offset, end = os.urandom(self.POOL_BYTES), 0, count
            taken = self._buffer[self._offset : end]
            self._offset = end
            return taken

    def forget(self) -> None:
        self._buffer, self._offset = b"", 0


_unique = _UniquePool()
os.register_at_fork(after_in_child=_unique.forget)


def unique_bytes(count: int) -> bytes:
    """Random bytes that are published (they travel in ciphertext headers or as ids) but must never
    repeat, such as AES-GCM nonces and message-key salts."""
    return _unique.take(count)


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


class SealingKey:
    """AES-256-GCM under one long-lived key (a master key's wrapping key), its cipher object made once:
    the key schedule was a measurable share of unwrapping a key's material on its first use."""

    __slots__ = ("_cipher",)

    def __init__(self, key: bytes) -> None:
        self._cipher = AESGCM(key)

    def seal(self, nonce: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        return self._cipher.encrypt(nonce, plaintext, associated_data)

    def open(self, nonce: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
        try:
            return self._cipher.decrypt(nonce, ciphertext, associated_data)
        except InvalidTag as exc:
            raise AuthenticationFailed from exc


def derive_sm4_key(key: bytes, info: bytes) -> bytes:
    """A 128-bit SM4 key for one purpose: the first half of HMAC-SM3(key, info)."""
    mac = _hmac.HMAC(key, hashes.SM3())
    mac.update(info)
    return mac.finalize()[:SM4_KEY_BYTES]


def sm4_seal(key: bytes, nonce: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """SM4-GCM: ciphertext || 16-byte tag, laid out as AES-GCM's."""
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(associated_data)
    return encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag


def sm4_open(key: bytes, nonce: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    if len(ciphertext) < TAG_BYTES:
        raise AuthenticationFailed
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, ciphertext[-TAG_BYTES:])).decryptor()
    decryptor.authenticate_additional_data(associated_data)
    try:
        return decryptor.update(ciphertext[:-TAG_BYTES]) + decryptor.finalize()
    except InvalidTag as exc:
        raise AuthenticationFailed from exc
