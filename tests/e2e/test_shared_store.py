"""Several server processes on one data folder behave as one service."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdk import call, code_of
from tests.serverproc import Server


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    first = Server(tmp_path / "data").start()
    second = Server(tmp_path / "data")
    second.log_path = tmp_path / "second.log"
    second.start()
    yield first, second
    first.stop()
    second.stop()


def test_a_state_change_on_one_server_holds_at_once_on_the_other(two_servers: tuple[Server, Server]) -> None:
    first, second = (server.client() for server in two_servers)
    key_id = call(first, "CreateKey", Alias="shared")["KeyId"]
    blob = call(second, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]  # now cached on the second

    call(first, "DisableKey", KeyId=key_id)
    assert code_of(second, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "ResourceUnavailable.CmkDisabled"
    assert code_of(second, "Decrypt", CiphertextBlob=blob) == "ResourceUnavailable.CmkDisabled"

    call(second, "EnableKey", KeyId=key_id)
    assert call(first, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="
    call(first, "ArchiveKey", KeyId=key_id)
    assert code_of(second, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "ResourceUnavailable.CmkArchived"


def test_the_workers_option_serves_one_store(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--workers", "2")).start()
    try:
        clients = [server.client() for _ in range(6)]
        key_id = call(clients[0], "CreateKey", Alias="multi")["KeyId"]
        blobs = [call(c, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"] for c in clients]
        call(clients[0], "DisableKey", KeyId=key_id)
        for client in clients:
            assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "ResourceUnavailable.CmkDisabled"
        call(clients[0], "EnableKey", KeyId=key_id)
        for client, blob in zip(clients, blobs, strict=True):
            assert call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="
    finally:
        server.stop()
