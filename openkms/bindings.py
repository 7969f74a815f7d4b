"""What each secret the root of trust wraps is bound to (authenticated, never stored): a wrapped blob
unwraps only for the thing it was made for. One place, so backup, restore and master-key rotation
rewrap exactly what the services wrapped."""

import struct
import uuid

_VERSION = struct.Struct(">I")
AUDIT_CHAIN_KEY = b"audit-chain-key\x00"
BACKUP_KEY = b"backup-key\x00"


def key_material(key_id: str, version: int) -> bytes:
    return b"key\x00" + uuid.UUID(key_id).bytes + _VERSION.pack(version)


def credential_secret(secret_id: str) -> bytes:
    return b"credential\x00" + secret_id.encode()


def imported_material_digest(key_id: str) -> bytes:
    return b"imported-material-digest\x00" + key_id.encode()


def import_token(token: str) -> bytes:
    return b"import-token\x00" + token.encode()
