"""Envelope encryption of bytes and streams with data keys from KMS, through the official SDK.

    from openkms.envelope.client import Envelope
    envelope = Envelope(kms_client, key_id, context={"tenant": "acme"})
    sealed = envelope.encrypt(b"large data")             # or encrypt_stream(source, target)
    assert Envelope.decrypt(kms_client, sealed, context={"tenant": "acme"}) == b"large data"

Each file gets a data key from GenerateDataKey, bound to the EncryptionContext; the plaintext data key
never leaves memory. A DataKeyCache lets several files share one data key within bounds on age, bytes
and messages, so that not every message costs a KMS call (the aws-encryption-sdk's caching model).
"""

import io
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import pybase64
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.kms.v20190118 import models

from openkms.crypto.secret import SecretBytes
from openkms.envelope import format as envelope_format
from openkms.envelope.format import DEFAULT_CHUNK_BYTES, EnvelopeError, Header, Readable


class KmsRefused(EnvelopeError):
    """KMS did not give the data key: wrong key, key disabled, no permission, unreachable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class ContextMismatch(EnvelopeError):
    """The file was sealed with another EncryptionContext than the one the caller expects."""


def _context_text(context: Mapping[str, str]) -> str | None:
    return json.dumps(dict(sorted(context.items())), separators=(",", ":")) if context else None


def _kms(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except TencentCloudSDKException as exc:
        raise KmsRefused(exc.get_code() or "ClientError", exc.get_message() or "") from None


@dataclass
class _CachedKey:
    plaintext: SecretBytes
    blob: bytes
    created: float
    messages: int = 0
    bytes: int = 0


class DataKeyCache:
    """Reuse a data key for several messages: at most `max_age` seconds, `max_messages` messages and
    `max_bytes` plaintext bytes each, per (key, context)."""

    def __init__(self, max_age: float = 300.0, max_messages: int = 1000, max_bytes: int = 2**32) -> None:
        self.max_age, self.max_messages, self.max_bytes = max_age, max_messages, max_bytes
        self._entries: dict[tuple[str, str | None], _CachedKey] = {}
        self._lock = threading.Lock()

    def take(
        self, key_id: str, context: str | None, size: int, fetch: Callable[[], tuple[bytes, bytes]]
    ) -> tuple[bytes, bytes]:
        """A (plaintext, blob) data key for a message of `size` bytes: cached while within bounds."""
        with self._lock:
            entry = self._entries.get((key_id, context))
            if entry is None or not self._fits(entry, size):
                plaintext, blob = fetch()
                entry = self._entries[(key_id, context)] = _CachedKey(SecretBytes(plaintext), blob, time.monotonic())
            entry.messages += 1
            entry.bytes += size
            return entry.plaintext.reveal(), entry.blob

    def _fits(self, entry: _CachedKey, size: int) -> bool:
        return (
            time.monotonic() - entry.created < self.max_age
            and entry.messages < self.max_messages
            and entry.bytes + size <= self.max_bytes
        )


class Envelope:
    def __init__(
        self,
        client: Any,
        key_id: str,
        context: Mapping[str, str] | None = None,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        cache: DataKeyCache | None = None,
    ) -> None:
        self._client = client
        self._key_id = key_id
        self._context = dict(context or {})
        self._chunk_bytes = chunk_bytes
        self._cache = cache

    def _data_key(self, size: int) -> tuple[bytes, bytes, str]:
        context = _context_text(self._context)

        def fetch() -> tuple[bytes, bytes]:
            request = models.GenerateDataKeyRequest()
            request.KeyId, request.KeySpec, request.EncryptionContext = self._key_id, "AES_256", context
            reply = _kms(lambda: self._client.GenerateDataKey(request))
            self._key_id = reply.KeyId
            return pybase64.b64decode(reply.Plaintext), pybase64.b64decode(reply.CiphertextBlob)

        if self._cache is None:
            plaintext, blob = fetch()
        else:
            plaintext, blob = self._cache.take(self._key_id, context, size, fetch)
        return plaintext, blob, self._key_id

    def encrypt_stream(self, source: Readable, target: BinaryIO, size_hint: int = 0) -> int:
        """Seal `source` into `target`; returns the plaintext bytes read."""
        plaintext, blob, key_id = self._data_key(size_hint)
        header = Header(key_id, blob, self._context, self._chunk_bytes, envelope_format.new_salt())
        return envelope_format.write(header, plaintext, source, target)

    def encrypt(self, data: bytes) -> bytes:
        target = io.BytesIO()
        self.encrypt_stream(io.BytesIO(data), target, len(data))
        return target.getvalue()

    @staticmethod
    def decrypt_stream(
        client: Any, source: Readable, target: BinaryIO, context: Mapping[str, str] | None = None
    ) -> int:
        """Open `source` into `target`, checking it was sealed with `context` (when given); returns the
        plaintext bytes written. Raises an EnvelopeError subclass naming what is wrong; chunks written
        before a truncation or tampering is found were each authenticated, but the file is incomplete."""
        header, raw_header = envelope_format.read_header(source)
        if context is not None and dict(context) != dict(header.context):
            raise ContextMismatch(
                f"the file was sealed with context {dict(header.context)}, not the expected {dict(context)}"
            )
        request = models.DecryptRequest()
        request.CiphertextBlob = pybase64.b64encode_as_string(header.blob)
        request.EncryptionContext = _context_text(header.context)
        reply = _kms(lambda: client.Decrypt(request))
        data_key = pybase64.b64decode(reply.Plaintext)
        written = 0
        for chunk in envelope_format.chunks(header, raw_header, data_key, source):
            target.write(chunk)
            written += len(chunk)
        return written

    @staticmethod
    def decrypt(client: Any, data: bytes, context: Mapping[str, str] | None = None) -> bytes:
        target = io.BytesIO()
        Envelope.decrypt_stream(client, io.BytesIO(data), target, context)
        return target.getvalue()
