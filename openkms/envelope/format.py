"""The OpenKMS envelope file format, version 1 (docs/envelope-format.md is the specification).

    "OKMSENV1" | u32 header length | header (canonical JSON) | chunk* | final chunk

Each chunk is `u32 length | AES-256-GCM(chunk)`; the last one is marked final in its associated data,
so a file cut at a chunk boundary is detected, and the chunk's index is in its nonce and associated
data, so reordering is detected. The file key is HMAC-SHA256(data key, label || salt): a cached data
key never encrypts two files under one key, and nonces can simply count.
"""

import hashlib
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import orjson

from openkms.crypto.aead import TAG_BYTES, AuthenticationFailed, derive_key, open_sealed, random_bytes, seal

MAGIC = b"OKMSENV1"
VERSION = 1
LABEL = b"OpenKMS envelope v1 file key\x00"
DEFAULT_CHUNK_BYTES = 64 * 1024
MAX_CHUNK_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
_U32 = struct.Struct(">I")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class EnvelopeError(Exception):
    """The file cannot be decrypted; subclasses say why."""


class NotAnEnvelope(EnvelopeError):
    pass


class Truncated(EnvelopeError):
    pass


class Tampered(EnvelopeError):
    pass


@dataclass(frozen=True)
class Header:
    key_id: str
    blob: bytes
    """The data key, encrypted under the CMK `key_id` (a KMS CiphertextBlob)."""
    context: Mapping[str, str]
    chunk_bytes: int
    salt: bytes

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "chunk_bytes": self.chunk_bytes,
                "context": dict(sorted(self.context.items())),
                "data_key": self.blob.hex(),
                "key_id": self.key_id,
                "salt": self.salt.hex(),
                "version": VERSION,
            },
            option=orjson.OPT_SORT_KEYS,
        )

    @classmethod
    def decode(cls, raw: bytes) -> "Header":
        try:
            fields = orjson.loads(raw)
            if fields["version"] != VERSION:
                raise NotAnEnvelope(f"envelope version {fields['version']} is not supported")
            chunk_bytes = int(fields["chunk_bytes"])
            if not 0 < chunk_bytes <= MAX_CHUNK_BYTES:
                raise Tampered("the header's chunk size is out of range")
            context = fields["context"]
            if not isinstance(context, dict) or not all(isinstance(v, str) for v in context.values()):
                raise Tampered("the header's context is not an object of strings")
            return cls(
                fields["key_id"], bytes.fromhex(fields["data_key"]), context, chunk_bytes, bytes.fromhex(fields["salt"])
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise Tampered("the envelope header is malformed") from exc


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _aad(header_digest: bytes, index: int, final: bool) -> bytes:
    return header_digest + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def new_salt() -> bytes:
    return random_bytes(32)


def write(header: Header, data_key: bytes, source: Readable, target: BinaryIO) -> int:
    """Encrypt `source` into `target`; returns the plaintext bytes read. Memory: two chunks."""
    raw_header = header.encode()
    target.write(MAGIC + _U32.pack(len(raw_header)) + raw_header)
    digest = hashlib.sha256(MAGIC + raw_header).digest()
    file_key = derive_key(data_key, LABEL + header.salt)
    index, total = 0, 0
    current = source.read(header.chunk_bytes)
    while True:
        following = source.read(header.chunk_bytes) if current else b""
        final = not following
        sealed = seal(file_key, _nonce(index), current, _aad(digest, index, final))
        target.write(_U32.pack(len(sealed)) + sealed)
        total += len(current)
        if final:
            return total
        current, index = following, index + 1


def read_header(source: Readable) -> tuple[Header, bytes]:
    """The header, and the bytes it was read from (bound into every chunk)."""
    start = source.read(len(MAGIC) + _U32.size)
    if len(start) < len(MAGIC) + _U32.size or start[: len(MAGIC)] != MAGIC:
        raise NotAnEnvelope("this is not an OpenKMS envelope file")
    (length,) = _U32.unpack(start[len(MAGIC) :])
    if length > MAX_HEADER_BYTES:
        raise Tampered("the envelope header is too large")
    raw = source.read(length)
    if len(raw) != length:
        raise Truncated("the file ends inside the envelope header")
    return Header.decode(raw), raw


def chunks(header: Header, raw_header: bytes, data_key: bytes, source: Readable) -> Iterator[bytes]:
    """The authenticated plaintext chunks, in order; Truncated or Tampered at the first bad one."""
    digest = hashlib.sha256(MAGIC + raw_header).digest()
    file_key = derive_key(data_key, LABEL + header.salt)
    index = 0
    while True:
        prefix = source.read(_U32.size)
        if len(prefix) < _U32.size:
            raise Truncated("the file ends before its final chunk")
        (length,) = _U32.unpack(prefix)
        if length > header.chunk_bytes + TAG_BYTES or length < TAG_BYTES:
            raise Tampered(f"chunk {index} has an impossible length")
        sealed = source.read(length)
        if len(sealed) < length:
            raise Truncated(f"the file ends inside chunk {index}")
        for final in (False, True):
            try:
                plaintext = open_sealed(file_key, _nonce(index), sealed, _aad(digest, index, final))
            except AuthenticationFailed:
                continue
            yield plaintext
            if final:
                if source.read(1):
                    raise Tampered("there is data after the final chunk")
                return
            break
        else:
            raise Tampered(f"chunk {index} was altered, moved, or belongs to another file")
        index += 1
