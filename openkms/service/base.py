"""What every service that changes keys needs: the store, the root of trust, the key ring, the clock,
and the keys' lifecycle (service/lifecycle.py) over them."""

from collections.abc import Sequence
from dataclasses import replace

from openkms.domain.clock import Clock
from openkms.domain.errors import DuplicatedKeyId, KeyNotFound
from openkms.domain.models import Caller, Key
from openkms.service.keyring import KeyRing
from openkms.service.lifecycle import Lifecycle, Plan, Records
from openkms.service.states import Operation, next_state
from openkms.service.validation import check_batch, check_key_id
from openkms.store.base import KeyStore, KeyWrite
from openkms.trust.base import RootOfTrust

KeyPlan = Plan[Key, KeyWrite]


def check_key_batch(key_ids: Sequence[str]) -> Sequence[str]:
    return check_batch(key_ids, "KeyIds", check_key_id, DuplicatedKeyId)


class KeyRecords(Records[Key, KeyWrite, Operation]):
    """Customer master keys, read through the key ring, whose cached copies every write drops."""

    not_found = KeyNotFound

    def __init__(self, store: KeyStore, ring: KeyRing) -> None:
        self._store = store
        self._ring = ring

    def check_batch(self, ids: Sequence[str]) -> Sequence[str]:
        return check_key_batch(ids)

    def owned(self, caller: Caller, record_id: str, fresh: bool) -> Key:
        return self._ring.owned(caller, check_key_id(record_id), fresh=fresh)

    def moved(self, record: Key, operation: Operation) -> Key:
        return replace(record, state=next_state(operation, record.key_id, record.state))

    def write_of(self, updated: Key, stored: Key) -> KeyWrite:
        return KeyWrite(updated, stored.revision)

    def write(self, writes: Sequence[KeyWrite]) -> bool:
        try:
            return self._store.update_keys(writes)
        finally:
            for write in writes:
                self._ring.forget(write.key.key_id)


class KeyServiceBase:
    def __init__(self, store: KeyStore, trust: RootOfTrust, ring: KeyRing, clock: Clock) -> None:
        self._store = store
        self._trust = trust
        self._ring = ring
        self._clock = clock
        self._lifecycle = Lifecycle(KeyRecords(store, ring), clock)
