"""An in-process cache that forgets an entry the moment the store says it changed.

A load that raced with an invalidation is returned but not cached, so a stale value never sticks.
Every lookup first syncs the feed, so changes other processes committed before it are applied.
"""

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from openkms.domain.models import ChangeKind
from openkms.store.feed import ChangeFeed

V = TypeVar("V")


class InvalidatingCache(Generic[V]):
    def __init__(
        self,
        feed: ChangeFeed,
        kind: ChangeKind,
        max_entries: int,
        max_age: float = 3600.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """At most `max_entries` entries, each kept at most `max_age` seconds after it was loaded."""
        self._now = now
        self._max_entries = max_entries
        self._max_age = max_age
        self._entries: dict[str, tuple[V, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self._feed = feed
        feed.subscribe(kind, self.forget)

    def __len__(self) -> int:
        return len(self._entries)

    def forget(self, ref: str | None) -> None:
        with self._lock:
            self._generation += 1
            if ref is None:
                self._entries.clear()
            else:
                self._entries.pop(ref, None)

    @property
    def generation(self) -> int:
        """Changes with every forget: a value read before a change must not be offered after it."""
        return self._generation

    @property
    def full(self) -> bool:
        return len(self._entries) >= self._max_entries

    def offer(self, values: dict[str, V], generation: int) -> bool:
        """Cache values read (in bulk, ahead of use) when the cache was at `generation`, leaving alone
        what is cached already; False, caching nothing, if something was forgotten since the read."""
        with self._lock:
            if generation != self._generation:
                return False
            expires = self._now() + self._max_age
            for ref, value in values.items():
                if ref not in self._entries and len(self._entries) < self._max_entries:
                    self._entries[ref] = (value, expires)
            return True

    def sync(self) -> None:
        """Apply what the store changed since the last look (the feed's, shared by every cache)."""
        self._feed.sync()

    def get(self, ref: str, load: Callable[[], V | None]) -> V | None:
        self._feed.sync()
        found = self._entries.get(ref)
        now = self._now()
        if found is not None and found[1] > now:
            self.hits += 1
            return found[0]
        self.misses += 1
        generation = self._generation
        value = load()
        if value is not None:
            with self._lock:
                if generation == self._generation:
                    self._entries.pop(ref, None)  # re-inserted at the end: eviction is oldest-loaded first
                    if len(self._entries) >= self._max_entries:
                        self._entries.pop(next(iter(self._entries)))
                    self._entries[ref] = (value, now + self._max_age)
        return value
