"""How a store tells one server process what other processes changed, so caches forget it.

- ChangeLog (SQLite): every write transaction appends to `change_log`; a commit signal
  (store/sqlite.CommitSignal) says cheaply whether anything was committed since the last look, and
  only then is the log read. In SQLite commits are serial, so the log's sequence is commit order.
- Notifications (PostgreSQL): every write transaction sends NOTIFY, delivered at commit to every
  listening process; a listener thread collects them. (A sequence would not do here: PostgreSQL may
  commit a lower number after a higher one.) If the listening connection is lost, changes may have
  been missed, so the caches are flushed whole.
"""

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Connection, delete, func, insert, select, text

from openkms.domain.models import Change, ChangeKind
from openkms.store.base import FLUSH_ALL
from openkms.store.schema import change_log

MAX_PENDING_CHANGES = 10_000
"""PostgreSQL notifications kept until the next poll; beyond, they collapse into one FLUSH_ALL."""

log = logging.getLogger("openkms.store")


def _change(kind: str, ref: str) -> Change:
    try:
        return Change(ChangeKind(kind), ref)
    except ValueError:  # a kind this version does not know (a newer server wrote it): forget everything
        return FLUSH_ALL


class ChangeSource(Protocol):
    def record(self, conn: Connection, kind: ChangeKind, ref: str, now: int) -> None:
        """Note, inside the writer's transaction, that `ref` of `kind` changed."""

    def poll(self) -> list[Change]:
        """What other processes (and this one) committed since the last poll."""

    def push_to(self, apply: Callable[[Change], None]) -> None:
        """Hand changes to `apply` as they arrive, where the source can (PostgreSQL); else a no-op, and
        changes wait for poll()."""

    def committed(self) -> None:
        """Told after each write transaction committed, before the writer answers anyone."""

    def prune(self, conn: Connection, older_than: int) -> None: ...

    def close(self) -> None: ...


class ChangeLog:
    def __init__(
        self,
        changed_elsewhere: Callable[[], bool],
        read: Callable[[], Connection],
        announce: Callable[[], None],
        close: Callable[[], None],
    ) -> None:
        self._changed_elsewhere = changed_elsewhere
        self.committed = announce
        self.close = close
        self._read = read
        self._lock = threading.Lock()
        with read() as conn:
            self._last_seq: int = conn.execute(select(func.coalesce(func.max(change_log.c.seq), 0))).scalar_one()

    def record(self, conn: Connection, kind: ChangeKind, ref: str, now: int) -> None:
        conn.execute(insert(change_log), {"kind": kind, "ref": ref, "at": now})

    def push_to(self, apply: Callable[[Change], None]) -> None:
        pass  # SQLite announces commits through a memory-mapped token, read at each poll

    def poll(self) -> list[Change]:
        with self._lock:
            if not self._changed_elsewhere():
                return []
            with self._read() as conn:
                oldest = conn.execute(select(func.min(change_log.c.seq))).scalar_one()
                rows = conn.execute(
                    select(change_log.c.seq, change_log.c.kind, change_log.c.ref)
                    .where(change_log.c.seq > self._last_seq)
                    .order_by(change_log.c.seq)
                ).all()
            missed = oldest is not None and oldest > self._last_seq + 1
            if rows:
                self._last_seq = rows[-1].seq
        changes = [_change(r.kind, r.ref) for r in rows]
        return [FLUSH_ALL, *changes] if missed else changes

    def prune(self, conn: Connection, older_than: int) -> None:
        newest = conn.execute(select(func.max(change_log.c.seq))).scalar_one()
        # Keep the newest row so the sequence never restarts and gaps stay detectable.
        conn.execute(delete(change_log).where(change_log.c.at < older_than, change_log.c.seq != newest))


class Notifications:
    def __init__(self, connect: Callable[[], object], channel: str) -> None:
        """`connect` opens a psycopg connection in autocommit mode for listening."""
        self._connect = connect
        self._channel = channel
        self._pending: list[Change] = []
        self._apply: Callable[[Change], None] | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="openkms-listen", daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def push_to(self, apply: Callable[[Change], None]) -> None:
        with self._lock:
            self._apply, pending, self._pending = apply, self._pending, []
        for change in pending:
            apply(change)

    def _arrived(self, change: Change) -> None:
        with self._lock:
            apply = self._apply
            if apply is None:
                if len(self._pending) >= MAX_PENDING_CHANGES:
                    # Nobody polled for a while: forgetting everything costs less than remembering all.
                    self._pending = [FLUSH_ALL]
                self._pending.append(change)
                return
        apply(change)

    def record(self, conn: Connection, kind: ChangeKind, ref: str, now: int) -> None:
        conn.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": self._channel, "payload": f"{kind}:{ref}"}
        )

    def poll(self) -> list[Change]:
        if not self._pending:
            return []
        with self._lock:
            changes, self._pending = self._pending, []
        return changes

    def committed(self) -> None:
        pass  # NOTIFY is delivered at commit

    def prune(self, conn: Connection, older_than: int) -> None:
        pass

    def close(self) -> None:
        self._stopped.set()

    def _listen(self) -> None:
        first = True
        while not self._stopped.is_set():
            try:
                connection = self._connect()
                with connection:  # type: ignore[attr-defined]
                    connection.execute(f'LISTEN "{self._channel}"')  # type: ignore[attr-defined]
                    if not first:
                        self._arrived(FLUSH_ALL)  # notifications sent while we were away are lost
                    first = False
                    self._ready.set()
                    while not self._stopped.is_set():
                        for notice in connection.notifies(timeout=1.0):  # type: ignore[attr-defined]
                            kind, _, ref = notice.payload.partition(":")
                            self._arrived(_change(kind, ref))
            except Exception:
                if self._stopped.is_set():
                    return
                log.exception("lost the PostgreSQL notification connection; reconnecting")
                self._stopped.wait(1.0)
