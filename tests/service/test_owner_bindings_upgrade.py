"""A store written before schema version 3 (secrets bound to ids only, policies unsealed) upgrades in
place at the first start: every key still decrypts, every credential keeps its exact policies."""

import io
import json
import sqlite3
from pathlib import Path

import orjson
import pytest

from openkms.admin import backup
from openkms.config.values import Config
from openkms.crypto.aead import new_key
from openkms.domain.models import Caller
from openkms.envelope import format as envelope_format
from openkms.server.runtime import build_runtime
from openkms.store.schema import RENAMED_COLUMNS
from openkms.trust.bindings import credential_secret, key_material, legacy_credential_secret, legacy_key_material

CALLER = Caller("100000000001", "ap-guangzhou")
POLICY = {"version": "2.0", "statement": [{"effect": "allow", "action": "kms:Encrypt", "resource": "*"}]}


def as_written_before_version_3(data: Path) -> None:
    """Wrap every secret as the older OpenKMS bound it, and take away what version 3 added."""
    runtime = build_runtime(Config(data_dir=data))
    trust = runtime.trust
    try:
        with sqlite3.connect(data / "openkms.db") as db:
            as_named_before_version_4(db)
            versions = db.execute(
                "SELECT v.key_id, v.version, v.wrapped_material, k.account, k.region "
                "FROM key_versions v JOIN keys k ON k.key_id = v.key_id"
            ).fetchall()
            for key_id, version, wrapped, account, region in versions:
                material = trust.unwrap(wrapped, key_material(key_id, version, account, region))
                db.execute(
                    "UPDATE key_versions SET wrapped_material = ? WHERE key_id = ? AND version = ?",
                    (trust.wrap(material, legacy_key_material(key_id, version)), key_id, version),
                )
            for secret_id, account, wrapped in db.execute("SELECT secret_id, account, wrapped_secret FROM credentials"):
                secret = trust.unwrap(wrapped, credential_secret(secret_id, account))
                db.execute(
                    "UPDATE credentials SET wrapped_secret = ? WHERE secret_id = ?",
                    (trust.wrap(secret, legacy_credential_secret(secret_id)), secret_id),
                )
            db.execute("ALTER TABLE credentials DROP COLUMN policy_seal")
            db.execute("DROP TABLE store_secrets")
            db.execute("DROP TABLE anchors")
            db.execute("DELETE FROM schema_migrations WHERE version >= 3")
    finally:
        runtime.close()


def as_named_before_version_4(db: sqlite3.Connection) -> None:
    """As the first OpenKMS of schema version 3 left a store: the bound columns under their old names."""
    for (table, old), new in RENAMED_COLUMNS.items():
        db.execute(f"ALTER TABLE {table} RENAME COLUMN {new} TO {old}")
    db.execute("DELETE FROM schema_migrations WHERE version >= 4")


def an_older_server_writes(db: sqlite3.Connection) -> None:
    """The statements of an OpenKMS from before the bound columns were renamed."""
    db.execute("INSERT INTO key_versions (key_id, version, wrapped_material, create_time) VALUES ('old', 1, x'00', 0)")


def test_a_version_2_store_upgrades_and_keeps_every_key_and_policy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runtime = build_runtime(Config(data_dir=data))
    try:
        key = runtime.keys.create(CALLER, "before-upgrade")
        sealed = runtime.crypto.encrypt(CALLER, key.key_id, b"kept")
        credential, secret_key = runtime.credentials.create(CALLER.account)
        runtime.credentials.attach_policy(credential.secret_id, "encrypt-only", json.dumps(POLICY))
    finally:
        runtime.close()
    as_written_before_version_3(data)

    upgraded = build_runtime(Config(data_dir=data))
    try:
        assert upgraded.crypto.decrypt(CALLER, sealed.blob).plaintext == b"kept"
        access = upgraded.credentials.access(credential.secret_id)
        assert access is not None and access.secret_key.reveal() == secret_key.encode()
        assert [p.name for p in access.policies.policies] == ["encrypt-only"]
    finally:
        upgraded.close()


