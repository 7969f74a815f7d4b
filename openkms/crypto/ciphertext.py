"""The CiphertextBlob format, version 1 (docs/ciphertext-format.md is the specification).

    offset  size  field
    0       1     format version, 0x01
    1       16    key id (the UUID's 16 bytes)
    17      4     key version, big-endian
    21      16    salt: the message key is HMAC-SHA256(version key, LABEL || salt)
    37      12    AES-GCM nonce
    49      n+16  AES-256-GCM ciphertext and tag

Associated data is bytes 0..48 followed by the canonical EncryptionContext, so every header byte and
the context are authenticated. A fresh message key per encryption means AES-GCM's random-nonce bound
(about 2^32 messages per key) applies per message key, not per KMS key.

A key of the national-standard mode uses the same layout with SM4-GCM, its message key the first 16
bytes of HMAC-SM3; which cipher a blob uses is a fact of its key, not of the blob.
"""

import functools
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from openkms.crypto.aead import (
    NONCE_BYTES,
    AuthenticationFailed,
    derive_key,
    derive_sm4_key,
    open_sealed,
    seal,
    sm4_open,
    sm4_seal,
    unique_bytes,
)
from openkms.domain.errors import InvalidCiphertext
from openkms.domain.ids import uuid_bytes

FORMAT_V1 = 1
LABEL = b"OpenKMS message key v1\x00"
SALT_BYTES = 16
_HEADER = struct.Struct(">B16sI16s12s")
HEADER_BYTES = _HEADER.size
MIN_BLOB_BYTES = HEADER_BYTES + 16
OPAQUE_MESSAGE = "CiphertextBlob cannot be decrypted: it is malformed, altered, or its EncryptionContext differs."


@dataclass(frozen=True)
class Suite:
    derive: Callable[[bytes, bytes], bytes]
    seal: Callable[[bytes, bytes, bytes, bytes], bytes]
    open: Callable[[bytes, bytes, bytes, bytes], bytes]


SUITES = {
    "AES_256_GCM": Suite(derive_key, seal, open_sealed),
    "SM4_GCM": Suite(derive_sm4_key, sm4_seal, sm4_open),
}
"""A key's symmetric cipher (Key.cipher) -> how its messages are sealed."""


@dataclass(frozen=True)
class CiphertextHeader:
    key_id: str
    key_version: int


@functools.lru_cache(maxsize=4096)
def key_id_text(key_id: bytes) -> str:
    return str(uuid.UUID(bytes=key_id))


def parse_header(blob: bytes) -> CiphertextHeader:
    if len(blob) < MIN_BLOB_BYTES or blob[0] != FORMAT_V1:
        raise InvalidCiphertext(OPAQUE_MESSAGE)
    _, key_id, key_version, _, _ = _HEADER.unpack_from(blob)
    return CiphertextHeader(key_id_text(key_id), key_version)


def encrypt(
    version_key: bytes, header: CiphertextHeader, plaintext: bytes, context: bytes, cipher: str = "AES_256_GCM"
) -> bytes:
    suite = SUITES[cipher]
    fresh = unique_bytes(SALT_BYTES + NONCE_BYTES)
    salt, nonce = fresh[:SALT_BYTES], fresh[SALT_BYTES:]
    head = _HEADER.pack(FORMAT_V1, uuid_bytes(header.key_id), header.key_version, salt, nonce)
    message_key = suite.derive(version_key, LABEL + salt)
    return head + suite.seal(message_key, nonce, plaintext, head + context)


def decrypt(version_key: bytes, blob: bytes, context: bytes, cipher: str = "AES_256_GCM") -> bytes:
    """The plaintext of a blob whose header was already parsed; InvalidCiphertext for any failure."""
    suite = SUITES[cipher]
    head = blob[:HEADER_BYTES]
    _, _, _, salt, nonce = _HEADER.unpack(head)
    message_key = suite.derive(version_key, LABEL + salt)
    try:
        return suite.open(message_key, nonce, blob[HEADER_BYTES:], head + context)
    except AuthenticationFailed:
        raise InvalidCiphertext(OPAQUE_MESSAGE) from None
