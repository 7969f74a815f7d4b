"""The lifecycle keys and hosted data keys share (service/lifecycle.py): batches move all or none,
a write that raced another is decided again on what is stored now, and a record that never stops
changing is an internal fault rather than a lost update."""

import uuid
from dataclasses import replace

import pytest

from openkms.domain.errors import DataKeyNotFound, InvalidPendingWindow, KeyStateNotSupported
from openkms.domain.models import Caller, Key, KeyState
from openkms.server.runtime import Runtime
from openkms.service.base import KeyRecords
from openkms.service.lifecycle import ATTEMPTS, ConcurrentModification, Lifecycle
from openkms.service.states import Operation
from openkms.store.base import KeyWrite

CALLER = Caller("100000000001", "ap-guangzhou")


def test_a_batch_moves_every_key_or_none(runtime: Runtime) -> None:
    disabled = runtime.keys.create(CALLER, "disabled")
    runtime.keys.disable(CALLER, [disabled.key_id])
    doomed = runtime.keys.create(CALLER, "doomed")
    runtime.keys.disable(CALLER, [doomed.key_id])
    runtime.keys.schedule_deletion(CALLER, doomed.key_id, 7)
    with pytest.raises(KeyStateNotSupported):
        runtime.keys.enable(CALLER, [disabled.key_id, doomed.key_id])
    assert runtime.keys.describe(CALLER, disabled.key_id).state == KeyState.DISABLED


def test_a_write_that_raced_another_is_decided_again_on_what_is_stored_now(runtime: Runtime) -> None:
    key = runtime.keys.create(CALLER, "raced")
    lifecycle = Lifecycle(KeyRecords(runtime.store, runtime.ring), runtime.clock)
    seen: list[str] = []

    def plan(stored: Key, moved: Key) -> KeyWrite:
        seen.append(stored.description)
        if len(seen) == 1:  # another writer gets in between our read and our write
            runtime.keys.update_description(CALLER, key.key_id, "written meanwhile")
        return KeyWrite(replace(moved, alias="renamed"), stored.revision)

    lifecycle.apply(CALLER, [key.key_id], Operation.UPDATE, plan)
    assert seen == ["", "written meanwhile"]
    now = runtime.keys.describe(CALLER, key.key_id)
    assert (now.alias, now.description) == ("renamed", "written meanwhile")


def test_a_key_that_never_stops_changing_is_an_internal_fault_not_a_lost_update(runtime: Runtime) -> None:
    key = runtime.keys.create(CALLER, "busy")
    lifecycle = Lifecycle(KeyRecords(runtime.store, runtime.ring), runtime.clock)
    attempts = []

    def plan(stored: Key, moved: Key) -> KeyWrite:
        attempts.append(stored.revision)
        runtime.keys.update_description(CALLER, key.key_id, f"change {len(attempts)}")
        return KeyWrite(replace(moved, alias="never"), stored.revision)

    with pytest.raises(ConcurrentModification):
        lifecycle.apply(CALLER, [key.key_id], Operation.UPDATE, plan)
    assert len(attempts) == ATTEMPTS
    assert runtime.keys.describe(CALLER, key.key_id).alias == "busy"


def test_data_keys_keep_the_same_deletion_window_and_batch_rules(runtime: Runtime) -> None:
    key = runtime.keys.create(CALLER, "cmk")
    record, _ = runtime.data_keys.generate(CALLER, key.key_id, "AES_256", None, None, "hosted")
    with pytest.raises(InvalidPendingWindow):
        runtime.data_keys.schedule_deletion(CALLER, record.data_key_id, 6)
    unknown = str(uuid.uuid4())
    assert [d.data_key_id for d in runtime.data_keys.describe_many(CALLER, [unknown, record.data_key_id])] == [
        record.data_key_id
    ]
    with pytest.raises(DataKeyNotFound):
        runtime.data_keys.disable(CALLER, [record.data_key_id, unknown])
    assert runtime.data_keys.describe(CALLER, record.data_key_id).state.value == "Enabled"
