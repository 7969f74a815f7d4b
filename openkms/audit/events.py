"""Audit events and the keyed hash chain that makes editing them detectable.

Each stored event carries MAC = HMAC-SHA256(chain key, previous MAC || seq || canonical JSON). The
chain key is random, kept wrapped by the root of trust, so only someone holding the master key can
recompute the chain: changing, removing or reordering an event breaks every MAC after it.
"""

import hashlib
import hmac
import re
import struct
from dataclasses import dataclass

import orjson

GENESIS = bytes(32)
_SEQ = struct.Struct(">Q")
_IDENTIFIER = re.compile(r"[A-Za-z0-9._:/@\[\]-]{1,128}")
UNREADABLE = "<unreadable>"


def identifier(text: str) -> str:
    """`text` if it has the shape of an identifier (a SecretId, key id, address), else a placeholder:
    what a client claims is recorded only when it cannot be mistaken for something else in the log."""
    return text if not text or _IDENTIFIER.fullmatch(text) else UNREADABLE


@dataclass(frozen=True)
class AuditEvent:
    """One API request: who, from where, what, on which keys, with what result. Never payloads."""

    time: float
    request_id: str
    account: str
    secret_id: str
    source: str
    action: str
    key_ids: tuple[str, ...]
    code: str
    latency_ms: float
    count: int = 1
    """How many such requests the event stands for: repeated failures are recorded as one (audit/repeats)."""

    @classmethod
    def of_request(
        cls,
        time: float,
        request_id: str,
        account: str,
        secret_id: str,
        source: str,
        action: str,
        key_ids: tuple[str, ...],
        code: str,
        latency_ms: float,
    ) -> "AuditEvent":
        """An event whose client-chosen fields (SecretId, key ids, a proxied source address) are kept
        only if they are identifiers."""
        return cls(
            time,
            request_id,
            account,
            identifier(secret_id),
            identifier(source),
            action,
            tuple(identifier(key_id) for key_id in key_ids),
            code,
            latency_ms,
        )

    def canonical(self) -> bytes:
        """Compact JSON with sorted keys: the bytes the chain MAC covers. `count` appears only above 1."""
        fields = {
            "account": self.account,
            "action": self.action,
            "code": self.code,
            "key_ids": list(self.key_ids),
            "latency_ms": round(self.latency_ms, 3),
            "request_id": self.request_id,
            "secret_id": self.secret_id,
            "source": self.source,
            "time": self.time,
        }
        if self.count == 1:
            return orjson.dumps(fields)  # written in sorted order already: no sorting per request
        return orjson.dumps({**fields, "count": self.count}, option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_canonical(cls, data: bytes | str) -> "AuditEvent":
        fields = orjson.loads(data)
        fields["key_ids"] = tuple(fields["key_ids"])
        return cls(**fields)


def chain_mac(chain_key: bytes, previous: bytes, seq: int, canonical: bytes) -> bytes:
    return hmac.new(chain_key, previous + _SEQ.pack(seq) + canonical, hashlib.sha256).digest()
