"""SQLite as the embedded default store: WAL with full sync, one file in the data folder.

Write transactions start with BEGIN IMMEDIATE so two writers queue on the lock instead of failing on
upgrade; a commit signal (below) tells cheaply whether another connection (another process, or another
thread's connection) committed since we last looked.
"""

import fcntl
import mmap
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event

from openkms.store.changes import ChangeLog
from openkms.store.schema import Rebind
from openkms.store.sql import SqlStore
from openkms.store.sql_base import quick_check

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    # Deleted key material is overwritten on disk, not just unlinked from the b-tree.
    "PRAGMA secure_delete=ON",
    # Reads through a memory map of the database file instead of a read() per page: a key-cache miss
    # descends two b-trees, and on a virtual machine each system call costs more than the lookup.
    f"PRAGMA mmap_size={1 << 30}",
)


def begin_without_waiting(cursor: Any) -> bool:
    """BEGIN IMMEDIATE on a connection whose busy timeout is 0: False, at once, if another connection
    holds the write lock (for writers on an event loop's thread, which must not wait inside SQLite)."""
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return False
        raise
    return True


def _refuse_read_only(path: Path) -> None:
    """Fail a new connection loudly where its files cannot be written. SQLite would open them read-only
    without a word, and its shared memory index with them, which stays read-only for every connection
    of the process while any is open: writes would keep failing after permissions are fixed.

    Asks access(2), never open(2): SQLite's locks are POSIX record locks, and closing any descriptor of
    a file drops every lock the process holds on it, those of the other connections included; another
    process could then write at the same time as one of them, and one of the two writes would be lost."""
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm"):
        file = path.with_name(name)
        if os.path.lexists(file) and not os.access(file, os.W_OK):
            raise sqlite3.OperationalError(f"attempt to write a readonly database: {file}: Permission denied")


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
        _refuse_read_only(path)
        dbapi_connection.isolation_level = None  # transactions are begun explicitly below
        dbapi_connection.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")
        for pragma in PRAGMAS:
            dbapi_connection.execute(pragma)

    @event.listens_for(engine, "handle_error")
    def _discard_read_only(context: Any) -> None:
        # A connection opened while the file could not be written is read-only for good (SQLite falls
        # back silently): drop it, and the pool, so that writes work again once permissions do.
        if "readonly database" in str(context.original_exception):
            context.is_disconnect = True
            context.invalidate_pool_on_disconnect = True

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("openkms_write") else "BEGIN")

    return engine


class StoreDamaged(Exception):
    """A SQLite file fails its own check: what it would answer cannot be trusted."""


def check_sound(engine: Engine, path: Path) -> None:
    """StoreDamaged, naming the file and what to do, unless quick_check finds it sound: a flipped byte
    can otherwise be served as a wrong alias, or as a key that does not exist."""
    if not path.exists():
        return
    found = quick_check(engine)
    if found != ["ok"]:
        raise StoreDamaged(
            f"{path} is damaged ({'; '.join(found[:3])}): stop every server using it and restore it from a "
            "backup (openkms restore); the master key is not affected"
        )


def open_sqlite_store(path: Path, clock: Callable[[], float], rebind: Rebind | None = None) -> SqlStore:
    engine = sqlite_engine(path)
    check_sound(engine, path)

    def change_log() -> ChangeLog:
        signal = CommitSignal(path)
        return ChangeLog(signal.changed, engine.connect, signal.announce, signal.close)

    return SqlStore(engine, change_log, clock, WriterLock(path), rebind)


class WriterLock:
    """SQLite has one writer at a time. Writers queue here, in arrival order and woken the moment the
    lock is free: threads of this process on a mutex, processes on an flock of `<database>-writer`.
    Left to SQLite, they would meet in its busy handler, which sleeps in growing steps (up to 100 ms)
    and makes for long tails when two server processes write at once."""

    def __init__(self, path: Path) -> None:
        self._threads = threading.Lock()
        self._file = os.open(path.with_name(path.name + "-writer"), os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        fcntl.flock(self._file, fcntl.LOCK_UN)
        self._threads.release()

    def close(self) -> None:
        os.close(self._file)


class CommitSignal:
    """Whether any connection committed to the database since the previous look, without a system call
    on the request path (reading `PRAGMA data_version` takes SQLite's shared-memory locks: about a tenth
    of an Encrypt's server time).

    Every OpenKMS writer, once its transaction has committed and before it answers, writes a fresh token
    into a small file that every process maps into memory (`<database>-commits`); a reader compares the
    token with the one it saw last. A writer that died between commit and token never acknowledged its
    write; `PRAGMA data_version` is still read every RECHECK_SECONDS to pick up such commits, and those
    of any program that is not OpenKMS. Not thread-safe on its own: the store calls it under its poll lock.
    """

    TOKEN_BYTES = 8
    RECHECK_SECONDS = 1.0

    def __init__(self, path: Path) -> None:
        descriptor = os.open(path.with_name(path.name + "-commits"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(descriptor).st_size < self.TOKEN_BYTES:
                os.ftruncate(descriptor, self.TOKEN_BYTES)
            self._tokens = mmap.mmap(descriptor, self.TOKEN_BYTES)
        finally:
            os.close(descriptor)
        self._cursor = sqlite3.connect(path, check_same_thread=False, isolation_level=None).cursor()
        self._seen_token = b""
        self._seen_version: int | None = None
        self._recheck_at = 0.0

    def changed(self) -> bool:
        token = self._tokens[: self.TOKEN_BYTES]
        changed = token != self._seen_token
        self._seen_token = token
        now = time.monotonic()
        if now >= self._recheck_at:
            self._recheck_at = now + self.RECHECK_SECONDS
            version: int = self._cursor.execute("PRAGMA data_version").fetchone()[0]
            changed = changed or version != self._seen_version
            self._seen_version = version
        return changed

    def close(self) -> None:
        self._tokens.close()
        self._cursor.connection.close()

    def announce(self) -> None:
        """Called after every committed write: a token no process has seen from this one before."""
        self._tokens[: self.TOKEN_BYTES] = os.urandom(self.TOKEN_BYTES)
