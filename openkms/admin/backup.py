"""Backups: a consistent, encrypted, integrity-checked copy of the store, taken while the server runs.

The file is an envelope (docs/envelope-format.md) under a random backup key. Inside, one JSON line per
row of every table; key material and credential secrets are carried unwrapped (inside the envelope),
so a restore wraps them again under whatever root of trust the target has: the same master key, a new
one, or an HSM. The backup key itself is in the header, wrapped by the root of trust that made the
backup, so restoring needs that root of trust; or, with `--backup-key FILE` (32 random bytes the
operator keeps offline), the backup opens with that file instead, wherever it is restored.
"""

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson
import pybase64

from openkms.auth.credentials import policy_seal
from openkms.crypto.aead import KEY_BYTES, new_key
from openkms.envelope import format as envelope_format
from openkms.envelope.format import Header
from openkms.store.base import KeyStore
from openkms.store.schema import RENAMED_COLUMNS
from openkms.trust import bindings
from openkms.trust.base import RootOfTrust

BACKUP_KEY_ID = "openkms-backup"
FORMAT = "openkms-backup-1"
_BYTES_MARK = "$b64"


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Summary:
    rows: dict[str, int]


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    return {k: {_BYTES_MARK: pybase64.b64encode_as_string(v)} if isinstance(v, bytes) else v for k, v in row.items()}


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: pybase64.b64decode(v[_BYTES_MARK]) if isinstance(v, dict) and _BYTES_MARK in v else v for k, v in row.items()
    }


def _each_wrapped(tables: dict[str, list[dict[str, Any]]], convert: Callable[[bytes, bytes], bytes]) -> None:
    """Apply `convert` (unwrap, or wrap) to every wrapped secret of a snapshot, with its binding."""
    for wrapped in bindings.WRAPPED_COLUMNS:
        owners: dict[Any, dict[str, Any]] = {}
        if wrapped.owner is not None:
            owner_table, shared, taken = wrapped.owner
            owners = {row[shared]: {n: row[n] for n in taken} for row in tables.get(owner_table, [])}
        for row in tables.get(wrapped.table, []):
            if row[wrapped.column]:
                owner = owners.get(row[wrapped.owner[1]], {}) if wrapped.owner is not None else {}
                row[wrapped.column] = convert(row[wrapped.column], wrapped.binding({**row, **owner}))


def _seal_policies_of_older_backup(tables: dict[str, list[dict[str, Any]]]) -> None:
    """A backup made before policy sets were sealed carries none: seal each set as the backup holds it
    (the backup is authenticated, so this is the set that was backed up)."""
    secrets = tables.setdefault("store_secrets", [])
    if any(row["name"] == bindings.POLICY_SEAL_KEY for row in secrets):
        return
    seal_key = new_key()
    secrets.append({"name": bindings.POLICY_SEAL_KEY, "wrapped_value": seal_key})
    documents: dict[str, list[tuple[str, str]]] = {}
    for row in tables.get("policies", []):
        documents.setdefault(row["secret_id"], []).append((row["name"], row["document"]))
    for row in tables.get("credentials", []):
        policies = tuple(documents.get(row["secret_id"], []))
        row["policy_seal"] = policy_seal(seal_key, row["secret_id"], row["account"], policies)


def read_backup_key(path: Path) -> bytes:
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise BackupError(f"{path} is {len(key)} bytes; a backup key is {KEY_BYTES} random bytes")
    return key


def backup(store: KeyStore, trust: RootOfTrust, target: BinaryIO, backup_key: bytes | None = None) -> Summary:
    tables = store.snapshot()
    # Carried unwrapped inside the encrypted backup, so that any root of trust can take them back.
    _each_wrapped(tables, trust.unwrap)
    key = backup_key or new_key()
    header = Header(
        key_id=BACKUP_KEY_ID,
        blob=b"" if backup_key else trust.wrap(key, bindings.BACKUP_KEY),
        context={"format": FORMAT, "created": str(int(time.time()))},
        chunk_bytes=envelope_format.DEFAULT_CHUNK_BYTES,
        salt=envelope_format.new_salt(),
    )
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as lines:
        for name, rows in tables.items():
            for row in rows:
                lines.write(orjson.dumps({"table": name, "row": _encode(row)}) + b"\n")
        lines.seek(0)
        envelope_format.write(header, key, lines, target)
    return Summary({name: len(rows) for name, rows in tables.items()})


def _rows(header: Header, raw: bytes, key: bytes, source: BinaryIO) -> Iterator[tuple[str, dict[str, Any]]]:
    pending = b""
    for chunk in envelope_format.chunks(header, raw, key, source):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            record = orjson.loads(line)
            yield record["table"], _decode(record["row"])


def restore(store: KeyStore, trust: RootOfTrust, source: BinaryIO, backup_key: bytes | None = None) -> Summary:
    header, raw = envelope_format.read_header(source)
    if header.key_id != BACKUP_KEY_ID or header.context.get("format") != FORMAT:
        raise BackupError("this is not an OpenKMS backup")
    if not header.blob and backup_key is None:
        raise BackupError("this backup was made with --backup-key; give the same file to restore it")
    try:
        key = backup_key if backup_key is not None else trust.unwrap(header.blob, bindings.BACKUP_KEY)
    except Exception as exc:
        raise BackupError(
            "the backup key does not open: restore with the root of trust that made the backup, or --backup-key"
        ) from exc
    if not store.is_empty():
        raise BackupError("the target store is not empty; restore into a new data folder or database")
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, row in _rows(header, raw, key, source):
        for (table, old), new in RENAMED_COLUMNS.items():
            if name == table and old in row:  # a backup made before the column was renamed
                row[new] = row.pop(old)
        tables.setdefault(name, []).append(row)
    _seal_policies_of_older_backup(tables)
    _each_wrapped(tables, trust.wrap)
    store.load_snapshot(tables)
    return Summary({name: len(rows) for name, rows in tables.items()})
