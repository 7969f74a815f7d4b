"""Key metadata and unwrapped material, cached in process for the hot path.

A state change made here is forgotten at once; one made by another process is forgotten on the next
request through the store's change feed.
"""

import logging
import struct
import threading
import time
from dataclasses import dataclass, field, replace

from openkms.crypto.secret import SecretBytes
from openkms.domain.clock import Clock
from openkms.domain.errors import KeyNotFound, StoredRecordInvalid
from openkms.domain.models import Caller, ChangeKind, Key, KeyState
from openkms.service.due import DueWork
from openkms.store.base import KeyStore, KeyWrite
from openkms.store.cache import InvalidatingCache
from openkms.store.feed import ChangeFeed
from openkms.trust.base import RootOfTrust, UnwrapFailed
from openkms.trust.bindings import key_material

_VERSION = struct.Struct(">I")
log = logging.getLogger("openkms.keys")
PRELOAD_ATTEMPTS = 3


def material_expired(key: Key, now: float) -> bool:
    return 0 < key.valid_to <= now and key.state not in (KeyState.PENDING_IMPORT, KeyState.PENDING_DELETE)


@dataclass(slots=True)
class _Entry:
    key: Key
    wrapped: dict[int, bytes]
    materials: dict[int, SecretBytes] = field(default_factory=dict)


class KeyRing:
    def __init__(
        self,
        store: KeyStore,
        trust: RootOfTrust,
        clock: Clock,
        feed: ChangeFeed,
        max_entries: int = 1_000_000,
        max_age: float = 3600.0,
        due: DueWork | None = None,
    ) -> None:
        self._store = store
        self._due = due or DueWork()
        self._trust = trust
        self._clock = clock
        self._cache: InvalidatingCache[_Entry] = InvalidatingCache(
            feed, ChangeKind.KEY, max_entries, max_age, clock.now
        )
        self.warming = False
        """True while a preload runs: the process serves, but readiness says to send traffic elsewhere."""

    def forget(self, key_id: str) -> None:
        self._cache.forget(key_id)

    def preload(self, stopping: threading.Event, page_size: int = 2000) -> int:
        """Read every key into the cache, page by page, until it is full or `stopping` is set; the
        material stays wrapped until a key is first used. Returns how many keys were read. Meant for a
        background thread at start-up: pages are small so requests are not held up behind one."""
        after, read, attempts = "", 0, 0
        while not stopping.is_set() and not self._cache.full:
            self._cache.sync()  # changes committed before the page is read are applied before it is offered
            generation = self._cache.generation
            page = self._store.load_keys_after(after, page_size)
            if not page:
                break
            attempts += 1
            offered = self._cache.offer({key.key_id: _Entry(key, wrapped) for key, wrapped in page}, generation)
            # A key changed while the page was read: read it again, or after a few tries leave its keys
            # to be loaded on first use (under a steady stream of changes a page may never come clean).
            if offered or attempts >= PRELOAD_ATTEMPTS:
                after, attempts = page[-1][0].key_id, 0
                read += len(page) if offered else 0
            time.sleep(0)  # let the serving thread run between pages
        return read

    @property
    def cache(self) -> "InvalidatingCache[_Entry]":
        return self._cache

    def _entry(self, key_id: str) -> _Entry | None:
        def load() -> _Entry | None:
            found = self._store.load_key(key_id)
            return _Entry(*found) if found else None

        return self._cache.get(key_id, load)

    def owned(self, caller: Caller, key_id: str, fresh: bool = False) -> Key:
        """The caller's key in the caller's region; KeyNotFound for anyone else's, or a deleted one.

        `fresh` reads the store, for decisions that write (a cached copy could be a moment old)."""
        key = self._store.get_key(key_id) if fresh else self._key(key_id)
        if key is None or key.account != caller.account or key.region != caller.region:
            raise KeyNotFound(f"Key {key_id} does not exist in region {caller.region}.")
        now = self._clock.now()
        if key.state == KeyState.PENDING_DELETE and key.deletion_date <= now:
            # Due for deletion: it is gone for callers now, whether or not the sweep ran yet.
            self._due.do(key_id, lambda: self._purge(key_id, int(now)))
            raise KeyNotFound(f"Key {key_id} does not exist in region {caller.region}.")
        if material_expired(key, now):
            self._due.do(key_id, lambda: self.expire_material(key))
            return replace(key, state=KeyState.PENDING_IMPORT)
        return key

    def _purge(self, key_id: str, now: int) -> None:
        self._store.purge_key(key_id, now)
        self.forget(key_id)

    def expire_material(self, key: Key) -> bool:
        """Destroy imported material whose ValidTo has passed; the key waits for a re-import. False if
        the key changed since it was read (someone else expired it first, or it was re-imported)."""
        write = KeyWrite(replace(key, state=KeyState.PENDING_IMPORT), key.revision, drop_material=True)
        try:
            return self._store.update_keys([write])
        finally:
            self.forget(key.key_id)

    def _key(self, key_id: str) -> Key | None:
        entry = self._entry(key_id)
        return entry.key if entry else None

    def material(self, key: Key, version: int) -> bytes:
        """The unwrapped material of one version of a key the caller already proved it owns."""
        entry = self._entry(key.key_id)
        cached = entry.materials.get(version) if entry else None
        if cached is not None:
            return cached.reveal()
        wrapped = entry.wrapped.get(version) if entry else self._store.get_wrapped_version(key.key_id, version)
        if wrapped is None:
            raise KeyNotFound(f"Key {key.key_id} has no version {version}.")
        try:
            material = self._trust.unwrap(wrapped, key_material(key.key_id, version, key.account, key.region))
        except UnwrapFailed:
            # Bound to its owner: a key moved to another account or region in the database stops here.
            problem = (
                f"Key {key.key_id}'s material does not open for its stored owner: the key store was changed "
                "outside OpenKMS, is damaged, or was wrapped by another root of trust than this server's. "
                "Check the master key (or HSM) the server uses; else restore the store from a backup."
            )
            log.error("%s", problem)
            raise StoredRecordInvalid(problem) from None
        if entry is not None:
            entry.materials[version] = SecretBytes(material)
        return material
