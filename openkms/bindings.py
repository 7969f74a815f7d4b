"""What each secret the root of trust wraps is bound to (authenticated, never stored): a wrapped blob
unwraps only for the thing it was made for. One place, so backup, restore and master-key rotation
rewrap exactly what the services wrapped."""

import struct
from collections.abc import Callable, Mapping
from typing import Any

from openkms.ids import uuid_bytes

_VERSION = struct.Struct(">I")
AUDIT_CHAIN_KEY = b"audit-chain-key\x00"
BACKUP_KEY = b"backup-key\x00"


def key_material(key_id: str, version: int) -> bytes:
    return b"key\x00" + uuid_bytes(key_id) + _VERSION.pack(version)


def credential_secret(secret_id: str) -> bytes:
    return b"credential\x00" + secret_id.encode()


def imported_material_digest(key_id: str) -> bytes:
    return b"imported-material-digest\x00" + key_id.encode()


def import_token(token: str) -> bytes:
    return b"import-token\x00" + token.encode()


WRAPPED_COLUMNS: tuple[tuple[str, str, Callable[[Mapping[str, Any]], bytes]], ...] = (
    ("key_versions", "wrapped_material", lambda row: key_material(row["key_id"], row["version"])),
    ("keys", "wrapped_material_digest", lambda row: imported_material_digest(row["key_id"])),
    ("credentials", "wrapped_secret", lambda row: credential_secret(row["secret_id"])),
)
"""Every stored column that holds a wrapped secret, with what each row's secret is bound to: what a
backup unwraps, a restore wraps again, and a master-key rotation rewraps. (Import tokens, short-lived,
are not carried over; the audit log's chain key lives with the audit log.)"""
