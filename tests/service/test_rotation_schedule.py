"""Automatic rotation runs on schedule, once per due key, and survives a restart (injected clock)."""

import contextlib
import threading
from pathlib import Path

import pytest

from openkms.config.values import Config
from openkms.crypto.ciphertext import parse_header
from openkms.domain.clock import FixedClock
from openkms.domain.errors import RotateRateLimited, RotateTaskRunning
from openkms.domain.limits import SECONDS_PER_DAY
from openkms.domain.models import Caller, Rotation
from openkms.server.runtime import Runtime, build_runtime
from tests import postgres

CALLER = Caller("100000000001", "ap-guangzhou")


def test_keys_rotate_when_due_and_only_then(runtime: Runtime, clock: FixedClock) -> None:
    key = runtime.keys.create(CALLER, "scheduled")
    before = runtime.crypto.encrypt(CALLER, key.key_id, b"v1").blob
    runtime.rotation.enable(CALLER, key.key_id, 7)

    clock.advance(7 * SECONDS_PER_DAY - 1)
    assert runtime.rotation.rotate_due() == 0
    clock.advance(1)
    assert runtime.rotation.rotate_due() == 1
    assert runtime.rotation.rotate_due() == 0, "a due key rotates once"

    rotated = runtime.keys.describe(CALLER, key.key_id)
    assert rotated.current_version == 2
    assert rotated.last_rotate_time == int(clock.now())
    assert rotated.next_rotate_time == int(clock.now()) + 7 * SECONDS_PER_DAY
    after = runtime.crypto.encrypt(CALLER, key.key_id, b"v2").blob
    assert parse_header(after).key_version == 2
    assert runtime.crypto.decrypt(CALLER, before).plaintext == b"v1"

    for _ in range(5):
        clock.advance(7 * SECONDS_PER_DAY)
        assert runtime.rotation.rotate_due() == 1
    assert runtime.keys.describe(CALLER, key.key_id).current_version == 7
    rotations = runtime.rotation.rotations(CALLER, key.key_id)
    assert [(r.version, r.rotation) for r in rotations] == [(v, Rotation.AUTOMATIC) for v in range(2, 8)]
    assert runtime.crypto.decrypt(CALLER, before).plaintext == b"v1"
    assert runtime.crypto.decrypt(CALLER, after).plaintext == b"v2"


def test_disabled_keys_wait_and_disabled_rotation_stops(runtime: Runtime, clock: FixedClock) -> None:
    paused = runtime.keys.create(CALLER, "paused")
    stopped = runtime.keys.create(CALLER, "stopped")
    for key in (paused, stopped):
        runtime.rotation.enable(CALLER, key.key_id, 7)
    runtime.keys.disable(CALLER, [paused.key_id])
    runtime.rotation.disable(CALLER, stopped.key_id)
    clock.advance(8 * SECONDS_PER_DAY)
    assert runtime.rotation.rotate_due() == 0
    runtime.keys.enable(CALLER, [paused.key_id])
    assert runtime.rotation.rotate_due() == 1
    assert runtime.keys.describe(CALLER, paused.key_id).current_version == 2
    assert runtime.keys.describe(CALLER, stopped.key_id).current_version == 1


def test_the_schedule_survives_a_restart(tmp_path: Path, clock: FixedClock) -> None:
    config = Config(data_dir=tmp_path / "data")
    first = build_runtime(config, clock)
    key = first.keys.create(CALLER, "persistent")
    blob = first.crypto.encrypt(CALLER, key.key_id, b"kept").blob
    first.rotation.enable(CALLER, key.key_id, 30)
    first.close()

    clock.advance(31 * SECONDS_PER_DAY)
    second = build_runtime(config, clock)
    try:
        assert second.maintenance.run_once() == {"keys rotated on schedule": 1}
        assert second.keys.describe(CALLER, key.key_id).current_version == 2
        assert second.crypto.decrypt(CALLER, blob).plaintext == b"kept"
    finally:
        second.close()


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_two_processes_sweeping_rotate_each_key_once(tmp_path: Path, clock: FixedClock, store: str) -> None:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres.fresh_schema()) if store == "postgresql" else ""
        _sweep_concurrently(Config(data_dir=tmp_path / "data", store=url), clock)


def _sweep_concurrently(config: Config, clock: FixedClock) -> None:
    runtimes = [build_runtime(config, clock) for _ in range(2)]
    try:
        keys = [runtimes[0].keys.create(CALLER, f"k{i}") for i in range(20)]
        for key in keys:
            runtimes[0].rotation.enable(CALLER, key.key_id, 7)
        clock.advance(7 * SECONDS_PER_DAY)
        counts: list[int] = []
        barrier = threading.Barrier(2)

        def sweep(runtime: Runtime) -> None:
            barrier.wait()
            counts.append(runtime.rotation.rotate_due())

        threads = [threading.Thread(target=sweep, args=(r,)) for r in runtimes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(counts) == 20
        assert {runtimes[1].keys.describe(CALLER, k.key_id).current_version for k in keys} == {2}
    finally:
        for runtime in runtimes:
            runtime.close()


def test_concurrent_manual_rotations_of_one_key(runtime: Runtime) -> None:
    outcomes: list[str] = []
    for round_number in range(10):
        key = runtime.keys.create(CALLER, f"manual-{round_number}")
        barrier = threading.Barrier(6)

        def rotate(key_id: str = key.key_id, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                runtime.rotation.rotate_now(CALLER, key_id)
                outcomes.append("rotated")
            except RotateTaskRunning:
                outcomes.append("running")
            except RotateRateLimited:
                outcomes.append("limited")

        threads = [threading.Thread(target=rotate) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert runtime.keys.describe(CALLER, key.key_id).current_version == 2
    assert outcomes.count("rotated") == 10
    assert "running" in outcomes, "overlapping RotateKey calls answer FailedOperation.RotateTaskRunning"
