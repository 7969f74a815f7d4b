"""What every SQL table family shares: the engine, write transactions, the change log, and filters."""

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, Engine, Select, or_, select

from openkms.store.changes import ChangeSource


class StateMoved(Exception):
    """Raised inside a write transaction to roll it back when a compare-and-set finds a newer revision."""


class SqlBase:
    _changes: "ChangeSource"

    def __init__(self, engine: Engine, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock
        # SQLite has one writer at a time. Threads of this process queue here, in order, instead of
        # in SQLite's busy handler, which sleeps in growing steps and makes for long tails; other
        # processes still meet in the busy handler.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else contextlib.nullcontext()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._write_lock, self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
            yield conn
        if hasattr(self, "_changes"):  # absent only while the schema is being created
            self._changes.committed()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            yield conn

    def _log(self, conn: Connection, kind: str, ref: str) -> None:
        self._changes.record(conn, kind, ref, int(self._clock()))


def like_any(text: str, *columns: Column[Any]) -> Any:
    """A case-sensitive substring match on any of the columns, with LIKE's wildcards taken literally."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(column.like(pattern, escape="\\") for column in columns))


def tagged_with(
    id_column: Column[Any], tag_key: Column[Any], tag_value: Column[Any], key: str, values: tuple[str, ...]
) -> Select[Any]:
    """Ids carrying tag `key`, with one of `values` when any are given."""
    query = select(id_column).where(tag_key == key)
    return query.where(tag_value.in_(values)) if values else query
