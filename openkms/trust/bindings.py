"""What each secret the root of trust wraps is bound to (authenticated, never stored): a wrapped blob
unwraps only for the thing it was made for. One place, so backup, restore and master-key rotation
rewrap exactly what the services wrapped.

Key material and credential SecretKeys are bound to the account (and a key's region) that owns them:
a row moved to another account in the database no longer unwraps.
"""

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from openkms.domain.ids import uuid_bytes

_VERSION = struct.Struct(">I")
_LENGTH = struct.Struct(">H")
AUDIT_CHAIN_KEY = b"audit-chain-key\x00"
BACKUP_KEY = b"backup-key\x00"
POLICY_SEAL_KEY = "policy-seal-key"


def _owner(*parts: str) -> bytes:
    return b"".join(_LENGTH.pack(len(part.encode())) + part.encode() for part in parts)


def key_material(key_id: str, version: int, account: str, region: str) -> bytes:
    return b"key\x01" + uuid_bytes(key_id) + _VERSION.pack(version) + _owner(account, region)


def whitebox_key(key_id: str, account: str, region: str) -> bytes:
    return b"whitebox-key\x01" + uuid_bytes(key_id) + _owner(account, region)


def credential_secret(secret_id: str, account: str) -> bytes:
    return b"credential\x01" + _owner(secret_id, account)


def legacy_key_material(key_id: str, version: int) -> bytes:
    """Before schema version 3: bound to the key id and version only (read once, by the upgrade)."""
    return b"key\x00" + uuid_bytes(key_id) + _VERSION.pack(version)


def legacy_credential_secret(secret_id: str) -> bytes:
    """Before schema version 3: bound to the SecretId only (read once, by the upgrade)."""
    return b"credential\x00" + secret_id.encode()


def imported_material_digest(key_id: str) -> bytes:
    return b"imported-material-digest\x00" + key_id.encode()


def import_token(token: str) -> bytes:
    return b"import-token\x00" + token.encode()


def store_secret(name: str) -> bytes:
    return b"store-secret\x00" + name.encode()


@dataclass(frozen=True)
class WrappedColumn:
    table: str
    column: str
    binding: Callable[[Mapping[str, Any]], bytes]
    """What a row's secret is bound to, from the row (and its owner's columns, below)."""
    owner: tuple[str, str, tuple[str, ...]] | None = None
    """(owner table, the column both share, the owner's columns the binding reads), if any."""


WRAPPED_COLUMNS: tuple[WrappedColumn, ...] = (
    WrappedColumn(
        "key_versions",
        "bound_material",
        lambda row: key_material(row["key_id"], row["version"], row["account"], row["region"]),
        owner=("keys", "key_id", ("account", "region")),
    ),
    WrappedColumn("keys", "wrapped_material_digest", lambda row: imported_material_digest(row["key_id"])),
    WrappedColumn("whitebox_keys", "bound_key", lambda row: whitebox_key(row["key_id"], row["account"], row["region"])),
    WrappedColumn("credentials", "bound_secret", lambda row: credential_secret(row["secret_id"], row["account"])),
    WrappedColumn("store_secrets", "wrapped_value", lambda row: store_secret(row["name"])),
)
"""Every stored column that holds a wrapped secret, with what each row's secret is bound to: what a
backup unwraps, a restore wraps again, and a master-key rotation rewraps. (Import tokens, short-lived,
are not carried over; the audit log's chain key lives with the audit log.)"""
