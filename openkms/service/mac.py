"""HMAC keys: a MAC computed or checked inside KMS, the key never leaves."""

from openkms.crypto import mac
from openkms.domain.errors import InvalidKeyUsage, InvalidParameterValue
from openkms.domain.limits import PLAINTEXT_MAX_BYTES
from openkms.domain.models import Caller
from openkms.service.keyring import KeyRing
from openkms.service.states import Operation, next_state
from openkms.service.validation import check_key_id


class MacService:
    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    def _usable(self, caller: Caller, key_id: str, algorithm: str, message: bytes) -> tuple[str, bytes]:
        if not 0 < len(message) <= PLAINTEXT_MAX_BYTES:
            raise InvalidParameterValue(f"Message is 1-{PLAINTEXT_MAX_BYTES} bytes; got {len(message)}.")
        key = self._ring.owned(caller, check_key_id(key_id))
        algorithms = mac.ALGORITHMS_OF.get(key.usage)
        if algorithms is None:
            raise InvalidKeyUsage(f"Key {key.key_id} has KeyUsage {key.usage.value}; only HMAC keys compute MACs.")
        if algorithm not in algorithms:
            raise InvalidKeyUsage(f"Key {key.key_id} computes {' or '.join(algorithms)}, not {algorithm[:40]!r}.")
        next_state(Operation.USE_KEY_PAIR, key.key_id, key.state)
        return key.key_id, self._ring.material(key, key.current_version)

    def generate(self, caller: Caller, key_id: str, algorithm: str, message: bytes) -> tuple[str, bytes]:
        found, secret = self._usable(caller, key_id, algorithm, message)
        return found, mac.mac(secret, algorithm, message)

    def verify(self, caller: Caller, key_id: str, algorithm: str, message: bytes, tag: bytes) -> tuple[str, bool]:
        found, secret = self._usable(caller, key_id, algorithm, message)
        return found, mac.verify(secret, algorithm, message, tag)
