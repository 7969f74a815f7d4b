"""The audit log: events appended in batches (group commit), chained, durable before a request is
answered when the server is fail-closed.

Several server processes may share one log: each batch is appended inside one write transaction that
reads the chain's last MAC first, so the chain stays a single line whichever process writes.
"""

import asyncio
import contextlib
import hmac
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

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
from openkms.audit.head import ANCHOR, HEAD, LOG_ID_BYTES, AuditIntegrityError, Position
from openkms.crypto.aead import new_key
from openkms.store.sqlite import begin_without_waiting
from openkms.trust.base import RootOfTrust
from openkms.trust.bindings import AUDIT_CHAIN_KEY

log = logging.getLogger("openkms.audit")
PROBE_INTERVAL_SECONDS = 1.0
APPEND_LOCK_ID = 7101
"""PostgreSQL advisory lock that makes appends from several servers one line."""
BUSY_RETRY_SECONDS = 0.001
BUSY_LIMIT_SECONDS = 2.0
"""How long a batch may wait for another process's append before the log counts as unwritable."""
AUDIT_ANCHOR = "audit-log"
CHECKPOINT_INTERVAL_SECONDS = 3600.0
SEARCH_PAGE_ROWS = 1000
SEARCH_SCAN_ROWS = 100_000
"""Events one search call reads at most (newest first); it says where to go on from."""
SEARCH_TIME_SLACK_SECONDS = 60.0
"""Events are appended in batches, nearly but not strictly in time order: a search for events since T
reads back to T minus this before it stops."""

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


class Anchors(Protocol):
    """Where the log's identity and a recent head are kept outside the log: the key store."""

    def get_anchor(self, name: str) -> bytes | None: ...

    def put_anchor(self, name: str, value: bytes) -> None: ...


