"""Nothing acknowledged is lost: keys and ciphertexts survive restarts and kill -9."""

import base64
import concurrent.futures
import os
import signal

from tests.sdk import call
from tests.serverproc import Server


def test_keys_and_ciphertexts_survive_a_restart(fresh_server: Server) -> None:
    client = fresh_server.client()
    key_id = call(client, "CreateKey", Alias="durable", Description="kept")["KeyId"]
    blob = call(client, "Encrypt", KeyId=key_id, Plaintext="cGVyc2lzdA==")["CiphertextBlob"]
    disabled = call(client, "CreateKey", Alias="disabled")["KeyId"]
    call(client, "DisableKey", KeyId=disabled)

    # uvicorn drains, shuts the application down, then re-raises SIGTERM so the exit status tells why.
    assert fresh_server.stop() in (0, -signal.SIGTERM)
    fresh_server.start()

    client = fresh_server.client()
    assert call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "cGVyc2lzdA=="
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["Description"] == "kept"
    assert call(client, "DescribeKey", KeyId=disabled)["KeyMetadata"]["KeyState"] == "Disabled"


def test_everything_acknowledged_survives_kill_9(fresh_server: Server) -> None:
    client = fresh_server.client()

    def create_and_encrypt(i: int) -> tuple[str, str, bytes]:
        worker = fresh_server.client()
        key_id = call(worker, "CreateKey", Alias=f"k9-{i}")["KeyId"]
        plaintext = os.urandom(64)
        blob = call(worker, "Encrypt", KeyId=key_id, Plaintext=base64.b64encode(plaintext).decode())["CiphertextBlob"]
        return key_id, blob, plaintext

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        acknowledged = list(pool.map(create_and_encrypt, range(40)))
    last = call(client, "CreateKey", Alias="last-one")["KeyId"]
    fresh_server.kill()
    fresh_server.start()

    client = fresh_server.client()
    for key_id, blob, plaintext in acknowledged:
        opened = call(client, "Decrypt", CiphertextBlob=blob)
        assert (opened["KeyId"], base64.b64decode(opened["Plaintext"])) == (key_id, plaintext)
    assert call(client, "DescribeKey", KeyId=last)["KeyMetadata"]["Alias"] == "last-one"


def test_concurrent_clients_see_consistent_state(fresh_server: Server) -> None:
    client = fresh_server.client()
    key_id = call(client, "CreateKey", Alias="busy")["KeyId"]

    def round_trip(i: int) -> bool:
        worker = fresh_server.client()
        plaintext = base64.b64encode(f"message {i}".encode()).decode()
        context = f'{{"n":"{i}"}}'
        blob = call(worker, "Encrypt", KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)["CiphertextBlob"]
        return call(worker, "Decrypt", CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == plaintext

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert all(pool.map(round_trip, range(200)))

    def racing_alias(i: int) -> str:
        try:
            call(fresh_server.client(), "CreateKey", Alias="contested")
            return "created"
        except Exception as exc:
            return getattr(exc, "code", type(exc).__name__)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(racing_alias, range(16)))
    assert outcomes.count("created") == 1
    assert set(outcomes) == {"created", "InvalidParameterValue.AliasAlreadyExists"}
    assert call(client, "ListKeyDetail", SearchKeyAlias="contested")["TotalCount"] == 1
