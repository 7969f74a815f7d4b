"""Concurrent writers of one process share a commit; one writer's failure undoes only its own work."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from openkms.store.sql_base import GroupCommit
from openkms.store.sqlite import sqlite_engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = sqlite_engine(tmp_path / "group.db")
    with made.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (n INTEGER PRIMARY KEY)")
    yield made
    made.dispose()


def test_concurrent_writers_share_commits_and_a_failure_undoes_only_its_own_unit(engine: Engine) -> None:
    commits = []

    @contextmanager
    def begin() -> Iterator[Connection]:
        with engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
            yield conn
        commits.append(1)

    group = GroupCommit(begin)
    gate = threading.Barrier(8)
    outcomes: dict[int, str] = {}

    def writer(n: int) -> None:
        gate.wait()

        def work(conn: Connection) -> int:
            time.sleep(0.05)  # a leader takes a moment: the writers arriving meanwhile queue behind it
            conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": 3 if n == 5 else n})  # 5 collides with 3
            return n

        try:
            outcomes[n] = f"wrote {group.run(work)}"
        except Exception as exc:
            outcomes[n] = type(exc).__name__

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes[5] == "IntegrityError" or outcomes[3] == "IntegrityError"
    assert sum(outcome.startswith("wrote") for outcome in outcomes.values()) == 7
    with engine.connect() as conn:
        stored = {row[0] for row in conn.exec_driver_sql("SELECT n FROM t")}
    assert stored == {0, 1, 2, 3, 4, 6, 7}
    assert len(commits) < 8, "writers that queued together shared a commit"
