"""KMS-hosted data keys and their tags in SQL."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, delete, func, insert, select, union, update
from sqlalchemy.exc import IntegrityError

from openkms.domain.models import ChangeKind, DataKey, DataKeyQuery, DataKeyState, Origin, Tag
from openkms.store.base import AliasTaken, DataKeyWrite
from openkms.store.listing import Listed
from openkms.store.schema import data_key_tags, data_keys, key_tags, keys, whitebox_key_tags, whitebox_keys
from openkms.store.sql_base import SqlBase, StateMoved, like_any

LISTED_DATA_KEYS = Listed(data_keys, "data_key_id", data_key_tags)


class SqlDataKeys(SqlBase):
    def insert_data_key(self, data_key: DataKey) -> None:
        try:
            with self._write() as conn:
                conn.execute(insert(data_keys), _row(data_key))
                if data_key.tags:
                    conn.execute(
                        insert(data_key_tags),
                        [
                            {"data_key_id": data_key.data_key_id, "tag_key": t.key, "tag_value": t.value}
                            for t in data_key.tags
                        ],
                    )
                self._log(conn, ChangeKind.DATA_KEY, data_key.data_key_id)
        except IntegrityError as exc:
            raise AliasTaken(data_key.name) from exc

    def get_data_key(self, data_key_id: str) -> DataKey | None:
        with self._read() as conn:
            row = conn.execute(select(data_keys).where(data_keys.c.data_key_id == data_key_id)).first()
            if row is None:
                return None
            return _from_row(row, LISTED_DATA_KEYS.tags_of(conn, [data_key_id]).get(data_key_id, ()))

    def update_data_keys(self, writes: Sequence[DataKeyWrite]) -> bool:
        try:
            with self._write() as conn:
                for write in writes:
                    dk = write.data_key
                    result = conn.execute(
                        update(data_keys)
                        .where(
                            data_keys.c.data_key_id == dk.data_key_id,
                            data_keys.c.revision == write.expected_revision,
                        )
                        .values(
                            name=dk.name,
                            description=dk.description,
                            state=dk.state.value,
                            deletion_date=dk.deletion_date,
                            revision=write.expected_revision + 1,
                        )
                    )
                    if result.rowcount != 1:
                        raise StateMoved
                    self._log(conn, ChangeKind.DATA_KEY, dk.data_key_id)
        except StateMoved:
            return False
        except IntegrityError as exc:
            raise AliasTaken(writes[0].data_key.name) from exc
        return True

    def list_data_keys(self, query: DataKeyQuery) -> tuple[int, list[DataKey]]:
        conditions: list[Any] = [data_keys.c.account == query.account, data_keys.c.region == query.region]
        if query.states is not None:
            conditions.append(data_keys.c.state.in_([s.value for s in query.states]))
        if query.origin is not None:
            conditions.append(data_keys.c.origin == query.origin.value)
        if query.search:
            conditions.append(like_any(query.search, data_keys.c.name, data_keys.c.data_key_id))
        if query.key_id:
            conditions.append(data_keys.c.key_id == query.key_id)
        if query.number_of_bytes:
            conditions.append(data_keys.c.number_of_bytes == query.number_of_bytes)
        conditions += LISTED_DATA_KEYS.tag_conditions(query.tag_filters)
        with self._read() as conn:
            total, rows, tags = LISTED_DATA_KEYS.page(conn, conditions, query.newest_first, query.offset, query.limit)
        return total, [_from_row(r, tags.get(r.data_key_id, ())) for r in rows]

    def count_data_keys(self, account: str, region: str, up_to: int | None = None) -> int:
        live = (
            data_keys.c.account == account,
            data_keys.c.region == region,
            data_keys.c.state != DataKeyState.PENDING_DELETE.value,
        )
        counted = select(data_keys.c.data_key_id).where(*live).limit(up_to).subquery()
        with self._read() as conn:
            count: int = conn.execute(select(func.count()).select_from(counted)).scalar_one()
            return count

    def tag_keys_in_use(self, account: str, region: str) -> set[str]:
        on_keys = (
            select(key_tags.c.tag_key)
            .join(keys, keys.c.key_id == key_tags.c.key_id)
            .where(keys.c.account == account, keys.c.region == region)
        )
        on_data_keys = (
            select(data_key_tags.c.tag_key)
            .join(data_keys, data_keys.c.data_key_id == data_key_tags.c.data_key_id)
            .where(data_keys.c.account == account, data_keys.c.region == region)
        )
        on_whitebox_keys = (
            select(whitebox_key_tags.c.tag_key)
            .join(whitebox_keys, whitebox_keys.c.key_id == whitebox_key_tags.c.key_id)
            .where(whitebox_keys.c.account == account, whitebox_keys.c.region == region)
        )
        with self._read() as conn:
            return set(conn.execute(union(on_keys, on_data_keys, on_whitebox_keys)).scalars())

    def due_data_key_deletions(self, now: int) -> list[str]:
        with self._read() as conn:
            return list(
                conn.execute(
                    select(data_keys.c.data_key_id).where(
                        data_keys.c.state == DataKeyState.PENDING_DELETE.value, data_keys.c.deletion_date <= now
                    )
                ).scalars()
            )

    def purge_data_key(self, data_key_id: str, now: int) -> bool:
        with self._write() as conn:
            deleted = conn.execute(
                delete(data_keys).where(
                    data_keys.c.data_key_id == data_key_id,
                    data_keys.c.state == DataKeyState.PENDING_DELETE.value,
                    data_keys.c.deletion_date <= now,
                )
            ).rowcount
            if deleted:
                conn.execute(delete(data_key_tags).where(data_key_tags.c.data_key_id == data_key_id))
                self._log(conn, ChangeKind.DATA_KEY, data_key_id)
        return bool(deleted)


def _row(dk: DataKey) -> dict[str, Any]:
    return {
        "data_key_id": dk.data_key_id,
        "account": dk.account,
        "region": dk.region,
        "key_id": dk.key_id,
        "name": dk.name,
        "description": dk.description,
        "state": dk.state.value,
        "number_of_bytes": dk.number_of_bytes,
        "origin": dk.origin.value,
        "create_time": dk.create_time,
        "deletion_date": dk.deletion_date,
        "blob": dk.blob,
        "context": dk.context,
        "revision": dk.revision,
    }


def _from_row(row: Row[Any], tags: tuple[Tag, ...]) -> DataKey:
    return DataKey(
        data_key_id=row.data_key_id,
        account=row.account,
        region=row.region,
        key_id=row.key_id,
        name=row.name,
        description=row.description,
        state=DataKeyState(row.state),
        number_of_bytes=row.number_of_bytes,
        origin=Origin(row.origin),
        create_time=row.create_time,
        blob=row.blob,
        context=row.context,
        deletion_date=row.deletion_date,
        tags=tags,
        revision=row.revision,
    )
