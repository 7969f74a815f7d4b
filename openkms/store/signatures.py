"""The memory of accepted request signatures, shared by every process on one store: what lets any of
them refuse a replayed request, whichever process the original reached.

Rows live for a signature's validity window only, so they need no durability: SQLite keeps them in a
file of their own with synchronous=OFF, PostgreSQL in an UNLOGGED table. A crash may forget the last
few seconds' signatures; it never forgets a key or a ciphertext.
"""

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, delete, select

from openkms.store.sqlite import begin_without_waiting

_metadata = MetaData()
signatures = Table(
    "request_signatures",
    _metadata,
    Column("signature", String(128), primary_key=True),
    Column("request", String(256), nullable=False),
    Column("source", String(64), nullable=False),
    Column("seen_ms", BigInteger, nullable=False),
    Column("expires", BigInteger, nullable=False, index=True),
)

FORGET_BATCH_ROWS = 5_000
FORGET_PAUSE_SECONDS = 0.005
LOCK_TIMEOUT_MS = 1_000
CREATE_LOCK_ID = 7102
"""PostgreSQL advisory lock under which servers starting together create the table one at a time."""

Use = tuple[str, str, str, int, int]
"""(signature, what it was used for, source address, when in ms, when it expires in s)."""
Recorded = tuple[str, str, int]
"""(what a signature was first used for, from which source address, when in ms)."""


class SignatureMemoryBusy(Exception):
    """Another process holds the memory's write lock right now."""


class SignatureMemory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        if self._sqlite:
            _metadata.create_all(engine)
        else:
            with engine.begin() as conn:  # unlogged: not written to the WAL, not replicated
                # IF NOT EXISTS is not safe against another server creating it at the same moment.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CREATE_LOCK_ID})")
                conn.exec_driver_sql(
                    "CREATE UNLOGGED TABLE IF NOT EXISTS request_signatures (signature VARCHAR(128) PRIMARY KEY, "
                    "request VARCHAR(256) NOT NULL, source VARCHAR(64) NOT NULL, seen_ms BIGINT NOT NULL, "
                    "expires BIGINT NOT NULL)"
                )
                conn.exec_driver_sql(
                    "CREATE INDEX IF NOT EXISTS request_signatures_expires ON request_signatures (expires)"
                )
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self._insert_sql = (
            "INSERT INTO request_signatures (signature, request, source, seen_ms, expires) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}, {mark}) ON CONFLICT (signature) DO NOTHING"
        )
        self._select_sql = "SELECT signature, request, source, seen_ms FROM request_signatures WHERE signature IN ({})"
        self._mark = mark
        self._connection: Any = None

    def remember(self, uses: Sequence[Use]) -> dict[str, Recorded]:
        """Record each signature's use unless one is recorded already, in one transaction; returns the
        first use recorded of each (its own, or an earlier one). SignatureMemoryBusy if another process
        is writing. Runs on the caller's thread without waiting inside the database."""
        connection = self._open()
        cursor = connection.cursor()
        try:
            if self._sqlite and not begin_without_waiting(cursor):
                raise SignatureMemoryBusy
            if not self._sqlite:
                # Another server inserting the same signature holds its row until it commits: a wait is
                # bounded, and rows are taken in one order everywhere, so two batches cannot deadlock.
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")
            cursor.executemany(self._insert_sql, sorted(uses))
            names = list(dict.fromkeys(use[0] for use in uses))
            cursor.execute(self._select_sql.format(", ".join([self._mark] * len(names))), names)
            found = {row[0]: (row[1], row[2], row[3]) for row in cursor.fetchall()}
            connection.commit()
            return found
        except SignatureMemoryBusy:
            raise
        except Exception:
            self.close()  # a broken connection is not used again
            raise
        finally:
            cursor.close()

    def forget_expired(self, now: int) -> None:
        """Delete expired rows a batch per transaction: one transaction over a busy window's rows
        (hundreds of thousands) would hold the SQLite write lock for seconds, refusing requests."""
        expired = select(signatures.c.signature).where(signatures.c.expires < now).limit(FORGET_BATCH_ROWS)
        while True:
            with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
                deleted = conn.execute(delete(signatures).where(signatures.c.signature.in_(expired))).rowcount
            if deleted < FORGET_BATCH_ROWS:
                return
            time.sleep(FORGET_PAUSE_SECONDS)  # let the request path's writes in between

    def _open(self) -> Any:
        if self._connection is None:
            self._connection = self._engine.raw_connection()
            if self._sqlite:
                self._connection.driver_connection.execute("PRAGMA busy_timeout=0")
        return self._connection

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail; it is gone either way
                connection.close()
