"""The memory of accepted signatures, on both dialects: first uses win, and the sweep of expired rows
never holds the store for one long transaction."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import event

from openkms.store.postgres import postgres_engine
from openkms.store.signatures import FORGET_BATCH_ROWS, SignatureMemory
from openkms.store.sqlite import sqlite_engine
from tests import postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def memory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SignatureMemory]:
    if request.param == "sqlite":
        found = SignatureMemory(sqlite_engine(tmp_path / "signatures.db", synchronous="OFF"))
        yield found
        found.close()
        return
    with postgres.fresh_schema() as url:
        found = SignatureMemory(postgres_engine(url))
        yield found
        found.close()


def test_the_first_use_of_a_signature_is_what_every_later_use_is_told(memory: SignatureMemory) -> None:
    first = memory.remember(
        [("sig-b", "DescribeKey", "10.0.0.1", 1_000, 100), ("sig-a", "Encrypt", "10.0.0.1", 1_000, 100)]
    )
    assert first["sig-a"] == ("Encrypt", "10.0.0.1", 1_000)
    again = memory.remember([("sig-a", "DisableKey", "10.0.0.2", 2_000, 100)])
    assert again["sig-a"] == ("Encrypt", "10.0.0.1", 1_000)


def test_expired_signatures_are_forgotten_a_batch_per_transaction(memory: SignatureMemory) -> None:
    expired = 2 * FORGET_BATCH_ROWS + 10
    memory.remember([(f"old-{n}", "Encrypt", "10.0.0.1", 0, 50) for n in range(expired)])
    memory.remember([("live", "Encrypt", "10.0.0.1", 0, 500)])
    commits = []
    event.listen(memory._engine, "commit", lambda conn: commits.append(conn))
    memory.forget_expired(now=100)
    assert len(commits) == 3
    assert memory.remember([("old-1", "DisableKey", "10.0.0.9", 9, 500)])["old-1"][0] == "DisableKey", "forgotten"
    assert memory.remember([("live", "DisableKey", "10.0.0.9", 9, 500)])["live"][0] == "Encrypt", "kept"


def test_servers_starting_together_on_one_postgresql_all_get_the_memory() -> None:
    with postgres.fresh_schema() as url:
        engines = [postgres_engine(url) for _ in range(6)]
        with ThreadPoolExecutor(len(engines)) as pool:
            memories = list(pool.map(SignatureMemory, engines))
        for memory in memories:
            memory.close()
