"""A store written before schema version 3 (secrets bound to ids only, policies unsealed) upgrades in
place at the first start: every key still decrypts, every credential keeps its exact policies."""

import json
import sqlite3
from pathlib import Path

import pytest

from openkms.app import build_runtime
from openkms.bindings import credential_secret, key_material, legacy_credential_secret, legacy_key_material
from openkms.config import Config
from openkms.models import Caller

CALLER = Caller("100000000001", "ap-guangzhou")
POLICY = {"version": "2.0", "statement": [{"effect": "allow", "action": "kms:Encrypt", "resource": "*"}]}


def as_written_before_version_3(data: Path) -> None:
    """Wrap every secret as the older OpenKMS bound it, and take away what version 3 added."""
    runtime = build_runtime(Config(data_dir=data))
    trust = runtime.trust
    try:
        with sqlite3.connect(data / "openkms.db") as db:
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
            db.execute("DELETE FROM schema_migrations WHERE version = 3")
    finally:
        runtime.close()


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


def test_an_edited_migration_history_cannot_ask_for_the_upgrade_again(tmp_path: Path) -> None:
    """Sealing the policies as the database holds them happens once; a database writer cannot make an
    upgraded store seal their edits by pretending it was never upgraded."""
    data = tmp_path / "data"
    build_runtime(Config(data_dir=data)).close()
    with sqlite3.connect(data / "openkms.db") as db:
        db.execute("DELETE FROM schema_migrations WHERE version = 3")
    with pytest.raises(RuntimeError, match="schema history was edited"):
        build_runtime(Config(data_dir=data))
