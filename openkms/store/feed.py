"""Fans out the store's changes to the in-process caches that must forget what changed.

PostgreSQL's listener pushes each change in as it arrives; SQLite's changes are pulled by sync(), which
every cache lookup calls first (cheap: a look at a memory-mapped token while nothing changed). Either
way a lookup never serves what another process changed before the lookup began.
"""

import threading
from collections.abc import Callable

from openkms.domain.models import Change, ChangeKind
from openkms.store.base import KeyStore

Forget = Callable[[str | None], None]
"""Called with the id that changed, or None to forget everything."""


class ChangeFeed:
    def __init__(self, store: KeyStore) -> None:
        self._store = store
        self._listeners: dict[ChangeKind, list[Forget]] = {}
        self._lock = threading.Lock()
        store.push_changes_to(self._pushed)

    def subscribe(self, kind: ChangeKind, forget: Forget) -> None:
        self._listeners.setdefault(kind, []).append(forget)

    def sync(self) -> None:
        """Apply every change committed since the last sync. Applied under the lock: a thread that
        syncs while another applies what it polled waits for it, rather than find nothing new and read
        a cache the stale entry is still in."""
        with self._lock:
            for change in self._store.poll_changes():
                self._apply(change)

    def _pushed(self, change: Change) -> None:
        with self._lock:
            self._apply(change)

    def _apply(self, change: Change) -> None:
        if change.kind == ChangeKind.ALL:
            for listeners in self._listeners.values():
                for forget in listeners:
                    forget(None)
        for forget in self._listeners.get(change.kind, ()):
            forget(change.ref)
