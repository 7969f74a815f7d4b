"""The audit log: events appended in batches (group commit), chained, durable before a request is
answered when the server is fail-closed.

Several server processes may share one log: each batch is appended inside one write transaction that
reads the chain's last MAC first, so the chain stays a single line whichever process writes.
"""

import asyncio
import hmac
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

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
)

from openkms.audit.events import GENESIS, AuditEvent, chain_mac
from openkms.crypto.aead import new_key
from openkms.store.sqlite import sqlite_engine
from openkms.trust.base import RootOfTrust

log = logging.getLogger("openkms.audit")
CHAIN_KEY_BINDING = b"audit-chain-key\x00"
WAIT_FOR_DURABILITY_SECONDS = 30.0
PROBE_INTERVAL_SECONDS = 1.0

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


@dataclass
class _Pending:
    event: AuditEvent
    future: "asyncio.Future[bool] | None" = None
    """Resolved, in its event loop, once the event is durable (True) or cannot be written (False)."""
    canonical: bytes = b""

    def __post_init__(self) -> None:
        # Serialised by the requester, so the writer thread only chains and inserts.
        self.canonical = self.event.canonical()


@dataclass(frozen=True)
class VerifyReport:
    events: int
    first_bad_seq: int | None
    problem: str

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None


class AuditLog:
    def __init__(self, engine: Engine, trust: RootOfTrust, fail_closed: bool, batch_size: int = 512) -> None:
        self._engine = engine
        self._fail_closed = fail_closed
        self._batch_size = batch_size
        _metadata.create_all(engine)
        self._chain_key = self._load_chain_key(trust)
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._last_sql = "SELECT seq, mac FROM audit_events ORDER BY seq DESC LIMIT 1"
        self._insert_sql = f"INSERT INTO audit_events (seq, time, event, mac) VALUES ({mark}, {mark}, {mark}, {mark})"
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._healthy = True
        self._dropped = 0
        self._writer = threading.Thread(target=self._write_loop, name="openkms-audit", daemon=True)
        self._writer.start()

    @classmethod
    def open_sqlite(cls, path: Path, trust: RootOfTrust, fail_closed: bool, busy_timeout: float = 5.0) -> "AuditLog":
        # synchronous=NORMAL: a committed batch is in the operating system's hands (it survives the
        # process dying) but not fsync'd per batch; like Vault's file audit device, an event is
        # "written" when the write succeeded. The key store itself keeps synchronous=FULL.
        return cls(sqlite_engine(path, busy_timeout, synchronous="NORMAL"), trust, fail_closed)

    def _load_chain_key(self, trust: RootOfTrust) -> bytes:
        with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
            wrapped = conn.execute(select(audit_meta.c.value).where(audit_meta.c.name == "chain_key")).scalar()
            if wrapped is None:
                wrapped = trust.wrap(new_key(), CHAIN_KEY_BINDING)
                conn.execute(insert(audit_meta).values(name="chain_key", value=wrapped))
        return trust.unwrap(wrapped, CHAIN_KEY_BINDING)

    @property
    def fail_closed(self) -> bool:
        return self._fail_closed

    @property
    def available(self) -> bool:
        return self._healthy

    @property
    def dropped(self) -> int:
        """Events lost while fail-open and unable to write."""
        return self._dropped

    async def write(self, event: AuditEvent) -> bool:
        """Append an event. Fail-closed: True once it is durable, False if it cannot be written.
        Fail-open: True at once (an event that cannot be written is counted in `dropped`)."""
        if not self._fail_closed:
            self._queue.put(_Pending(event))
            return True
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.put(_Pending(event, future))
        try:
            return await asyncio.wait_for(future, WAIT_FOR_DURABILITY_SECONDS)
        except TimeoutError:
            return False

    def close(self) -> None:
        self._queue.put(None)
        self._writer.join(timeout=WAIT_FOR_DURABILITY_SECONDS)
        self._engine.dispose()

    def _write_loop(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=PROBE_INTERVAL_SECONDS)
            except queue.Empty:
                if not self._healthy:
                    self._probe()
                continue
            batch: list[_Pending] = []
            stop = first is None
            if first is not None:
                batch.append(first)
            while len(batch) < self._batch_size and not stop:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            if batch:
                self._append(batch)
            if stop:
                return

    def _append(self, batch: list[_Pending]) -> None:
        try:
            # Plain driver SQL: this runs for every batch, and SQLAlchemy's statement machinery would
            # cost more than the insert itself.
            with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
                last = conn.exec_driver_sql(self._last_sql).first()
                seq, previous = (last[0], bytes(last[1])) if last else (0, GENESIS)
                rows = []
                for pending in batch:
                    seq += 1
                    previous = chain_mac(self._chain_key, previous, seq, pending.canonical)
                    rows.append((seq, pending.event.time, pending.canonical.decode(), previous))
                conn.exec_driver_sql(self._insert_sql, rows)
        except Exception:
            log.exception("could not write %d audit events", len(batch))
            self._healthy = False
            if not self._fail_closed:
                self._dropped += len(batch)
            _settle(batch, written=False)
            return
        self._healthy = True
        _settle(batch, written=True)

    def _probe(self) -> None:
        try:
            with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
                conn.execute(select(audit_meta.c.name).limit(1))
            self._healthy = True
            log.warning("the audit log is writable again")
        except Exception:
            return

    # Reading

    def events(
        self,
        since: float | None = None,
        until: float | None = None,
        last: int | None = None,
    ) -> Iterator[tuple[int, AuditEvent]]:
        query = select(audit_events.c.seq, audit_events.c.event)
        if since is not None:
            query = query.where(audit_events.c.time >= since)
        if until is not None:
            query = query.where(audit_events.c.time <= until)
        if last is not None:
            query = query.order_by(audit_events.c.seq.desc()).limit(last)
            with self._engine.connect() as conn:
                rows = list(conn.execute(query))
            yield from ((r.seq, AuditEvent.from_canonical(r.event)) for r in reversed(rows))
            return
        with self._engine.connect() as conn:
            for row in conn.execute(query.order_by(audit_events.c.seq)):
                yield row.seq, AuditEvent.from_canonical(row.event)

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
                previous, expected, count = row.mac, expected + 1, count + 1
        return VerifyReport(count, None, "")


def _settle(batch: list[_Pending], written: bool) -> None:
    """Resolve the waiting requests' futures, one callback per event loop rather than one per event."""
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[bool]]] = {}
    for pending in batch:
        if pending.future is not None:
            by_loop.setdefault(pending.future.get_loop(), []).append(pending.future)
    for loop, futures in by_loop.items():
        loop.call_soon_threadsafe(_resolve, futures, written)


def _resolve(futures: list["asyncio.Future[bool]"], written: bool) -> None:
    for future in futures:
        if not future.done():
            future.set_result(written)
