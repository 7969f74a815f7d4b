"""The key store on SQLAlchemy Core: one implementation for every SQL dialect OpenKMS supports.

Dialect-specific set-up (pragmas, how a write transaction begins, how other processes' commits are
noticed) lives in store/sqlite.py; this module holds only portable SQL.
"""

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Row,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from openkms.models import Change, Credential, Key, KeyQuery, KeyState, KeyUsage, Origin, Tag
from openkms.store.base import FLUSH_ALL, AliasTaken
from openkms.store.schema import change_log, credentials, key_tags, key_versions, keys, migrate


class _StateMoved(Exception):
    """Raised inside a write transaction to roll it back when a compare-and-set finds a newer state."""


class SqlStore:
    def __init__(self, engine: Engine, changed_elsewhere: Callable[[], bool], clock: Callable[[], float]) -> None:
        """`changed_elsewhere` answers cheaply whether anyone committed since it was last asked."""
        self._engine = engine
        self._changed_elsewhere = changed_elsewhere
        self._clock = clock
        self._poll_lock = threading.Lock()
        with self._write() as conn:
            migrate(conn, int(clock()))
        with self._engine.connect() as conn:
            self._last_seq: int = conn.execute(select(func.coalesce(func.max(change_log.c.seq), 0))).scalar_one()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
            yield conn

    def _log(self, conn: Connection, kind: str, ref: str) -> None:
        conn.execute(insert(change_log).values(kind=kind, ref=ref, at=int(self._clock())))

    # Keys

    def insert_key(self, key: Key, wrapped_material: bytes) -> None:
        try:
            with self._write() as conn:
                conn.execute(insert(keys).values(_key_row(key)))
                conn.execute(
                    insert(key_versions).values(
                        key_id=key.key_id,
                        version=key.current_version,
                        wrapped_material=wrapped_material,
                        create_time=key.create_time,
                    )
                )
                if key.tags:
                    conn.execute(
                        insert(key_tags),
                        [{"key_id": key.key_id, "tag_key": t.key, "tag_value": t.value} for t in key.tags],
                    )
                self._log(conn, "key", key.key_id)
        except IntegrityError as exc:
            raise AliasTaken(key.alias) from exc

    def get_key(self, key_id: str) -> Key | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(keys).where(keys.c.key_id == key_id)).first()
            if row is None:
                return None
            return _key_from_row(row, self._tags_of(conn, [key_id]).get(key_id, ()))

    def get_wrapped_version(self, key_id: str, version: int) -> bytes | None:
        with self._engine.connect() as conn:
            found: bytes | None = conn.execute(
                select(key_versions.c.wrapped_material).where(
                    key_versions.c.key_id == key_id, key_versions.c.version == version
                )
            ).scalar_one_or_none()
            return found

    def update_keys(self, updates: Sequence[tuple[Key, KeyState]]) -> bool:
        try:
            with self._write() as conn:
                for key, expected in updates:
                    result = conn.execute(
                        update(keys)
                        .where(keys.c.key_id == key.key_id, keys.c.state == expected.value)
                        .values(
                            alias=key.alias,
                            description=key.description,
                            state=key.state.value,
                            deletion_date=key.deletion_date,
                        )
                    )
                    if result.rowcount != 1:
                        raise _StateMoved
                    self._log(conn, "key", key.key_id)
        except _StateMoved:
            return False
        except IntegrityError as exc:
            raise AliasTaken(updates[0][0].alias) from exc
        return True

    def list_keys(self, query: KeyQuery) -> tuple[int, list[Key]]:
        conditions: list[Any] = [keys.c.account == query.account, keys.c.region == query.region]
        if query.states is not None:
            conditions.append(keys.c.state.in_([s.value for s in query.states]))
        if query.usages is not None:
            conditions.append(keys.c.key_usage.in_([u.value for u in query.usages]))
        if query.origin is not None:
            conditions.append(keys.c.origin == query.origin.value)
        if query.search:
            pattern = "%" + query.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conditions.append(or_(keys.c.alias.like(pattern, escape="\\"), keys.c.key_id.like(pattern, escape="\\")))
        for tag_key, tag_values in query.tag_filters:
            tagged = select(key_tags.c.key_id).where(key_tags.c.tag_key == tag_key)
            if tag_values:
                tagged = tagged.where(key_tags.c.tag_value.in_(tag_values))
            conditions.append(keys.c.key_id.in_(tagged))
        where = and_(*conditions)
        order = keys.c.create_time.desc() if query.newest_first else keys.c.create_time.asc()
        tiebreak = keys.c.key_id.desc() if query.newest_first else keys.c.key_id.asc()
        with self._engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(keys).where(where)).scalar_one()
            rows = conn.execute(
                select(keys).where(where).order_by(order, tiebreak).offset(query.offset).limit(query.limit)
            ).all()
            tags = self._tags_of(conn, [r.key_id for r in rows])
        return total, [_key_from_row(r, tags.get(r.key_id, ())) for r in rows]

    def count_keys(self, account: str) -> int:
        with self._engine.connect() as conn:
            count: int = conn.execute(
                select(func.count()).select_from(keys).where(keys.c.account == account)
            ).scalar_one()
            return count

    def due_deletions(self, now: int) -> list[str]:
        with self._engine.connect() as conn:
            return list(
                conn.execute(
                    select(keys.c.key_id).where(
                        keys.c.state == KeyState.PENDING_DELETE.value, keys.c.deletion_date <= now
                    )
                ).scalars()
            )

    def purge_key(self, key_id: str, now: int) -> bool:
        with self._write() as conn:
            due = conn.execute(
                select(keys.c.key_id).where(
                    keys.c.key_id == key_id,
                    keys.c.state == KeyState.PENDING_DELETE.value,
                    keys.c.deletion_date <= now,
                )
            ).first()
            if due is None:
                return False
            conn.execute(delete(key_versions).where(key_versions.c.key_id == key_id))
            conn.execute(delete(key_tags).where(key_tags.c.key_id == key_id))
            conn.execute(delete(keys).where(keys.c.key_id == key_id))
            self._log(conn, "key", key_id)
        return True

    def _tags_of(self, conn: Connection, key_ids: list[str]) -> dict[str, tuple[Tag, ...]]:
        if not key_ids:
            return {}
        found: dict[str, list[Tag]] = {}
        rows = conn.execute(select(key_tags).where(key_tags.c.key_id.in_(key_ids)).order_by(key_tags.c.tag_key))
        for row in rows:
            found.setdefault(row.key_id, []).append(Tag(row.tag_key, row.tag_value))
        return {k: tuple(v) for k, v in found.items()}

    # Credentials

    def insert_credential(self, credential: Credential, wrapped_secret: bytes) -> None:
        with self._write() as conn:
            conn.execute(
                insert(credentials).values(
                    secret_id=credential.secret_id,
                    account=credential.account,
                    wrapped_secret=wrapped_secret,
                    create_time=credential.create_time,
                )
            )
            self._log(conn, "credential", credential.secret_id)

    def get_credential(self, secret_id: str) -> tuple[Credential, bytes] | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(credentials).where(credentials.c.secret_id == secret_id)).first()
        if row is None:
            return None
        return Credential(row.secret_id, row.account, row.create_time), row.wrapped_secret

    def list_credentials(self) -> list[Credential]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(credentials).order_by(credentials.c.create_time, credentials.c.secret_id))
            return [Credential(r.secret_id, r.account, r.create_time) for r in rows]

    def delete_credential(self, secret_id: str) -> bool:
        with self._write() as conn:
            deleted = conn.execute(delete(credentials).where(credentials.c.secret_id == secret_id)).rowcount
            if deleted:
                self._log(conn, "credential", secret_id)
        return bool(deleted)

    # Change notification between processes

    def poll_changes(self) -> list[Change]:
        if not self._changed_elsewhere():
            return []
        with self._poll_lock, self._engine.connect() as conn:
            oldest = conn.execute(select(func.min(change_log.c.seq))).scalar_one()
            rows = conn.execute(
                select(change_log.c.seq, change_log.c.kind, change_log.c.ref)
                .where(change_log.c.seq > self._last_seq)
                .order_by(change_log.c.seq)
            ).all()
            missed = oldest is not None and oldest > self._last_seq + 1
            if rows:
                self._last_seq = rows[-1].seq
        changes = [Change(r.kind, r.ref) for r in rows]
        return [FLUSH_ALL, *changes] if missed else changes

    def prune_changes(self, older_than: int) -> None:
        with self._write() as conn:
            newest = conn.execute(select(func.max(change_log.c.seq))).scalar_one()
            # Keep the newest row so the sequence never restarts and gaps stay detectable.
            conn.execute(delete(change_log).where(change_log.c.at < older_than, change_log.c.seq != newest))

    def close(self) -> None:
        self._engine.dispose()


def _key_row(key: Key) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "account": key.account,
        "region": key.region,
        "alias": key.alias,
        "description": key.description,
        "key_usage": key.usage.value,
        "origin": key.origin.value,
        "state": key.state.value,
        "create_time": key.create_time,
        "deletion_date": key.deletion_date,
        "current_version": key.current_version,
    }


def _key_from_row(row: Row[Any], tags: tuple[Tag, ...]) -> Key:
    return Key(
        key_id=row.key_id,
        account=row.account,
        region=row.region,
        alias=row.alias,
        description=row.description,
        usage=KeyUsage(row.key_usage),
        origin=Origin(row.origin),
        state=KeyState(row.state),
        create_time=row.create_time,
        deletion_date=row.deletion_date,
        current_version=row.current_version,
        tags=tags,
    )