class AuditLog:
    def __init__(
        self,
        engine: Engine,
        trust: RootOfTrust,
        fail_closed: bool,
        anchors: Anchors | None = None,
        checkpoints: Path | None = None,
    ) -> None:
        """On SQLite, open `engine` with synchronous=FULL: a fail-closed request is answered only once
        its event is on disk. Group commit makes that one fsync per batch of requests, not per request.

        `anchors` (the key store) holds the log's identity and a recent head; `checkpoints` is the file
        the server appends a checkpoint to every CHECKPOINT_INTERVAL_SECONDS. A log that does not match
        its anchor is not written to: `integrity_problem` says why."""
        self._engine = engine
        self._fail_closed = fail_closed
        self._anchors = anchors
        self._checkpoints = checkpoints
        self._sqlite = engine.dialect.name == "sqlite"
        self._chain_key, self._log_id = self._open_identity(trust)
        self._file = Path(str(engine.url.database)) if self._sqlite else None
        self._file_identity = self._identity_of_file()
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        # One statement, so the head and the last event are read at one instant.
        self._head_sql = (
            "SELECT m.value, e.seq, e.mac FROM audit_meta m LEFT JOIN "
            "(SELECT seq, mac FROM audit_events ORDER BY seq DESC LIMIT 1) e ON 1 = 1 WHERE m.name = 'head'"
        )
        self._set_head_sql = f"UPDATE audit_meta SET value = {mark} WHERE name = 'head'"
        self._insert_sql = f"INSERT INTO audit_events (seq, time, event, mac) VALUES ({mark}, {mark}, {mark}, {mark})"
        # One connection of its own, used only on the event loop's thread, replaced when it breaks;
        # BEGIN IMMEDIATE takes the write lock before reading the chain's end, so concurrent processes
        # append one after another.
        self._writer: Any = None
        self._writer_stale = False
        self._pending: list[_Pending] = []
        self._flush_scheduled = False
        self._dropped = 0
        self._prober: threading.Thread | None = None
        self._busy_since = 0.0
        self._last_checkpoint = 0.0
        self.integrity_problem = self._integrity()
        self._healthy = self.integrity_problem is None

    def _open_identity(self, trust: RootOfTrust) -> tuple[bytes, bytes]:
        """The chain key and the log's id, made for a new log. A log written before logs had an id and
        a head gets both, its head at its last event (anchored afterwards, see _integrity)."""
        with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
            if not self._sqlite:  # servers starting together on one PostgreSQL make one identity
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_ID})")
            _metadata.create_all(conn)
            meta = {row.name: bytes(row.value) for row in conn.execute(select(audit_meta))}
            if "chain_key" not in meta:
                meta["chain_key"] = trust.wrap(new_key(), AUDIT_CHAIN_KEY)
                conn.execute(insert(audit_meta).values(name="chain_key", value=meta["chain_key"]))
            chain_key = trust.unwrap(meta["chain_key"], AUDIT_CHAIN_KEY)
            if "log_id" in meta:
                return chain_key, meta["log_id"]
            log_id = new_key()[:LOG_ID_BYTES]
            last = conn.execute(
                select(audit_events.c.seq, audit_events.c.mac).order_by(audit_events.c.seq.desc())
            ).first()
            head = Position(log_id, last.seq, bytes(last.mac)) if last else Position(log_id, 0, GENESIS)
            conn.execute(insert(audit_meta).values(name="log_id", value=log_id))
            conn.execute(insert(audit_meta).values(name="head", value=head.sealed(chain_key, HEAD)))
        return chain_key, log_id

    def _integrity(self) -> str | None:
        """Why this log must not be written to (its head does not match its end, or it is not the log
        the key store anchored), or None. A new, empty log is anchored in a store with no anchor yet;
        a log with events and no anchor is refused: the anchor was deleted (with the log replaced by
        an older copy, say), and taking whatever log is there would make the anchor worthless."""
        try:
            head = self._read_head()
            if self._anchors is not None and head.seq == 0 and self._anchors.get_anchor(AUDIT_ANCHOR) is None:
                self._anchors.put_anchor(AUDIT_ANCHOR, head.sealed(self._chain_key, ANCHOR))
            self._check_anchor(head)
        except AuditIntegrityError as exc:
            return str(exc)
        return None

    def _check_anchor(self, head: Position) -> None:
        if self._anchors is None:
            return
        anchored = self._anchors.get_anchor(AUDIT_ANCHOR)
        if anchored is None:
            raise AuditIntegrityError(
                f"the key store holds no anchor for this audit log of {head.seq} events: the anchor was deleted, "
                "or the key store restored without it"
            )
        if anchored[:LOG_ID_BYTES] != self._log_id:
            raise AuditIntegrityError(
                f"it is not the audit log this key store recorded (log {anchored[:LOG_ID_BYTES].hex()}; this "
                f"one is {self._log_id.hex()}): the log was deleted or replaced"
            )
        self._check_reaches(Position.opened(anchored, self._chain_key, ANCHOR), "the key store's anchor")

    def _read_head(self) -> Position:
        connection = self._engine.raw_connection()
        try:
            return self._checked_head(connection.cursor())
        finally:
            connection.close()

    def _checked_head(self, cursor: Any) -> Position:
        """The head, once it is shown to be this log's and to match the last event."""
        cursor.execute(self._head_sql)
        row = cursor.fetchone()
        if row is None:
            raise AuditIntegrityError("the audit log has no head: it was edited")
        head = Position.opened(bytes(row[0]), self._chain_key, HEAD)
        if head.log_id != self._log_id:
            raise AuditIntegrityError("the audit log's head belongs to another log")
        seq, mac = (row[1], bytes(row[2])) if row[1] is not None else (0, GENESIS)
        if (seq, mac) != (head.seq, head.mac):
            raise AuditIntegrityError(
                f"the audit log ends at event {seq} but its head says {head.seq}: events were removed from its "
                "end, or it was edited"
            )
        return head

    def _check_reaches(self, position: Position, what: str) -> None:
        """The chain passes through `position`: a log rolled back to before it, or another log, does not."""
        if position.log_id != self._log_id:
            raise AuditIntegrityError(f"{what} is of another audit log ({position.log_id.hex()})")
        if position.seq == 0:
            return
        with self._engine.connect() as conn:
            mac = conn.execute(select(audit_events.c.mac).where(audit_events.c.seq == position.seq)).scalar()
        if mac is None or not hmac.compare_digest(bytes(mac), position.mac):
            raise AuditIntegrityError(
                f"{what} records event {position.seq}, which this log no longer has as recorded: the log was "
                "cut or rolled back to an older copy"
            )

    def anchor(self, now: float) -> None:
        """Record the current head in the key store, and (every CHECKPOINT_INTERVAL_SECONDS) append a
        checkpoint to the checkpoint file. Only a log known to be intact is anchored."""
        if self.integrity_problem is not None or self._anchors is None:
            return
        head = self._read_head()
        anchored = self._anchors.get_anchor(AUDIT_ANCHOR)
        if anchored is not None and Position.opened(anchored, self._chain_key, ANCHOR).seq >= head.seq:
            return  # another process anchored as far already
        self._anchors.put_anchor(AUDIT_ANCHOR, head.sealed(self._chain_key, ANCHOR))
        if self._checkpoints is not None and now - self._last_checkpoint >= CHECKPOINT_INTERVAL_SECONDS:
            with self._checkpoints.open("ab") as file:
                file.write(head.checkpoint(self._chain_key, now) + b"\n")
                file.flush()
                os.fsync(file.fileno())
            self._last_checkpoint = now

    def checkpoint(self, now: float) -> bytes:
        """A checkpoint of the log as it is now, for an operator to keep elsewhere."""
        return self._read_head().checkpoint(self._chain_key, now)

    def reanchor(self) -> tuple[int, str | None]:
        """Accept this log as it is: its head moves to its last event and becomes the key store's
        anchor. For an operator who lost events (or the whole log) and goes on knowingly; the chain
        itself must be intact. Returns the last event and what was wrong before."""
        chain = self._verify_chain()
        if not chain.intact:
            raise AuditIntegrityError(f"the chain itself is broken ({chain.problem}); restore the log from backup")
        with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
            if not self._sqlite:  # no server appends between reading the end and moving the head to it
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_ID})")
            last = conn.execute(
                select(audit_events.c.seq, audit_events.c.mac).order_by(audit_events.c.seq.desc())
            ).first()
            head = Position(self._log_id, last.seq, bytes(last.mac)) if last else Position(self._log_id, 0, GENESIS)
            conn.execute(
                update(audit_meta).where(audit_meta.c.name == "head").values(value=head.sealed(self._chain_key, HEAD))
            )
        if self._anchors is not None:
            self._anchors.put_anchor(AUDIT_ANCHOR, head.sealed(self._chain_key, ANCHOR))
        problem, self.integrity_problem, self._healthy = self.integrity_problem, None, True
        return head.seq, problem

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
        if self._pending:
            self._flush()
        self._discard_writer()
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
        except AuditIntegrityError as exc:
            self.integrity_problem = str(exc)
            self._fail(batch, f"the audit log refuses appends: {exc}")
            return
        except Exception:
            log.exception("could not write %d audit events", len(batch))
            self._discard_writer()  # a broken connection is not used again
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

    def _writer_connection(self) -> Any:
        if self._writer_stale:
            self._discard_writer()
        if self._writer is None:
            self._writer = self._engine.raw_connection()
            if self._sqlite:
                # The writer never waits inside SQLite, on the event loop: a busy log is retried (_flush).
                self._writer.driver_connection.execute("PRAGMA busy_timeout=0")
        return self._writer

    def _discard_writer(self) -> None:
        writer, self._writer, self._writer_stale = self._writer, None, False
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.invalidate() if hasattr(writer, "invalidate") else writer.close()

    def _append(self, batch: list[_Pending]) -> None:
        """Write the batch in one transaction; _LogBusy if another process holds the write lock,
        AuditIntegrityError if the log's end does not match its head."""
        # Plain driver calls: this runs for every batch, and SQLAlchemy's statement machinery would
        # cost more than the insert itself.
        self._check_file()
        writer = self._writer_connection()
        cursor = writer.cursor()
        try:
            self._lock_for_append(writer, cursor)
            head = self._checked_head(cursor)
            seq, previous = head.seq, head.mac
            rows = []
            for pending in batch:
                seq += 1
                previous = chain_mac(self._chain_key, previous, seq, pending.canonical)
                rows.append((seq, pending.time, pending.canonical.decode(), previous))
            cursor.executemany(self._insert_sql, rows)
            cursor.execute(self._set_head_sql, (Position(self._log_id, seq, previous).sealed(self._chain_key, HEAD),))
            writer.commit()
        except Exception:
            with contextlib.suppress(Exception):
                writer.rollback()
            raise
        finally:
            with contextlib.suppress(Exception):
                cursor.close()

    def _identity_of_file(self) -> tuple[int, int] | None:
        if self._file is None:
            return None
        found = self._file.stat()
        return found.st_dev, found.st_ino

    def _check_file(self) -> None:
        """AuditIntegrityError if the log's file is no longer the one opened: deleted, or replaced, under
        a running server, which would otherwise go on appending to a file no one can read again."""
        try:
            identity = self._identity_of_file()
        except FileNotFoundError:
            identity = None
        if identity != self._file_identity:
            raise AuditIntegrityError(f"the audit log file {self._file} was deleted or replaced while the server ran")

    def _lock_for_append(self, connection: Any, cursor: Any) -> None:
        """Take the log's write lock without waiting; _LogBusy if another process holds it."""
        if self._sqlite:
            if not begin_without_waiting(cursor):
                raise _LogBusy
            return
        cursor.execute(f"SELECT pg_try_advisory_xact_lock({APPEND_LOCK_ID})")
        if not cursor.fetchone()[0]:
            connection.rollback()
            raise _LogBusy

    def _start_prober(self) -> None:
        if self._prober is None or not self._prober.is_alive():
            self._prober = threading.Thread(target=self._probe_until_writable, name="openkms-audit-probe", daemon=True)
            self._prober.start()

    def _probe_until_writable(self) -> None:
        """Until a write goes through the way appends go (the write lock, the head checked against the
        log's end, the head written back), the log stays unavailable; then the writer's connection is
        replaced, since the old one may be what broke."""
        while not self._healthy:
            time.sleep(PROBE_INTERVAL_SECONDS)
            try:
                self._check_file()
                connection = self._engine.raw_connection()
                try:
                    cursor = connection.cursor()
                    if self._sqlite:
                        cursor.execute("BEGIN IMMEDIATE")
                    else:
                        cursor.execute(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_ID})")
                    head = self._checked_head(cursor)
                    self._check_anchor(head)
                    cursor.execute(self._set_head_sql, (head.sealed(self._chain_key, HEAD),))
                    connection.commit()
                finally:
                    connection.close()
            except AuditIntegrityError as exc:
                self.integrity_problem = str(exc)
                continue
            except Exception:
                continue
            log.warning("the audit log is writable again")
            self._writer_stale = True
            self.integrity_problem = None  # its head matches its end again (an operator reanchored it)
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

    def search(
        self,
        account: str,
        matches: Callable[[AuditEvent], bool],
        limit: int,
        before: int | None = None,
        since: float | None = None,
    ) -> tuple[list[tuple[int, AuditEvent]], int | None]:
        """The account's events that `matches`, newest first: up to `limit` of them, from before
        sequence number `before`, and where to go on from (None once the log's start, or `since`, is
        reached). Reads at most SEARCH_SCAN_ROWS events a call, so a rare match costs bounded time: the
        caller goes on from the position returned."""
        found: list[tuple[int, AuditEvent]] = []
        cursor, scanned = before, 0
        with self._engine.connect() as conn:
            while True:
                query = select(audit_events.c.seq, audit_events.c.event).order_by(audit_events.c.seq.desc())
                if cursor is not None:
                    query = query.where(audit_events.c.seq < cursor)
                rows = list(conn.execute(query.limit(SEARCH_PAGE_ROWS)))
                if not rows:
                    return found, None
                for row in rows:
                    cursor, scanned = row.seq, scanned + 1
                    event = AuditEvent.from_canonical(row.event)
                    if since is not None and event.time < since - SEARCH_TIME_SLACK_SECONDS:
                        return found, None
                    if event.account == account and matches(event):
                        found.append((row.seq, event))
                        if len(found) == limit:
                            return found, row.seq
                    if scanned >= SEARCH_SCAN_ROWS:
                        return found, row.seq

    def verify(self, checkpoints: Sequence[bytes] = ()) -> VerifyReport:
        """Recompute the chain from the first event, then check that the log ends where its head says,
        and that it still holds the key store's anchor and each checkpoint given."""
        report = self._verify_chain()
        if not report.intact:
            return report
        try:
            head = self._read_head()
        except AuditIntegrityError as exc:
            return VerifyReport(report.events, report.events + 1, str(exc))
        try:
            self._check_anchor(head)
            for line in checkpoints:
                self._check_reaches(Position.from_checkpoint(line, self._chain_key), "a checkpoint")
        except AuditIntegrityError as exc:
            return VerifyReport(report.events, report.events + 1, str(exc))
        return report

    def _verify_chain(self) -> VerifyReport:
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
