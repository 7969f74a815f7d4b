"""The audit log: events appended in batches (group commit), chained, durable before a request is
answered when the server is fail-closed.

Several server processes may share one log: each batch is appended inside one write transaction that
reads the chain's last MAC first, so the chain stays a single line whichever process writes.
"""

import asyncio
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)

from openkms.audit.events import GENESIS, AuditEvent, chain_mac
from openkms.bindings import AUDIT_CHAIN_KEY
from openkms.crypto.aead import new_key
from openkms.trust.base import RootOfTrust

log = logging.getLogger("openkms.audit")
PROBE_INTERVAL_SECONDS = 1.0
APPEND_LOCK_ID = 7101
"""PostgreSQL advisory lock that makes appends from several servers one line."""
BUSY_RETRY_SECONDS = 0.001
BUSY_LIMIT_SECONDS = 2.0
"""How long a batch may wait for another process's append before the log counts as unwritable."""

_metadata = MetaData()
audit_events = Table(
    "audit_events",
    _metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("time", Float, nullable=False, index=True),
    Column("event", Text, nullable=False),
    Column("mac", LargeBinary, nullable=False),
)
audit_meta = Table(
    "audit_meta",
    _metadata,
    Column("name", String(64), primary_key=True),
    Column("value", LargeBinary, nullable=False),
)


class _Pending(NamedTuple):
    time: float
    canonical: bytes
    """The event as AuditEvent.canonical() serialised it, by the requester (which logs the same bytes)."""
    future: "asyncio.Future[bool] | None"
    """Resolved, in its event loop, once the event is durable (True) or cannot be written (False)."""


@dataclass(frozen=True)
class VerifyReport:
    events: int
    first_bad_seq: int | None
    problem: str

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None


class _LogBusy(Exception):
    """Another process holds the audit log's write lock right now."""


