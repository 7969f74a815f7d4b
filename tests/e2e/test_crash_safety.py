"""SIGKILL at random moments, many times: whatever the server acknowledged is still there."""

import base64
import contextlib
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from openkms.config.values import Config
from openkms.server.runtime import build_runtime
from tests import postgres
from tests.sdk import call
from tests.serverproc import Server

ROUNDS = 6


@dataclass
class Acknowledged:
    """What the server said it did; `uncertain` keys had a call in flight when it died."""

    keys: set[str] = field(default_factory=set)
    ciphertexts: list[tuple[str, bytes]] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    uncertain: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def work(server: Server, record: Acknowledged, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    client = server.client()
    own: list[str] = []
    while not stop.is_set():
        try:
            choice = rng.random()
            if choice < 0.3 or not own:
                key_id = call(client, "CreateKey", Alias=f"crash-{seed}-{rng.getrandbits(48):x}")["KeyId"]
                with record.lock:
                    record.keys.add(key_id)
                    record.states[key_id] = "Enabled"
                own.append(key_id)
            elif choice < 0.7:
                key_id = rng.choice(own)
                if record.states.get(key_id) != "Enabled":
                    continue
                plaintext = os.urandom(rng.randint(1, 256))
                blob = call(client, "Encrypt", KeyId=key_id, Plaintext=base64.b64encode(plaintext).decode())[
                    "CiphertextBlob"
                ]
                with record.lock:
                    record.ciphertexts.append((blob, plaintext))
            else:
                key_id = rng.choice(own)
                action, state = (
                    ("DisableKey", "Disabled") if record.states[key_id] == "Enabled" else ("EnableKey", "Enabled")
                )
                with record.lock:
                    record.uncertain.add(key_id)
                call(client, action, KeyId=key_id)
                with record.lock:
                    record.states[key_id] = state
                    record.uncertain.discard(key_id)
        except Exception:
            return


def crash_rounds(data_dir: Path, extra: tuple[str, ...]) -> Acknowledged:
    record = Acknowledged()
    server = Server(data_dir, extra)
    rng = random.Random(7)
    for round_number in range(ROUNDS):
        server.start()
        stop = threading.Event()
        threads = [threading.Thread(target=work, args=(server, record, stop, round_number * 10 + i)) for i in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.3, 1.2))
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    return record


def verify(data_dir: Path, extra: tuple[str, ...], record: Acknowledged) -> None:
    server = Server(data_dir, extra).start()
    try:
        client = server.client()
        assert record.keys and record.ciphertexts, "the workload really ran"
        for key_id in record.keys:
            state = call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"]
            if key_id not in record.uncertain:
                assert state == record.states[key_id], key_id
            if state != "Enabled":
                call(client, "EnableKey", KeyId=key_id)
        for blob, plaintext in record.ciphertexts:
            assert base64.b64decode(call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"]) == plaintext
    finally:
        server.stop()


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_acknowledged_work_survives_repeated_sigkill(tmp_path: Path, store: str) -> None:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres.fresh_schema()) if store == "postgresql" else ""
        extra = ("--store", url) if url else ()
        record = crash_rounds(tmp_path / "data", extra)
        verify(tmp_path / "data", extra, record)
        runtime = build_runtime(Config(data_dir=tmp_path / "data", store=url))
        try:
            assert runtime.store.check_integrity() == []
        finally:
            runtime.close()
