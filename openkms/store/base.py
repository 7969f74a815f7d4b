"""The key store contract: metadata and wrapped material, durable when a call returns.

Every implementation (store.sql with SQLite today, PostgreSQL next) passes tests/store/ unchanged.
Writes are durable on return: nothing is acknowledged to a client before it is on disk.
"""

from collections.abc import Sequence
from typing import Protocol

from openkms.models import Change, Credential, Key, KeyQuery, KeyState

FLUSH_ALL = Change("all", "")
"""Returned by poll_changes when changes may have been missed: drop every cached entry."""


class AliasTaken(Exception):
    """Another key of the same account and region already has this alias."""


class KeyStore(Protocol):
    def insert_key(self, key: Key, wrapped_material: bytes) -> None:
        """Store a new key and its version 1; AliasTaken if the alias is in use."""

    def get_key(self, key_id: str) -> Key | None: ...

    def get_wrapped_version(self, key_id: str, version: int) -> bytes | None: ...

    def update_keys(self, updates: Sequence[tuple[Key, KeyState]]) -> bool:
        """Write each key's alias, description, state and deletion date if its stored state is still
        the expected one; all or nothing. False (and nothing written) when any state has moved on.
        AliasTaken if a new alias is in use."""

    def list_keys(self, query: KeyQuery) -> tuple[int, list[Key]]:
        """The total count of matching keys and the requested page of them."""

    def count_keys(self, account: str) -> int: ...

    def due_deletions(self, now: int) -> list[str]:
        """Ids of PendingDelete keys whose deletion date has come."""

    def purge_key(self, key_id: str, now: int) -> bool:
        """Destroy a due PendingDelete key with all its material; False if it is not (or no longer) due."""

    def insert_credential(self, credential: Credential, wrapped_secret: bytes) -> None: ...

    def get_credential(self, secret_id: str) -> tuple[Credential, bytes] | None: ...

    def list_credentials(self) -> list[Credential]: ...

    def delete_credential(self, secret_id: str) -> bool: ...

    def poll_changes(self) -> list[Change]:
        """Changes committed (by any process) since the last poll; cheap when there are none."""

    def prune_changes(self, older_than: int) -> None: ...

    def close(self) -> None: ...
