"""Audit events and the keyed hash chain that makes editing them detectable.

Each stored event carries MAC = HMAC-SHA256(chain key, previous MAC || seq || canonical JSON). The
chain key is random, kept wrapped by the root of trust, so only someone holding the master key can
recompute the chain: changing, removing or reordering an event breaks every MAC after it.
"""

import hashlib
import hmac
import struct
from dataclasses import dataclass

import orjson

GENESIS = bytes(32)
_SEQ = struct.Struct(">Q")


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

    def canonical(self) -> bytes:
        """Compact JSON with sorted keys: the bytes the chain MAC covers."""
        return orjson.dumps(
            {
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
        )

    @classmethod
    def from_canonical(cls, data: bytes | str) -> "AuditEvent":
        fields = orjson.loads(data)
        fields["key_ids"] = tuple(fields["key_ids"])
        return cls(**fields)


def chain_mac(chain_key: bytes, previous: bytes, seq: int, canonical: bytes) -> bytes:
    return hmac.new(chain_key, previous + _SEQ.pack(seq) + canonical, hashlib.sha256).digest()
