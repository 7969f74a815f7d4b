"""SQLite's locks are POSIX record locks, which a process loses on a file the moment it closes *any*
descriptor of that file: nothing in OpenKMS may open and close the database's files beside SQLite while
a connection is open, or another process can write at the same time and one of the writes is lost."""

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from openkms.store.sqlite import sqlite_engine

TRY_TO_WRITE = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    connection.execute("BEGIN IMMEDIATE")
except sqlite3.OperationalError as exc:
    print("refused:", exc)
else:
    print("began")
"""


def other_process_begins_a_write(path: Path) -> str:
    finished = subprocess.run(
        [sys.executable, "-c", TRY_TO_WRITE, str(path)], capture_output=True, text=True, timeout=60, check=True
    )
    return finished.stdout.strip()


def test_a_new_connection_keeps_the_write_lock_another_connection_holds(tmp_path: Path) -> None:
    path = tmp_path / "locks.db"
    engine = sqlite_engine(path)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (n INTEGER)"))
        with engine.connect().execution_options(openkms_write=True) as writer, writer.begin():
            writer.execute(text("INSERT INTO t VALUES (1)"))
            assert other_process_begins_a_write(path) == "refused: database is locked"
            with engine.connect() as newcomer:  # a pool grows while a writer holds the lock
                newcomer.execute(text("SELECT count(*) FROM t"))
            assert other_process_begins_a_write(path) == "refused: database is locked"
    finally:
        engine.dispose()
