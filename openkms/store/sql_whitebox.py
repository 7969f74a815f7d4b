"""White-box keys, their tags and device fingerprints in SQL. Not cached by the servers (white-box
calls are rare and carry large tables), so their writes publish no changes."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from openkms.domain.models import (
    DeviceFingerprint,
    Tag,
    WhiteBoxAlgorithm,
    WhiteBoxKey,
    WhiteBoxQuery,
    WhiteBoxState,
)
from openkms.store.base import AliasTaken, WhiteBoxWrite
from openkms.store.listing import Listed
from openkms.store.schema import whitebox_fingerprints, whitebox_key_tags, whitebox_keys
from openkms.store.sql_base import SqlBase, StateMoved

LISTED_WHITEBOX_KEYS = Listed(whitebox_keys, "key_id", whitebox_key_tags)
_METADATA = [c for c in whitebox_keys.columns if c.name not in ("bound_key", "sealed_tables")]


class SqlWhiteBoxKeys(SqlBase):
    def insert_whitebox_key(self, key: WhiteBoxKey, bound_key: bytes, sealed_tables: bytes) -> None:
        row = {**_row(key), "bound_key": bound_key, "sealed_tables": sealed_tables}
        try:
            with self._write() as conn:
                conn.execute(insert(whitebox_keys), row)
                if key.tags:
                    tags = [{"key_id": key.key_id, "tag_key": t.key, "tag_value": t.value} for t in key.tags]
                    conn.execute(insert(whitebox_key_tags), tags)
        except IntegrityError as exc:
            raise AliasTaken(key.alias) from exc

    def get_whitebox_key(self, key_id: str) -> WhiteBoxKey | None:
        with self._read() as conn:
            row = conn.execute(select(*_METADATA).where(whitebox_keys.c.key_id == key_id)).first()
            if row is None:
                return None
            return _from_row(row, LISTED_WHITEBOX_KEYS.tags_of(conn, [key_id]), _bound(conn, [key_id]))

    def load_whitebox_secrets(self, key_id: str) -> tuple[bytes, bytes] | None:
        """(bound_key, sealed_tables) of a white-box key."""
        with self._read() as conn:
            row = conn.execute(
                select(whitebox_keys.c.bound_key, whitebox_keys.c.sealed_tables).where(whitebox_keys.c.key_id == key_id)
            ).first()
            return None if row is None else (row.bound_key, row.sealed_tables)

    def update_whitebox_keys(self, writes: Sequence[WhiteBoxWrite]) -> bool:
        try:
            with self._write() as conn:
                for write in writes:
                    result = conn.execute(
                        update(whitebox_keys)
                        .where(
                            whitebox_keys.c.key_id == write.key.key_id,
                            whitebox_keys.c.revision == write.expected_revision,
                        )
                        .values(state=write.key.state.value, revision=write.expected_revision + 1)
                    )
                    if result.rowcount != 1:
                        raise StateMoved
        except StateMoved:
            return False
        return True

    def delete_whitebox_key(self, key_id: str, expected_revision: int) -> bool:
        """Destroy the key, its tables, tags and fingerprints, if it is still as read."""
        with self._write() as conn:
            deleted = conn.execute(
                delete(whitebox_keys).where(
                    whitebox_keys.c.key_id == key_id, whitebox_keys.c.revision == expected_revision
                )
            ).rowcount
            if deleted:
                conn.execute(delete(whitebox_key_tags).where(whitebox_key_tags.c.key_id == key_id))
                conn.execute(delete(whitebox_fingerprints).where(whitebox_fingerprints.c.key_id == key_id))
        return bool(deleted)

    def list_whitebox_keys(self, query: WhiteBoxQuery) -> tuple[int, list[WhiteBoxKey]]:
        conditions: list[Any] = [whitebox_keys.c.account == query.account, whitebox_keys.c.region == query.region]
        if query.state is not None:
            conditions.append(whitebox_keys.c.state == query.state.value)
        conditions += LISTED_WHITEBOX_KEYS.tag_conditions(query.tag_filters)
        with self._read() as conn:
            total, rows, tags = LISTED_WHITEBOX_KEYS.page(conn, conditions, False, query.offset, query.limit)
            bound = _bound(conn, [row.key_id for row in rows])
        return total, [_from_row(row, tags, bound) for row in rows]

    def count_whitebox_keys(self, account: str, up_to: int | None = None) -> int:
        counted = select(whitebox_keys.c.key_id).where(whitebox_keys.c.account == account).limit(up_to).subquery()
        with self._read() as conn:
            count: int = conn.execute(select(func.count()).select_from(counted)).scalar_one()
            return count

    def whitebox_fingerprints(self, key_id: str) -> list[DeviceFingerprint]:
        with self._read() as conn:
            rows = conn.execute(
                select(whitebox_fingerprints)
                .where(whitebox_fingerprints.c.key_id == key_id)
                .order_by(whitebox_fingerprints.c.position)
            )
            return [DeviceFingerprint(row.identity, row.description) for row in rows]

    def replace_whitebox_fingerprints(self, key_id: str, fingerprints: Sequence[DeviceFingerprint]) -> bool:
        """Make the key's fingerprints exactly these; False if the key does not exist."""
        with self._write() as conn:
            exists = conn.execute(select(whitebox_keys.c.key_id).where(whitebox_keys.c.key_id == key_id)).first()
            if exists is None:
                return False
            conn.execute(delete(whitebox_fingerprints).where(whitebox_fingerprints.c.key_id == key_id))
            if fingerprints:
                conn.execute(
                    insert(whitebox_fingerprints),
                    [
                        {"key_id": key_id, "position": n, "identity": f.identity, "description": f.description}
                        for n, f in enumerate(fingerprints)
                    ],
                )
        return True


def _bound(conn: Connection, key_ids: list[str]) -> set[str]:
    if not key_ids:
        return set()
    query = select(whitebox_fingerprints.c.key_id).where(whitebox_fingerprints.c.key_id.in_(key_ids)).distinct()
    return set(conn.execute(query).scalars())


def _row(key: WhiteBoxKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "account": key.account,
        "region": key.region,
        "alias": key.alias,
        "description": key.description,
        "algorithm": key.algorithm.value,
        "state": key.state.value,
        "create_time": key.create_time,
        "revision": key.revision,
    }


def _from_row(row: Row[Any], tags: dict[str, tuple[Tag, ...]], bound: set[str]) -> WhiteBoxKey:
    return WhiteBoxKey(
        key_id=row.key_id,
        account=row.account,
        region=row.region,
        alias=row.alias,
        description=row.description,
        algorithm=WhiteBoxAlgorithm(row.algorithm),
        state=WhiteBoxState(row.state),
        create_time=row.create_time,
        tags=tags.get(row.key_id, ()),
        fingerprints_bound=row.key_id in bound,
        revision=row.revision,
    )
