"""What every SQL table family shares: the engine, write transactions, the change log, and filters."""

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Connection, Engine, Select, or_, select
from sqlalchemy.exc import DatabaseError, InterfaceError, OperationalError

from openkms.domain.errors import StoreUnavailable
from openkms.domain.models import ChangeKind
from openkms.store.changes import ChangeSource

log = logging.getLogger("openkms.store")


class StateMoved(Exception):
    """Raised inside a write transaction to roll it back when a compare-and-set finds a newer revision."""


T = TypeVar("T")
_Compiled = tuple[str, tuple[str, ...] | None, dict[str, Any]]


class _Unit(Generic[T]):
    __slots__ = ("done", "error", "value", "work")
    value: T

    def __init__(self, work: Callable[[Connection], T]) -> None:
        self.work = work
        self.error: BaseException | None = None
        self.done = False

    def result(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value


class GroupCommit:
    """Concurrent writers of one process share a transaction, and so a commit (one fsync with SQLite's
    synchronous=FULL): the first writer to arrive leads, running every unit queued so far in one
    transaction, each in its own savepoint so that one unit's failure (an alias taken, say) rolls back
    only that unit; the others wait, and whoever queued meanwhile is led by the next leader. A unit's
    caller returns only after the transaction holding its unit committed. Blocks: never call it on
    the event loop."""

    def __init__(self, begin: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._begin = begin
        self._ready = threading.Condition()
        self._queue: list[_Unit[Any]] = []
        self._leading = False

    def run(self, work: Callable[[Connection], T]) -> T:
        unit = _Unit(work)
        with self._ready:
            self._queue.append(unit)
            while self._leading and not unit.done:
                self._ready.wait()
            if unit.done:
                return unit.result()
            self._leading = True
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        finally:
            with self._ready:
                for member in batch:
                    member.done = True
                self._leading = False
                self._ready.notify_all()
        return unit.result()

    def _commit(self, batch: list[_Unit[Any]]) -> None:
        try:
            with self._begin() as conn:
                if len(batch) == 1:
                    batch[0].value = batch[0].work(conn)
                    return
                for unit in batch:
                    savepoint = conn.begin_nested()
                    try:
                        unit.value = unit.work(conn)
                    except Exception as exc:
                        savepoint.rollback()
                        unit.error = exc
                    else:
                        savepoint.commit()
        except BaseException as exc:  # the transaction itself failed: nothing in it was written
            for unit in batch:
                unit.error = unit.error or exc
            if not isinstance(exc, Exception):
                raise


class SqlBase:
    _changes: "ChangeSource"

    def __init__(
        self, engine: Engine, clock: Callable[[], float], write_lock: AbstractContextManager[object] | None = None
    ) -> None:
        """`write_lock`, if given, is held around every write transaction (SQLite: see WriterLock)."""
        self._engine = engine
        self._clock = clock
        self._write_lock = write_lock or contextlib.nullcontext()
        self._grouped = GroupCommit(self._write)
        self._statements: dict[Select[Any], _Compiled] = {}
        self._committed: Callable[[], None] = lambda: None
        """Told after each write transaction commits; the change source's, once the schema exists."""

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._write_lock, self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
                yield conn
        except (OperationalError, InterfaceError) as exc:
            raise _unavailable(exc) from exc
        self._committed()

    def _write_grouped(self, work: Callable[[Connection], T]) -> T:
        """`work` in a write transaction shared with this process's concurrent writers (GroupCommit)."""
        return self._grouped.run(work)

    def _raw_read(self, statement: Select[Any], params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Rows of a hot read, run on a pooled driver connection with the statement compiled once per
        dialect (SQLAlchemy's execution machinery costs far more than such a read itself)."""
        sql, names, defaults = self._compiled(statement)
        merged = {**defaults, **params}
        values: dict[str, Any] | tuple[Any, ...] = tuple(merged[n] for n in names) if names else merged
        dbapi = self._engine.dialect.loaded_dbapi
        try:
            connection = self._engine.raw_connection()
        except (OperationalError, InterfaceError) as exc:
            raise _unavailable(exc) from exc
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, values)
                return list(cursor.fetchall())
            finally:
                cursor.close()
        except (dbapi.OperationalError, dbapi.InterfaceError) as exc:
            connection.invalidate()  # a broken connection does not go back to the pool
            raise _unavailable(exc) from exc
        finally:
            connection.close()  # back to the pool

    def _compiled(self, statement: Select[Any]) -> "_Compiled":
        """The statement's SQL for this dialect, its parameter names in order if the driver's parameters
        are positional, and the values of parameters the statement fixes itself (an OFFSET 0, say)."""
        found = self._statements.get(statement)
        if found is None:
            compiled = statement.compile(dialect=self._engine.dialect)
            positional = compiled.positiontup
            found = self._statements[statement] = (
                str(compiled),
                tuple(positional) if positional else None,
                {name: bind.value for name, bind in compiled.binds.items() if not bind.required},
            )
        return found

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                yield conn
        except (OperationalError, InterfaceError) as exc:
            raise _unavailable(exc) from exc

    def _log(self, conn: Connection, kind: ChangeKind, ref: str) -> None:
        self._changes.record(conn, kind, ref, int(self._clock()))


def _unavailable(exc: Exception) -> StoreUnavailable:
    log.warning("the key store is unavailable: %s", getattr(exc, "orig", None) or exc)
    return StoreUnavailable("The key store cannot be read or written right now; nothing was changed. Retry shortly.")


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


def quick_check(engine: Engine) -> list[str]:
    """SQLite's quick_check of the file: ["ok"] when sound, else what it found."""
    try:
        with engine.connect() as conn:
            return [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check")]
    except (DatabaseError, sqlite3.DatabaseError) as exc:
        return [str(getattr(exc, "orig", exc))]
