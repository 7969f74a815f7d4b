"""The key store on SQLAlchemy Core: one implementation for every SQL dialect OpenKMS supports.

Dialect-specific set-up (pragmas, how a write transaction begins) lives in store/sqlite.py and
store/postgres.py, how other processes' commits are noticed in store/changes.py; the table families
live in sql_keys, sql_data_keys and here.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from openkms.domain.models import Change, ChangeKind, Credential
from openkms.store.base import StoredCredential
from openkms.store.changes import ChangeSource
from openkms.store.schema import (
    Rebind,
    anchors,
    cloud_resource_bindings,
    credentials,
    data_key_tags,
    data_keys,
    grants,
    key_tags,
    key_versions,
    keys,
    migrate,
    policies,
    store_secrets,
    whitebox_fingerprints,
    whitebox_key_tags,
    whitebox_keys,
)
from openkms.store.sql_base import quick_check
from openkms.store.sql_data_keys import SqlDataKeys
from openkms.store.sql_grants import SqlGrants
from openkms.store.sql_keys import SqlKeys
from openkms.store.sql_whitebox import SqlWhiteBoxKeys
from openkms.trust.bindings import WrappedColumn

BACKED_UP_TABLES = (
    keys,
    key_versions,
    key_tags,
    data_keys,
    data_key_tags,
    whitebox_keys,
    whitebox_key_tags,
    whitebox_fingerprints,
    cloud_resource_bindings,
    grants,
    store_secrets,
    credentials,
    policies,
)
"""In the order a restore inserts them (owners before what they own)."""
_TABLES = {table.name: table for table in BACKED_UP_TABLES}


class SqlStore(SqlKeys, SqlDataKeys, SqlWhiteBoxKeys, SqlGrants):
    def __init__(
        self,
        engine: Engine,
        changes: Callable[[], ChangeSource],
        clock: Callable[[], float],
        write_lock: AbstractContextManager[object] | None = None,
        rebind: Rebind | None = None,
    ) -> None:
        """`changes` makes the store's change source once the schema exists; `rebind` upgrades secrets
        wrapped by an OpenKMS older than schema version 3 (a store that holds any needs it)."""
        super().__init__(engine, clock, write_lock)
        with self._write() as conn:
            migrate(conn, int(clock()), rebind)
        self._changes = changes()
        self._committed = self._changes.committed
        self.damage: str | None = None
        """What the last soundness check found wrong (see soundness_problem), or None."""

    # Credentials

    def insert_credential(self, credential: Credential, wrapped_secret: bytes, policy_seal: bytes) -> None:
        with self._write() as conn:
            conn.execute(
                insert(credentials).values(
                    secret_id=credential.secret_id,
                    account=credential.account,
                    bound_secret=wrapped_secret,
                    create_time=credential.create_time,
                    policy_seal=policy_seal,
                )
            )
            self._log(conn, ChangeKind.CREDENTIAL, credential.secret_id)

    def get_credential(self, secret_id: str) -> tuple[Credential, bytes] | None:
        with self._read() as conn:
            row = conn.execute(select(credentials).where(credentials.c.secret_id == secret_id)).first()
        if row is None:
            return None
        return Credential(row.secret_id, row.account, row.create_time), row.bound_secret

    def load_credential(self, secret_id: str) -> StoredCredential | None:
        # One statement, so the credential, its seal and its policies are read at one instant.
        query = (
            select(credentials, policies.c.name, policies.c.document)
            .outerjoin(policies, policies.c.secret_id == credentials.c.secret_id)
            .where(credentials.c.secret_id == secret_id)
            .order_by(policies.c.name)
        )
        with self._read() as conn:
            rows = list(conn.execute(query))
        if not rows:
            return None
        first = rows[0]
        return StoredCredential(
            Credential(first.secret_id, first.account, first.create_time),
            first.bound_secret,
            first.policy_seal,
            tuple((row.name, row.document) for row in rows if row.name is not None),
        )

    def list_credentials(self) -> list[Credential]:
        with self._read() as conn:
            rows = conn.execute(select(credentials).order_by(credentials.c.create_time, credentials.c.secret_id))
            return [Credential(r.secret_id, r.account, r.create_time) for r in rows]

    def delete_credential(self, secret_id: str) -> bool:
        with self._write() as conn:
            conn.execute(delete(policies).where(policies.c.secret_id == secret_id))
            deleted = conn.execute(delete(credentials).where(credentials.c.secret_id == secret_id)).rowcount
            if deleted:
                self._log(conn, ChangeKind.CREDENTIAL, secret_id)
        return bool(deleted)

    def replace_policies(
        self,
        secret_id: str,
        documents: tuple[tuple[str, str], ...],
        seal: bytes,
        expected: StoredCredential | None,
    ) -> bool:
        with self._write() as conn:
            # FOR UPDATE on PostgreSQL (SQLite writers are serial already): concurrent changes queue here.
            lock = select(credentials.c.policy_seal).where(credentials.c.secret_id == secret_id).with_for_update()
            found = conn.execute(lock).first()
            if found is None:
                return False
            if expected is not None:
                current = conn.execute(
                    select(policies.c.name, policies.c.document).where(policies.c.secret_id == secret_id)
                )
                stored = sorted((row.name, row.document) for row in current)
                if found.policy_seal != expected.policy_seal or stored != sorted(expected.policies):
                    return False
            conn.execute(delete(policies).where(policies.c.secret_id == secret_id))
            now = int(self._clock())
            if documents:
                conn.execute(
                    insert(policies),
                    [{"secret_id": secret_id, "name": n, "document": d, "create_time": now} for n, d in documents],
                )
            conn.execute(update(credentials).where(credentials.c.secret_id == secret_id).values(policy_seal=seal))
            self._log(conn, ChangeKind.CREDENTIAL, secret_id)
        return True

    # The store's own secrets and anchors

    def store_secret(self, name: str, create: Callable[[], bytes]) -> bytes:
        with self._read() as conn:
            found = conn.execute(select(store_secrets.c.wrapped_value).where(store_secrets.c.name == name)).scalar()
        if found is not None:
            return bytes(found)
        try:
            with self._write() as conn:
                conn.execute(insert(store_secrets).values(name=name, wrapped_value=create()))
        except IntegrityError:
            pass  # another process made it first: use theirs
        with self._read() as conn:
            return bytes(
                conn.execute(select(store_secrets.c.wrapped_value).where(store_secrets.c.name == name)).scalar_one()
            )

    def get_anchor(self, name: str) -> bytes | None:
        with self._read() as conn:
            found = conn.execute(select(anchors.c.value).where(anchors.c.name == name)).scalar()
        return None if found is None else bytes(found)

    def put_anchor(self, name: str, value: bytes) -> None:
        try:
            with self._write() as conn:
                if not conn.execute(update(anchors).where(anchors.c.name == name).values(value=value)).rowcount:
                    conn.execute(insert(anchors).values(name=name, value=value))
        except IntegrityError:  # another process made it at the same moment: this is the later write
            with self._write() as conn:
                conn.execute(update(anchors).where(anchors.c.name == name).values(value=value))

    # Change notification between processes

    def poll_changes(self) -> list[Change]:
        return self._changes.poll()

    def push_changes_to(self, apply: Callable[[Change], None]) -> None:
        self._changes.push_to(apply)

    def prune_changes(self, older_than: int) -> None:
        with self._write() as conn:
            self._changes.prune(conn, older_than)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every table a backup holds, read in one transaction: a consistent copy."""
        with self._engine.connect() as conn:
            if self._engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                return {
                    table.name: [{str(k): v for k, v in row._mapping.items()} for row in conn.execute(select(table))]
                    for table in BACKED_UP_TABLES
                }

    def is_empty(self) -> bool:
        with self._read() as conn:
            return all(conn.execute(select(func.count()).select_from(t)).scalar_one() == 0 for t in BACKED_UP_TABLES)

    def load_snapshot(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Insert a snapshot's rows, in one transaction, into an empty store."""
        with self._write() as conn:
            for table in BACKED_UP_TABLES:
                rows = tables.get(table.name, [])
                if rows:
                    conn.execute(insert(table), rows)
            self._changes.record(conn, ChangeKind.ALL, "", int(self._clock()))

    def wrapped_values(self, wrapped: WrappedColumn) -> list[tuple[dict[str, Any], dict[str, Any], bytes]]:
        """(primary key, what the binding reads, value) of every row holding a wrapped secret."""
        table = _TABLES[wrapped.table]
        key_columns = list(table.primary_key.columns)
        columns = [*table.columns]
        query = select(*columns).where(table.c[wrapped.column].is_not(None))
        if wrapped.owner is not None:
            owner_name, shared, taken = wrapped.owner
            owner = _TABLES[owner_name]
            query = query.join(owner, owner.c[shared] == table.c[shared]).add_columns(*(owner.c[n] for n in taken))
        with self._read() as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
        return [({c.name: row[c.name] for c in key_columns}, row, row[wrapped.column]) for row in rows]

    def replace_wrapped(self, table_name: str, column: str, key: dict[str, Any], old: bytes, new: bytes) -> bool:
        """Store `new` where the row still holds `old` (a concurrent writer wins: False)."""
        table = _TABLES[table_name]
        conditions = [table.c[name] == value for name, value in key.items()]
        with self._write() as conn:
            result = conn.execute(update(table).where(*conditions, table.c[column] == old).values({column: new}))
            return bool(result.rowcount == 1)

    def soundness_problem(self) -> str | None:
        """What SQLite's quick_check finds wrong with the file, or None (PostgreSQL checks its own pages)."""
        if self._engine.dialect.name != "sqlite":
            return None
        found = quick_check(self._engine)
        return None if found == ["ok"] else f"{self._engine.url.database} is damaged: {'; '.join(found[:3])}"

    def check_integrity(self) -> list[str]:
        """Problems found in the store (empty when sound): the engine's own check where it has one,
        then what OpenKMS relies on: every KMS-generated key has its current version's material, and
        no material, tag or policy outlives its owner."""
        problems: list[str] = []
        with self._read() as conn:
            if self._engine.dialect.name == "sqlite":
                result = [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]
                if result != ["ok"]:
                    problems += [f"sqlite: {line}" for line in result]
            checks = {
                "keys without their current version's material": (
                    "SELECT count(*) FROM keys k WHERE k.origin = 'TENCENT_KMS' AND NOT EXISTS "
                    "(SELECT 1 FROM key_versions v WHERE v.key_id = k.key_id AND v.version = k.current_version)"
                ),
                "key versions of no key": (
                    "SELECT count(*) FROM key_versions v "
                    "WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.key_id = v.key_id)"
                ),
                "tags of no key": (
                    "SELECT count(*) FROM key_tags t WHERE NOT EXISTS (SELECT 1 FROM keys k WHERE k.key_id = t.key_id)"
                ),
                "policies of no credential": (
                    "SELECT count(*) FROM policies p WHERE NOT EXISTS "
                    "(SELECT 1 FROM credentials c WHERE c.secret_id = p.secret_id)"
                ),
            }
            for problem, query in checks.items():
                count = conn.exec_driver_sql(query).scalar_one()
                if count:
                    problems.append(f"{count} {problem}")
        return problems

    def close(self) -> None:
        self._changes.close()
        self._engine.dispose()
        close_lock = getattr(self._write_lock, "close", None)
        if close_lock is not None:
            close_lock()