@pytest.mark.parametrize("before", ["version 2", "version 3 with the old column names"])
def test_an_older_server_left_running_fails_instead_of_writing_what_the_upgrade_cannot_read(
    tmp_path: Path, before: str
) -> None:
    """Servers of several versions on one database: material an older one wrapped after the upgrade
    would be bound the old way, and its key lost to the new servers. Its writes must fail instead."""
    data = tmp_path / "data"
    runtime = build_runtime(Config(data_dir=data))
    try:
        sealed = runtime.crypto.encrypt(CALLER, runtime.keys.create(CALLER, "kept").key_id, b"kept")
    finally:
        runtime.close()
    if before == "version 2":
        as_written_before_version_3(data)
    else:
        with sqlite3.connect(data / "openkms.db") as db:
            as_named_before_version_4(db)
    with sqlite3.connect(data / "openkms.db") as db:
        an_older_server_writes(db)  # works until the upgrade
        db.execute("DELETE FROM key_versions WHERE key_id = 'old'")

    upgraded = build_runtime(Config(data_dir=data))
    try:
        assert upgraded.crypto.decrypt(CALLER, sealed.blob).plaintext == b"kept"
    finally:
        upgraded.close()
    with sqlite3.connect(data / "openkms.db") as db, pytest.raises(sqlite3.OperationalError, match="wrapped_material"):
        an_older_server_writes(db)


def test_an_edited_migration_history_cannot_ask_for_the_upgrade_again(tmp_path: Path) -> None:
    """Sealing the policies as the database holds them happens once; a database writer cannot make an
    upgraded store seal their edits by pretending it was never upgraded."""
    data = tmp_path / "data"
    build_runtime(Config(data_dir=data)).close()
    with sqlite3.connect(data / "openkms.db") as db:
        db.execute("DELETE FROM schema_migrations WHERE version >= 3")
    with pytest.raises(RuntimeError, match="schema history was edited"):
        build_runtime(Config(data_dir=data))


def test_a_backup_made_before_version_3_restores_with_every_key_and_policy(tmp_path: Path) -> None:
    backup_key = new_key()
    runtime = build_runtime(Config(data_dir=tmp_path / "old"))
    try:
        sealed = runtime.crypto.encrypt(CALLER, runtime.keys.create(CALLER, "backed-up").key_id, b"kept")
        credential, secret_key = runtime.credentials.create(CALLER.account)
        runtime.credentials.attach_policy(credential.secret_id, "encrypt-only", json.dumps(POLICY))
        current = io.BytesIO()
        backup.backup(runtime.store, runtime.trust, current, backup_key)
    finally:
        runtime.close()
    current.seek(0)
    header, raw = envelope_format.read_header(current)
    older = io.BytesIO()
    lines = io.BytesIO()
    for table, row in backup._rows(header, raw, backup_key, current):
        if table == "store_secrets":
            continue
        row.pop("policy_seal", None)
        for (renamed, old), new in RENAMED_COLUMNS.items():
            if table == renamed:
                row[old] = row.pop(new)
        lines.write(orjson.dumps({"table": table, "row": backup._encode(row)}) + b"\n")
    lines.seek(0)
    envelope_format.write(header, backup_key, lines, older)
    older.seek(0)

    restored = build_runtime(Config(data_dir=tmp_path / "restored"))
    try:
        backup.restore(restored.store, restored.trust, older, backup_key)
        assert restored.crypto.decrypt(CALLER, sealed.blob).plaintext == b"kept"
        access = restored.credentials.access(credential.secret_id)
        assert access is not None and access.secret_key.reveal() == secret_key.encode()
        assert [p.name for p in access.policies.policies] == ["encrypt-only"]
    finally:
        restored.close()
