"""Master-key rotation while clients encrypt and decrypt: nothing stops working, nothing is left behind."""

import base64
import os
import threading
from pathlib import Path

from openkms.config.values import Config
from openkms.server.runtime import build_runtime
from openkms.trust.bindings import WRAPPED_COLUMNS
from openkms.trust.keyfile import wrapped_by
from tests.sdk import call
from tests.serverproc import Server, run_cli


def test_rotate_while_serving(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Server(data).start()
    client = server.client()
    keys = [call(client, "CreateKey", Alias=f"k{i}")["KeyId"] for i in range(20)]
    call(client, "RotateKey", KeyId=keys[0])
    blobs = []
    for key_id in keys:
        plaintext = os.urandom(32)
        blobs.append(
            (
                call(client, "Encrypt", KeyId=key_id, Plaintext=base64.b64encode(plaintext).decode())["CiphertextBlob"],
                plaintext,
            )
        )
    old_master = (data / "master.key").read_bytes()

    failures: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        worker = server.client()
        while not stop.is_set():
            try:
                for key_id in keys[:5]:
                    blob = call(worker, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]
                    assert call(worker, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="
                call(worker, "CreateKey", Alias=f"during-{os.urandom(4).hex()}")
            except Exception as exc:
                failures.append(repr(exc))

    thread = threading.Thread(target=traffic)
    thread.start()
    try:
        result = run_cli("master-key", "rotate", "--data-dir", str(data))
    finally:
        stop.set()
        thread.join()
    assert result.returncode == 0, result.stderr
    assert failures == []
    assert (data / "master.key").read_bytes() != old_master
    retired = list(data.glob("master-retired-*.key"))
    assert len(retired) == 1 and retired[0].read_bytes() == old_master

    fresh = Server(data)  # a process that starts after the rotation opens everything
    fresh.log_path = tmp_path / "fresh.log"
    fresh.start()
    try:
        for blob, plaintext in blobs:
            assert base64.b64decode(call(fresh.client(), "Decrypt", CiphertextBlob=blob)["Plaintext"]) == plaintext
    finally:
        fresh.stop()
    server.stop()
    assert run_cli("audit", "verify", "--data-dir", str(data)).returncode == 0

    runtime = build_runtime(Config(data_dir=data))
    try:
        new_id = runtime.trust.key_id
        created_before = set(keys)
        for wrapped in WRAPPED_COLUMNS:
            for key, _, value in runtime.store.wrapped_values(wrapped):
                if key.get("key_id") in created_before or wrapped.table == "credentials":
                    assert wrapped_by(value) == new_id, (wrapped.table, key)
    finally:
        runtime.close()
