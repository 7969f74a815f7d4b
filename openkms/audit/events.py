"""Audit events and the keyed hash chain that makes editing them detectable.

Each stored event carries MAC = HMAC-SHA256(chain key, previous MAC || seq || canonical JSON). The
chain key is random, kept wrapped by the root of trust, so only someone holding the master key can
recompute the chain: changing, removing or reordering an event breaks every MAC after it.
"""

import hashlib
import hmac
import json
import struct
from dataclasses import asdict, dataclass

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
        fields = asdict(self)
        fields["key_ids"] = list(self.key_ids)
        fields["latency_ms"] = round(self.latency_ms, 3)
        return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @classmethod
    def from_canonical(cls, data: bytes | str) -> "AuditEvent":
        fields = json.loads(data)
        fields["key_ids"] = tuple(fields["key_ids"])
        return cls(**fields)


def chain_mac(chain_key: bytes, previous: bytes, seq: int, canonical: bytes) -> bytes:
    return hmac.new(chain_key, previous + _SEQ.pack(seq) + canonical, hashlib.sha256).digest()
