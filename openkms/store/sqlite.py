"""SQLite as the embedded default store: WAL with full sync, one file in the data folder.

Write transactions start with BEGIN IMMEDIATE so two writers queue on the lock instead of failing on
upgrade; `PRAGMA data_version` tells cheaply whether another connection (another process, or another
thread's connection) committed since we last looked.
"""

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from openkms.store.changes import ChangeLog
from openkms.store.sql import SqlStore

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    # Deleted key material is overwritten on disk, not just unlinked from the b-tree.
    "PRAGMA secure_delete=ON",
)


def sqlite_engine(path: Path, busy_timeout_seconds: float = 10.0, synchronous: str = "FULL") -> Engine:
    """An engine on a SQLite file: WAL, BEGIN IMMEDIATE for connections opened with execution option
    `openkms_write`, and `synchronous` FULL (every commit on disk) unless the caller trades that away."""
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": busy_timeout_seconds},
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun explicitly below
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")
        for pragma in PRAGMAS:
            dbapi_connection.execute(pragma)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("openkms_write") else "BEGIN")

    return engine


def open_sqlite_store(path: Path, clock: Callable[[], float]) -> SqlStore:
    engine = sqlite_engine(path)
    return SqlStore(engine, lambda: ChangeLog(_DataVersionWatch(path), engine.connect), clock)


class _DataVersionWatch:
    """True when some other connection committed to the database since the previous call.
    Not thread-safe on its own: the store calls it under its poll lock."""

    def __init__(self, path: Path) -> None:
        self._cursor = sqlite3.connect(path, check_same_thread=False, isolation_level=None).cursor()
        self._last: int | None = None

    def __call__(self) -> bool:
        version: int = self._cursor.execute("PRAGMA data_version").fetchone()[0]
        changed = version != self._last
        self._last = version
        return changed
