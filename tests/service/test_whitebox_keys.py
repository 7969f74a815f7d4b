"""White-box keys on a real store: the account quota, and backups, restores and master-key rotation
carrying them like all key material."""

import io
import os
import uuid
from pathlib import Path

import pytest

from openkms import whitebox
from openkms.admin import backup
from openkms.admin.master_key import rotate
from openkms.config.values import Config
from openkms.crypto.aead import new_key
from openkms.domain.errors import StoredRecordInvalid, WhiteBoxKeyLimitExceeded
from openkms.domain.limits import WHITEBOX_KEY_LIMIT
from openkms.domain.models import Caller, WhiteBoxAlgorithm, WhiteBoxKey, WhiteBoxState
from openkms.server.runtime import Runtime, build_runtime, open_audit_log
from openkms.trust.keyfile import wrapped_by

CALLER = Caller("100000000001", "ap-guangzhou")
ELSEWHERE = Caller("100000000001", "ap-shanghai")


def test_an_account_holds_at_most_50_white_box_keys_across_its_regions(runtime: Runtime) -> None:
    for n in range(WHITEBOX_KEY_LIMIT):
        # Quota bookkeeping needs rows, not tables: placeholders where real ones take a second each.
        placeholder = WhiteBoxKey(
            str(uuid.uuid4()), CALLER.account, ELSEWHERE.region, f"k{n}", "", WhiteBoxAlgorithm.SM4,
            WhiteBoxState.ENABLED, 0,
        )  # fmt: skip
        runtime.store.insert_whitebox_key(placeholder, b"placeholder", b"placeholder")
    with pytest.raises(WhiteBoxKeyLimitExceeded):
        runtime.whitebox.create(CALLER, "one-too-many", "SM4")
    runtime.whitebox.create(Caller("100000000002", CALLER.region), "another-account", "SM4")


def test_a_restored_backup_keeps_each_white_box_key_and_its_tables(tmp_path: Path) -> None:
    backup_key, iv, plaintext = new_key(), os.urandom(16), b"device telemetry"
    source = build_runtime(Config(data_dir=tmp_path / "source"))
    try:
        created = source.whitebox.create(CALLER, "backed-up", "SM4")
        _, expected = source.whitebox.encrypt(CALLER, created.key.key_id, plaintext, iv)
        copy = io.BytesIO()
        backup.backup(source.store, source.trust, copy, backup_key)
    finally:
        source.close()
    copy.seek(0)
    restored = build_runtime(Config(data_dir=tmp_path / "restored"))  # another master key
    try:
        backup.restore(restored.store, restored.trust, copy, backup_key)
        assert restored.whitebox.encrypt(CALLER, created.key.key_id, plaintext, iv)[1] == expected
        assert restored.whitebox.describe(CALLER, created.key.key_id).tables == created.tables
        assert whitebox.decrypt(created.tables.decrypt_key, iv, expected) == plaintext
    finally:
        restored.close()


def test_master_key_rotation_rewraps_white_box_keys(runtime: Runtime) -> None:
    created = runtime.whitebox.create(CALLER, "rotated", "SM4")
    iv = os.urandom(16)
    before = runtime.whitebox.encrypt(CALLER, created.key.key_id, b"same", iv)
    audit = open_audit_log(runtime)
    try:
        _, new_id, _ = rotate(runtime.config.data_dir, runtime.store, runtime.trust, audit, lambda done, total: None)
    finally:
        audit.close()
    stored = runtime.store.load_whitebox_secrets(created.key.key_id)
    assert stored is not None and wrapped_by(stored[0]) == new_id
    assert runtime.whitebox.encrypt(CALLER, created.key.key_id, b"same", iv) == before


def test_a_white_box_key_moved_to_another_account_in_the_database_does_not_open(runtime: Runtime) -> None:
    created = runtime.whitebox.create(CALLER, "moved", "SM4")
    with runtime.store._engine.begin() as conn:
        conn.exec_driver_sql("UPDATE whitebox_keys SET account = '100000000009'")
    with pytest.raises(StoredRecordInvalid):
        runtime.whitebox.describe(Caller("100000000009", CALLER.region), created.key.key_id)
