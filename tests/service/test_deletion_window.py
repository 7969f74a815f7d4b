"""Scheduled deletion really deletes, once the window has passed (proved with an injected clock)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from openkms.domain.clock import FixedClock
from openkms.domain.errors import KeyNotFound
from openkms.domain.limits import SECONDS_PER_DAY
from openkms.domain.models import Caller
from openkms.server.runtime import Runtime

CALLER = Caller("100000000001", "ap-guangzhou")


def scheduled_key(runtime: Runtime, alias: str = "doomed", days: int = 7) -> tuple[str, bytes]:
    key = runtime.keys.create(CALLER, alias)
    blob = runtime.crypto.encrypt(CALLER, key.key_id, b"secret").blob
    runtime.keys.disable(CALLER, [key.key_id])
    runtime.keys.schedule_deletion(CALLER, key.key_id, days)
    return key.key_id, blob


def test_key_lives_until_its_deletion_date(runtime: Runtime, clock: FixedClock) -> None:
    key_id, _ = scheduled_key(runtime)
    clock.advance(7 * SECONDS_PER_DAY - 1)
    assert runtime.keys.purge_due() == 0
    assert runtime.keys.describe(CALLER, key_id).state.value == "PendingDelete"
    runtime.keys.cancel_deletion(CALLER, key_id)
    clock.advance(30 * SECONDS_PER_DAY)
    assert runtime.keys.purge_due() == 0
    assert runtime.keys.describe(CALLER, key_id).state.value == "Disabled"


def test_the_sweep_destroys_material_and_frees_the_alias(runtime: Runtime, clock: FixedClock) -> None:
    key_id, blob = scheduled_key(runtime)
    clock.advance(7 * SECONDS_PER_DAY)
    assert runtime.keys.purge_due() == 1
    assert runtime.store.get_key(key_id) is None
    assert runtime.store.get_wrapped_version(key_id, 1) is None
    with pytest.raises(KeyNotFound):
        runtime.keys.describe(CALLER, key_id)
    with pytest.raises(KeyNotFound):
        runtime.crypto.decrypt(CALLER, blob)
    assert runtime.keys.create(CALLER, "doomed").alias == "doomed"
    assert runtime.keys.purge_due() == 0


def test_a_due_key_is_gone_even_before_the_sweep_runs(runtime: Runtime, clock: FixedClock) -> None:
    key_id, _ = scheduled_key(runtime, days=30)
    runtime.keys.describe(CALLER, key_id)  # cached while pending
    clock.advance(30 * SECONDS_PER_DAY + 1)
    with pytest.raises(KeyNotFound):
        runtime.keys.describe(CALLER, key_id)
    assert runtime.store.get_wrapped_version(key_id, 1) is None


def test_cached_key_material_has_a_bounded_lifetime(runtime: Runtime, clock: FixedClock) -> None:
    key = runtime.keys.create(CALLER, "cached")
    runtime.crypto.encrypt(CALLER, key.key_id, b"x")
    cache = runtime.ring.cache
    misses = cache.misses
    runtime.crypto.encrypt(CALLER, key.key_id, b"x")
    assert cache.misses == misses, "served from memory"
    clock.advance(3601)
    runtime.crypto.encrypt(CALLER, key.key_id, b"x")
    assert cache.misses == misses + 1, "read and unwrapped again once its hour is up"


def test_a_server_read_of_a_due_key_answers_at_once_and_leaves_the_destruction_to_a_worker(
    runtime: Runtime, clock: FixedClock
) -> None:
    key_id, blob = scheduled_key(runtime, days=7)
    worker = ThreadPoolExecutor(max_workers=1)
    busy = threading.Event()
    worker.submit(busy.wait)  # the worker is busy: nothing it is handed runs yet
    runtime.due.hand_to(worker)
    clock.advance(7 * SECONDS_PER_DAY + 1)
    with pytest.raises(KeyNotFound):
        runtime.keys.describe(CALLER, key_id)
    with pytest.raises(KeyNotFound):
        runtime.crypto.decrypt(CALLER, blob)
    assert runtime.store.get_key(key_id) is not None, "the reads wrote nothing themselves"
    busy.set()
    worker.shutdown(wait=True)
    assert runtime.store.get_key(key_id) is None
    assert runtime.store.get_wrapped_version(key_id, 1) is None
