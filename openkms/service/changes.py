"""Fans out the store's change feed to the in-process caches that must forget what changed."""

import threading
from collections.abc import Callable

from openkms.store.base import FLUSH_ALL, KeyStore

Forget = Callable[[str | None], None]
"""Called with the id that changed, or None to forget everything."""


class ChangeFeed:
    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._listeners: dict[str, list[Forget]] = {}
        self._lock = threading.Lock()

    def subscribe(self, kind: str, forget: Forget) -> None:
        self._listeners.setdefault(kind, []).append(forget)

    def sync(self) -> None:
        """Apply every change committed since the last sync; cheap when there is none."""
        with self._lock:
            changes = self._store.poll_changes()
        for change in changes:
            if change == FLUSH_ALL:
                for listeners in self._listeners.values():
                    for forget in listeners:
                        forget(None)
            for forget in self._listeners.get(change.kind, ()):
                forget(change.ref)
