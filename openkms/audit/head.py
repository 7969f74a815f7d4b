"""Where the audit log's chain ends, said so that it cannot be cut silently.

- The head (in the log, rewritten by every append): the last event's sequence number and MAC. It is
  authenticated under the chain key, so removing events from the end of the log shows: the head no
  longer matches the last event, and the writer refuses to append to it.
- The anchor (in the key store, outside the log, rewritten periodically): the log's identity and a
  recent head. A log deleted, replaced by another, or rolled back to an older copy of itself (head
  and all) shows against it.
- Checkpoints (lines of JSON an operator keeps elsewhere, `openkms audit checkpoint`, and the server's
  hourly `audit-checkpoints.jsonl`): the same, for an attacker who can also write the key store.
"""

import hmac
import struct
from dataclasses import dataclass

import orjson

_SEQ = struct.Struct(">Q")
LOG_ID_BYTES = 16
MAC_BYTES = 32


class AuditIntegrityError(Exception):
    """The audit log is not the one this store recorded, or it was cut or rolled back."""


@dataclass(frozen=True)
class Position:
    """A point of one log's chain: after event `seq` (0: the empty log), whose MAC is `mac`."""

    log_id: bytes
    seq: int
    mac: bytes

    def _tag(self, chain_key: bytes, purpose: bytes) -> bytes:
        message = b"audit-" + purpose + b"\x00" + self.log_id + _SEQ.pack(self.seq) + self.mac
        return hmac.digest(chain_key, message, "sha256")

    def sealed(self, chain_key: bytes, purpose: bytes) -> bytes:
        return self.log_id + _SEQ.pack(self.seq) + self.mac + self._tag(chain_key, purpose)

    @classmethod
    def opened(cls, value: bytes, chain_key: bytes, purpose: bytes) -> "Position":
        """The position a sealed value states; AuditIntegrityError if it was not sealed with this key."""
        if len(value) != LOG_ID_BYTES + _SEQ.size + 2 * MAC_BYTES:
            raise AuditIntegrityError(f"the audit log's {purpose.decode()} is malformed")
        log_id, rest = value[:LOG_ID_BYTES], value[LOG_ID_BYTES:]
        (seq,) = _SEQ.unpack_from(rest)
        mac, tag = rest[_SEQ.size : _SEQ.size + MAC_BYTES], rest[_SEQ.size + MAC_BYTES :]
        position = cls(log_id, seq, mac)
        if not hmac.compare_digest(tag, position._tag(chain_key, purpose)):
            raise AuditIntegrityError(
                f"the audit log's {purpose.decode()} does not authenticate: it was edited, or belongs to another log"
            )
        return position

    def checkpoint(self, chain_key: bytes, time: float) -> bytes:
        """One line of JSON an operator can keep elsewhere and verify the log against later."""
        return orjson.dumps(
            {
                "log": self.log_id.hex(),
                "seq": self.seq,
                "mac": self.mac.hex(),
                "time": time,
                "tag": self._tag(chain_key, b"checkpoint").hex(),
            }
        )

    @classmethod
    def from_checkpoint(cls, line: bytes, chain_key: bytes) -> "Position":
        try:
            fields = orjson.loads(line)
            position = cls(bytes.fromhex(fields["log"]), int(fields["seq"]), bytes.fromhex(fields["mac"]))
            tag = bytes.fromhex(fields["tag"])
        except (ValueError, KeyError, TypeError) as exc:
            raise AuditIntegrityError(f"not an audit checkpoint: {line[:80]!r}") from exc
        if not hmac.compare_digest(tag, position._tag(chain_key, b"checkpoint")):
            raise AuditIntegrityError("the checkpoint does not authenticate under this log's chain key")
        return position


HEAD = b"head"
ANCHOR = b"anchor"
