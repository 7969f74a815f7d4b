"""Several servers on one PostgreSQL behave as one service."""

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import postgres
from tests.sdk import call, code_of
from tests.serverproc import Server


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    with postgres.fresh_schema() as url:
        # One data folder for the master key both servers share; the keys live in PostgreSQL.
        first = Server(tmp_path / "data", ("--store", url)).start()
        second = Server(tmp_path / "data", ("--store", url))
        second.log_path = tmp_path / "second.log"
        second.start()
        yield first, second
        first.stop()
        second.stop()


def eventually(check: object, seconds: float = 1.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()  # type: ignore[operator]
            return
        except (AssertionError, pytest.fail.Exception):  # "did not raise" is pytest's Failed, not an assertion
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_keys_and_state_changes_are_shared_within_a_second(two_servers: tuple[Server, Server]) -> None:
    first, second = (server.client() for server in two_servers)
    key_id = call(first, "CreateKey", Alias="shared")["KeyId"]
    blob = call(second, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]  # cached on the second
    assert call(first, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="

    call(first, "DisableKey", KeyId=key_id)
    eventually(lambda: _refused(second, key_id, "ResourceUnavailable.CmkDisabled"))
    call(second, "EnableKey", KeyId=key_id)
    call(second, "DisableKey", KeyId=key_id)
    call(second, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    eventually(lambda: _refused(first, key_id, "ResourceUnavailable.CmkStateNotSupport"))


def _refused(client: object, key_id: str, code: str) -> None:
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == code  # type: ignore[arg-type]


def test_aliases_stay_unique_under_concurrent_creates(two_servers: tuple[Server, Server]) -> None:
    def create(i: int) -> str:
        try:
            call(two_servers[i % 2].client(), "CreateKey", Alias="contested")
            return "created"
        except Exception as exc:
            return getattr(exc, "code", type(exc).__name__)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(create, range(16)))
    assert outcomes.count("created") == 1
    assert set(outcomes) == {"created", "InvalidParameterValue.AliasAlreadyExists"}


def test_credentials_and_audit_live_in_postgres(two_servers: tuple[Server, Server]) -> None:
    first, second = two_servers
    call(first.client(), "GenerateRandom", NumberOfBytes=4)
    call(second.client(), "GenerateRandom", NumberOfBytes=4)
    assert not (first.data_dir / "openkms.db").exists(), "no SQLite store beside PostgreSQL"