class AuditLog:
    def __init__(self, engine: Engine, trust: RootOfTrust, fail_closed: bool) -> None:
        """On SQLite, open `engine` with synchronous=FULL: a fail-closed request is answered only once
        its event is on disk. Group commit makes that one fsync per batch of requests, not per request."""
        self._engine = engine
        self._fail_closed = fail_closed
        _metadata.create_all(engine)
        self._chain_key = self._load_chain_key(trust)
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        # One connection of its own, used only on the event loop's thread; BEGIN IMMEDIATE takes the
        # write lock before reading the chain's end, so concurrent processes append one after another.
        self._writer = engine.raw_connection()
        self._sqlite = engine.dialect.name == "sqlite"
        if self._sqlite:
            # The writer never waits inside SQLite, on the event loop: a busy log is retried (_flush).
            self._writer.driver_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
        self._last_sql = "SELECT seq, mac FROM audit_events ORDER BY seq DESC LIMIT 1"
        self._insert_sql = f"INSERT INTO audit_events (seq, time, event, mac) VALUES ({mark}, {mark}, {mark}, {mark})"
        self._pending: list[_Pending] = []
        self._flush_scheduled = False
        self._healthy = True
        self._dropped = 0
        self._prober: threading.Thread | None = None
        self._busy_since = 0.0

    def _load_chain_key(self, trust: RootOfTrust) -> bytes:
        with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
            wrapped = conn.execute(select(audit_meta.c.value).where(audit_meta.c.name == "chain_key")).scalar()
            if wrapped is None:
                wrapped = trust.wrap(new_key(), AUDIT_CHAIN_KEY)
                conn.execute(insert(audit_meta).values(name="chain_key", value=wrapped))
        return trust.unwrap(wrapped, AUDIT_CHAIN_KEY)

    def rewrap_chain_key(self, unwrap: Callable[[bytes, bytes], bytes], wrap: Callable[[bytes, bytes], bytes]) -> None:
        """Wrap the chain key under another master key (master-key rotation)."""
        with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
            wrapped = conn.execute(select(audit_meta.c.value).where(audit_meta.c.name == "chain_key")).scalar_one()
            rewrapped = wrap(unwrap(wrapped, AUDIT_CHAIN_KEY), AUDIT_CHAIN_KEY)
            conn.execute(update(audit_meta).where(audit_meta.c.name == "chain_key").values(value=rewrapped))

    @property
    def fail_closed(self) -> bool:
        return self._fail_closed

    @property
    def available(self) -> bool:
        return self._healthy

    @property
    def backlog(self) -> int:
        """Events waiting for the next append."""
        return len(self._pending)

    @property
    def dropped(self) -> int:
        """Events lost while fail-open and unable to write."""
        return self._dropped

    async def write(self, event: AuditEvent, canonical: bytes) -> bool:
        """Append an event. Fail-closed: True once it is written, False if it cannot be.
        Fail-open: True at once (an event that cannot be written is counted in `dropped`).

        Events arriving in one turn of the event loop are written together, in one transaction at the
        end of the turn, on the loop's own thread: no thread hand-off, and one commit per batch."""
        if not self._healthy:
            if self._fail_closed:
                return False
            self._dropped += 1
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] | None = loop.create_future() if self._fail_closed else None
        self._pending.append(_Pending(event.time, canonical, future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)
        return await future if future is not None else True

    def close(self) -> None:
        self._flush()
        self._writer.close()
        self._engine.dispose()

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._flush_scheduled = False
        if not batch:
            return
        try:
            self._append(batch)
        except _LogBusy:
            # Another process is appending. Waiting inside the database would stall the event loop,
            # so the batch goes back to the front of the queue and is tried again shortly.
            now = time.monotonic()
            self._busy_since = self._busy_since or now
            if now - self._busy_since < BUSY_LIMIT_SECONDS:
                self._pending[:0] = batch
                self._flush_scheduled = True
                asyncio.get_running_loop().call_later(BUSY_RETRY_SECONDS, self._flush)
                return
            self._fail(batch, "the audit log stayed locked by another writer")
            return
        except Exception:
            log.exception("could not write %d audit events", len(batch))
            self._fail(batch, "the audit log could not be written")
            return
        self._busy_since = 0.0
        _resolve([p.future for p in batch if p.future is not None], written=True)

    def _fail(self, batch: list[_Pending], why: str) -> None:
        log.error("%s; %d events not recorded", why, len(batch))
        self._healthy = False
        self._busy_since = 0.0
        if not self._fail_closed:
            self._dropped += len(batch)
        _resolve([p.future for p in batch if p.future is not None], written=False)
        self._start_prober()

    def _append(self, batch: list[_Pending]) -> None:
        """Write the batch in one transaction; _LogBusy if another process holds the write lock."""
        # Plain driver calls: this runs for every batch, and SQLAlchemy's statement machinery would
        # cost more than the insert itself.
        cursor = self._writer.cursor()
        try:
            self._lock_for_append(cursor)
            cursor.execute(self._last_sql)
            last = cursor.fetchone()
            seq, previous = (last[0], bytes(last[1])) if last else (0, GENESIS)
            rows = []
            for pending in batch:
                seq += 1
                previous = chain_mac(self._chain_key, previous, seq, pending.canonical)
                rows.append((seq, pending.time, pending.canonical.decode(), previous))
            cursor.executemany(self._insert_sql, rows)
            self._writer.commit()
        except Exception:
            self._writer.rollback()
            raise
        finally:
            cursor.close()

    def _lock_for_append(self, cursor: Any) -> None:
        """Take the log's write lock without waiting; _LogBusy if another process holds it."""
        if self._sqlite:
            try:
                cursor.execute("BEGIN IMMEDIATE")
            except Exception as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise _LogBusy from exc
                raise
            return
        cursor.execute(f"SELECT pg_try_advisory_xact_lock({APPEND_LOCK_ID})")
        if not cursor.fetchone()[0]:
            self._writer.rollback()
            raise _LogBusy

    def _start_prober(self) -> None:
        if self._prober is None or not self._prober.is_alive():
            self._prober = threading.Thread(target=self._probe_until_writable, name="openkms-audit-probe", daemon=True)
            self._prober.start()

    def _probe_until_writable(self) -> None:
        while not self._healthy:
            time.sleep(PROBE_INTERVAL_SECONDS)
            try:
                with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
                    conn.execute(select(audit_meta.c.name).limit(1))
            except Exception:
                continue
            log.warning("the audit log is writable again")
            self._healthy = True

    # Reading

    def events(
        self,
        since: float | None = None,
        until: float | None = None,
        last: int | None = None,
    ) -> Iterator[tuple[int, AuditEvent]]:
        """Events in order, filtered on the time inside each event (which the chain covers), never on
        the `time` column: editing that column must not hide an event from a search."""
        query = select(audit_events.c.seq, audit_events.c.event)
        if last is not None:
            query = query.order_by(audit_events.c.seq.desc()).limit(last)
            with self._engine.connect() as conn:
                rows = list(conn.execute(query))
            yield from ((r.seq, AuditEvent.from_canonical(r.event)) for r in reversed(rows))
            return
        with self._engine.connect() as conn:
            for row in conn.execute(query.order_by(audit_events.c.seq)):
                event = AuditEvent.from_canonical(row.event)
                if (since is None or event.time >= since) and (until is None or event.time <= until):
                    yield row.seq, event

    def verify(self) -> VerifyReport:
        """Recompute the chain from the first event; report the first that does not fit."""
        previous, expected, count = GENESIS, 1, 0
        with self._engine.connect() as conn:
            for row in conn.execute(select(audit_events).order_by(audit_events.c.seq)):
                if row.seq != expected:
                    return VerifyReport(count, expected, f"event {expected} is missing (next is {row.seq})")
                mac = chain_mac(self._chain_key, previous, row.seq, row.event.encode())
                if not hmac.compare_digest(mac, row.mac):
                    return VerifyReport(count, row.seq, f"event {row.seq} was altered, or an event before it was")
                if row.time != AuditEvent.from_canonical(row.event).time:
                    return VerifyReport(count, row.seq, f"the time column of event {row.seq} was altered")
                previous, expected, count = row.mac, expected + 1, count + 1
        return VerifyReport(count, None, "")


def _resolve(futures: list["asyncio.Future[bool]"], written: bool) -> None:
    for future in futures:
        if not future.done():
            future.set_result(written)
