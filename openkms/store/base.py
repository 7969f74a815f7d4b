"""The key store contract: metadata and wrapped material, durable when a call returns.

Every implementation (store.sql, on SQLite and on PostgreSQL) passes tests/service/
test_store_contract.py unchanged. Writes are durable on return: nothing is acknowledged to a client
before it is on disk. Writes to existing rows are compare-and-set on a revision number, so two
processes changing the same key cannot lose each other's update.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from openkms.domain.models import (
    Change,
    ChangeKind,
    CloudResource,
    Credential,
    DataKey,
    DataKeyQuery,
    DeviceFingerprint,
    Grant,
    ImportToken,
    Key,
    KeyQuery,
    KeyVersion,
    Rotation,
    Tag,
    WhiteBoxKey,
    WhiteBoxQuery,
)
from openkms.trust.bindings import WrappedColumn

FLUSH_ALL = Change(ChangeKind.ALL, "")
"""Returned by poll_changes when changes may have been missed: drop every cached entry."""


class AliasTaken(Exception):
    """Another key (or data key) of the same account and region already has this name."""


@dataclass(frozen=True)
class KeyWrite:
    """A new state for a stored key, written only if the stored revision is still `expected_revision`."""

    key: Key
    expected_revision: int
    new_version: tuple[int, bytes] | None = None
    """Store (or replace) this version's wrapped material."""
    rotation: Rotation = Rotation.UNRECORDED
    """What made the new version, when a rotation did."""
    drop_material: bool = False
    """Destroy the material of every version first."""


@dataclass(frozen=True)
class DataKeyWrite:
    data_key: DataKey
    expected_revision: int


@dataclass(frozen=True)
class WhiteBoxWrite:
    key: WhiteBoxKey
    expected_revision: int


@dataclass(frozen=True)
class StoredCredential:
    credential: Credential
    bound_secret: bytes
    policy_seal: bytes | None
    policies: tuple[tuple[str, str], ...]
    """(name, document), by name: the set the seal covers."""


