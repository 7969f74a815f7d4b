"""Optimistic writes to keys: read fresh, decide, write if nobody wrote in between, else decide again."""

from collections.abc import Callable, Sequence
from dataclasses import replace

from openkms.domain.models import Caller, Key
from openkms.service.keyring import KeyRing
from openkms.service.states import Operation, next_state
from openkms.service.validation import check_key_id
from openkms.store.base import KeyStore, KeyWrite

ATTEMPTS = 8

Plan = Callable[[Key, Key], KeyWrite | None]
"""(the stored key, the same key moved to its next state) -> the write to make, or None for none."""


class ConcurrentModification(Exception):
    """A key kept changing under us; an internal fault, not the caller's."""


def change_fields(change: Callable[[Key], Key] = lambda key: key) -> Plan:
    """A plan that writes the moved key with `change` applied, if that differs from what is stored."""

    def plan(stored: Key, moved: Key) -> KeyWrite | None:
        updated = change(moved)
        return KeyWrite(updated, stored.revision) if updated != stored else None

    return plan


class KeyUpdater:
    def __init__(self, store: KeyStore, ring: KeyRing) -> None:
        self._store = store
        self._ring = ring

    def apply(self, caller: Caller, key_ids: Sequence[str], operation: Operation, plan: Plan) -> list[Key]:
        """Apply `operation` to every key, all or none; returns the keys as they were before."""
        for key_id in key_ids:
            check_key_id(key_id)
        for _ in range(ATTEMPTS):
            stored = [self._ring.owned(caller, key_id, fresh=True) for key_id in key_ids]
            writes = [
                write
                for key in stored
                if (write := plan(key, replace(key, state=next_state(operation, key.key_id, key.state)))) is not None
            ]
            if not writes:
                return stored
            try:
                written = self._store.update_keys(writes)
            finally:
                for write in writes:
                    self._ring.forget(write.key.key_id)
            if written:
                return stored
        raise ConcurrentModification(f"keys {list(key_ids)} kept changing during {operation.name}")