class KeyStore(Protocol):
    # Keys
    def insert_key(self, key: Key, wrapped_material: bytes | None) -> None:
        """Store a new key and, if given, its first version's material; AliasTaken if the alias is in use."""

    def get_key(self, key_id: str) -> Key | None: ...

    def load_key(self, key_id: str) -> tuple[Key, dict[int, bytes]] | None:
        """A key (without its tags) and the wrapped material of each version, in one read: what the
        crypto operations need, for the key cache."""

    def load_keys_after(self, after: str, limit: int) -> list[tuple[Key, dict[int, bytes]]]:
        """The next `limit` keys in key id order after `after` ("" for the first), as load_key gives
        them: pages for warming the key cache."""

    def get_wrapped_version(self, key_id: str, version: int) -> bytes | None: ...

    def update_keys(self, writes: Sequence[KeyWrite]) -> bool:
        """All writes or none; False (nothing written) when any revision has moved on. AliasTaken if a
        new alias is in use."""

    def list_keys(self, query: KeyQuery) -> tuple[int, list[Key]]:
        """The total count of matching keys and the requested page of them."""

    def count_keys(self, account: str, region: str, up_to: int | None = None) -> int:
        """The account's keys in the region, not counting those pending deletion (what its quota counts);
        at most `up_to` (reading no further than that many)."""

    def count_keys_by_state(self) -> dict[str, int]:
        """Keys of every account by state, for monitoring."""

    def ping(self) -> None:
        """Raise if the store cannot be read."""

    def due_deletions(self, now: int) -> list[str]:
        """Ids of PendingDelete keys whose deletion date has come."""

    def due_rotations(self, now: int) -> list[str]:
        """Ids of Enabled keys with rotation on whose next rotation time has come."""

    def due_expirations(self, now: int) -> list[str]:
        """Ids of keys holding imported material whose ValidTo has passed."""

    def purge_key(self, key_id: str, now: int) -> bool:
        """Destroy a due PendingDelete key with all its material; False if it is not (or no longer) due."""

    # Import tokens
    def insert_import_token(self, token: ImportToken) -> None: ...

    def claim_import_token(self, token: str) -> ImportToken | None:
        """The token, marked used by this call; None if unknown. A token already used comes back with
        used=True and is not claimed again."""

    def prune_import_tokens(self, now: int) -> None: ...

    # Hosted data keys
    def insert_data_key(self, data_key: DataKey) -> None:
        """AliasTaken if the name is in use."""

    def get_data_key(self, data_key_id: str) -> DataKey | None: ...

    def update_data_keys(self, writes: Sequence[DataKeyWrite]) -> bool: ...

    def list_data_keys(self, query: DataKeyQuery) -> tuple[int, list[DataKey]]: ...

    def count_data_keys(self, account: str, region: str, up_to: int | None = None) -> int:
        """The account's hosted data keys in the region, not counting those pending deletion; at most
        `up_to`."""

    def tag_keys_in_use(self, account: str, region: str) -> set[str]:
        """Tag keys on any of the account's keys, data keys or white-box keys in the region."""

    def key_id_of_alias(self, account: str, region: str, alias: str) -> str | None: ...

    def key_tags(self, key_id: str) -> tuple[Tag, ...]: ...

    def retag_key(self, key_id: str, add: Sequence[Tag], remove: Sequence[str]) -> tuple[Tag, ...]:
        """Add (or overwrite) tags and remove tag keys in one transaction; the key's tags after."""

    def key_versions(self, key_id: str) -> list[KeyVersion]:
        """Every version of the key, oldest first, without material."""

    # Cloud-resource bindings
    def bind_cloud_resource(self, key_id: str, resource: CloudResource, now: int) -> bool:
        """Record that the resource uses the key; False if it already did."""

    def unbind_cloud_resource(self, key_id: str, resource: CloudResource) -> bool:
        """False if the resource was not bound to the key."""

    def cloud_resources_of(self, key_ids: Sequence[str]) -> dict[str, list[CloudResource]]: ...

    # Grants
    def insert_grant(self, grant: Grant, limit: int) -> Grant:
        """Store the grant, or return the key's grant of the same name and terms (CreateGrant is
        idempotent by name); GrantLimitExceeded when the key has `limit` grants."""

    def grants_of_key(self, key_id: str) -> list[Grant]:
        """Oldest first."""

    def get_grant(self, grant_id: str) -> Grant | None: ...

    def delete_grant(self, key_id: str, grant_id: str) -> bool:
        """False if the key has no such grant."""

    def retirable_grants(self, account: str, principals: Sequence[str]) -> list[Grant]:
        """The account's grants any of `principals` may retire, oldest first."""

    # White-box keys
    def insert_whitebox_key(self, key: WhiteBoxKey, bound_key: bytes, sealed_tables: bytes) -> None:
        """AliasTaken if another white-box key of the account and region has the alias."""

    def get_whitebox_key(self, key_id: str) -> WhiteBoxKey | None: ...

    def load_whitebox_secrets(self, key_id: str) -> tuple[bytes, bytes] | None:
        """(bound_key, sealed_tables)."""

    def update_whitebox_keys(self, writes: Sequence[WhiteBoxWrite]) -> bool:
        """All or none, each only if its key's revision is still the expected one."""

    def delete_whitebox_key(self, key_id: str, expected_revision: int) -> bool: ...

    def list_whitebox_keys(self, query: WhiteBoxQuery) -> tuple[int, list[WhiteBoxKey]]: ...

    def count_whitebox_keys(self, account: str, up_to: int | None = None) -> int: ...

    def whitebox_fingerprints(self, key_id: str) -> list[DeviceFingerprint]: ...

    def replace_whitebox_fingerprints(self, key_id: str, fingerprints: Sequence[DeviceFingerprint]) -> bool: ...

    def due_data_key_deletions(self, now: int) -> list[str]: ...

    def purge_data_key(self, data_key_id: str, now: int) -> bool: ...

    # Credentials
    def insert_credential(self, credential: Credential, wrapped_secret: bytes, policy_seal: bytes) -> None: ...

    def get_credential(self, secret_id: str) -> tuple[Credential, bytes] | None: ...

    def load_credential(self, secret_id: str) -> StoredCredential | None:
        """The credential with its policies and their seal, read at one instant."""

    def list_credentials(self) -> list[Credential]: ...

    def delete_credential(self, secret_id: str) -> bool:
        """Delete a credential and its policies."""

    def replace_policies(
        self,
        secret_id: str,
        documents: tuple[tuple[str, str], ...],
        seal: bytes,
        expected: StoredCredential | None,
    ) -> bool:
        """Make (name, document) of `documents` the credential's whole policy set, sealed with `seal`, in
        one transaction; only if its stored set and seal are still those of `expected` (None: whatever
        they are). False if there is no such credential or they changed."""

    # The store's own secrets, and anchors of facts kept elsewhere
    def store_secret(self, name: str, create: Callable[[], bytes]) -> bytes:
        """The wrapped secret of that name, made by `create` (once, whichever process asks first)."""

    def get_anchor(self, name: str) -> bytes | None: ...

    def put_anchor(self, name: str, value: bytes) -> None: ...

    # Change notification between processes
    def poll_changes(self) -> list[Change]:
        """Changes committed (by any process) since the last poll; cheap when there are none."""

    def push_changes_to(self, apply: Callable[[Change], None]) -> None:
        """Have changes handed to `apply` as they arrive where the store can (PostgreSQL's listener);
        elsewhere they wait for poll_changes."""

    def prune_changes(self, older_than: int) -> None: ...

    def snapshot(self) -> dict[str, list[dict[str, object]]]:
        """Every backed-up table's rows, from one consistent read."""

    def is_empty(self) -> bool: ...

    def load_snapshot(self, tables: dict[str, list[dict[str, object]]]) -> None:
        """Insert a snapshot into an empty store, all or nothing."""

    def wrapped_values(self, wrapped: WrappedColumn) -> list[tuple[dict[str, object], dict[str, object], bytes]]:
        """(primary key, what the binding reads, value) of every row holding a wrapped secret."""

    def replace_wrapped(self, table_name: str, column: str, key: dict[str, object], old: bytes, new: bytes) -> bool:
        """Compare-and-set one wrapped secret (for master-key rotation)."""

    def check_integrity(self) -> list[str]:
        """Problems in the stored data; empty when it is sound."""

    def close(self) -> None: ...
