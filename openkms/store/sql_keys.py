"""Customer master keys, their versions, tags and import tokens in SQL."""

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from openkms.domain.models import (
    ChangeKind,
    CloudResource,
    ImportToken,
    Key,
    KeyQuery,
    KeyState,
    KeyUsage,
    KeyVersion,
    Origin,
    Rotation,
    SymmetricCipher,
    Tag,
)
from openkms.store.base import AliasTaken, KeyWrite
from openkms.store.listing import Listed
from openkms.store.schema import cloud_resource_bindings, import_tokens, key_tags, key_versions, keys
from openkms.store.sql_base import SqlBase, StateMoved, like_any

_LOAD_KEY = (
    select(keys, key_versions.c.version, key_versions.c.bound_material)
    .select_from(keys.outerjoin(key_versions, key_versions.c.key_id == keys.c.key_id))
    .where(keys.c.key_id == bindparam("key_id"))
)
_KEY_COLUMNS = tuple(column.name for column in keys.columns)
_PAGE_OF_KEY_IDS = (
    select(keys.c.key_id).where(keys.c.key_id > bindparam("after")).order_by(keys.c.key_id).limit(bindparam("limit"))
).scalar_subquery()
_LOAD_KEY_PAGE = (
    select(keys, key_versions.c.version, key_versions.c.bound_material)
    .select_from(keys.outerjoin(key_versions, key_versions.c.key_id == keys.c.key_id))
    .where(keys.c.key_id.in_(_PAGE_OF_KEY_IDS))
    .order_by(keys.c.key_id)
)


LISTED_KEYS = Listed(keys, "key_id", key_tags)


class SqlKeys(SqlBase):
    def insert_key(self, key: Key, wrapped_material: bytes | None) -> None:
        def insert_rows(conn: Connection) -> None:
            # Rows passed as parameters, not .values(): the statement is then compiled once and cached.
            conn.execute(insert(keys), key_row(key))
            if wrapped_material is not None:
                conn.execute(
                    insert(key_versions),
                    {
                        "key_id": key.key_id,
                        "version": key.current_version,
                        "bound_material": wrapped_material,
                        "create_time": key.create_time,
                    },
                )
            if key.tags:
                conn.execute(
                    insert(key_tags),
                    [{"key_id": key.key_id, "tag_key": t.key, "tag_value": t.value} for t in key.tags],
                )
            self._log(conn, ChangeKind.KEY, key.key_id)

        try:
            self._write_grouped(insert_rows)
        except IntegrityError as exc:
            raise AliasTaken(key.alias) from exc

    def get_key(self, key_id: str) -> Key | None:
        with self._read() as conn:
            row = conn.execute(select(keys).where(keys.c.key_id == key_id)).first()
            if row is None:
                return None
            return _key_from_row(row, LISTED_KEYS.tags_of(conn, [key_id]).get(key_id, ()))

    def load_key(self, key_id: str) -> tuple[Key, dict[int, bytes]] | None:
        # Every first use of a key comes here (a cache miss on the request path), so the statement is
        # compiled once and run on a plain driver connection: a tenth of SQLAlchemy's cost per call.
        loaded = _keys_with_versions(self._raw_read(_LOAD_KEY, {"key_id": key_id}))
        return loaded[0] if loaded else None

    def load_keys_after(self, after: str, limit: int) -> list[tuple[Key, dict[int, bytes]]]:
        """The next `limit` keys by id after `after` ("" for the first), as load_key gives them."""
        return _keys_with_versions(self._raw_read(_LOAD_KEY_PAGE, {"after": after, "limit": limit}))

    def get_wrapped_version(self, key_id: str, version: int) -> bytes | None:
        with self._read() as conn:
            found: bytes | None = conn.execute(
                select(key_versions.c.bound_material).where(
                    key_versions.c.key_id == key_id, key_versions.c.version == version
                )
            ).scalar_one_or_none()
            return found

    def update_keys(self, writes: Sequence[KeyWrite]) -> bool:
        try:
            with self._write() as conn:
                for write in writes:
                    self._apply(conn, write)
        except StateMoved:
            return False
        except IntegrityError as exc:
            raise AliasTaken(writes[0].key.alias) from exc
        return True

    def _apply(self, conn: Connection, write: KeyWrite) -> None:
        key = write.key
        row = key_row(key)
        for fixed in ("key_id", "account", "region", "key_usage", "origin", "create_time", "revision"):
            del row[fixed]
        result = conn.execute(
            update(keys)
            .where(keys.c.key_id == key.key_id, keys.c.revision == write.expected_revision)
            .values(**row, revision=write.expected_revision + 1)
        )
        if result.rowcount != 1:
            raise StateMoved
        if write.drop_material:
            conn.execute(delete(key_versions).where(key_versions.c.key_id == key.key_id))
        if write.new_version is not None:
            version, wrapped = write.new_version
            conn.execute(
                delete(key_versions).where(key_versions.c.key_id == key.key_id, key_versions.c.version == version)
            )
            conn.execute(
                insert(key_versions),
                {
                    "key_id": key.key_id,
                    "version": version,
                    "bound_material": wrapped,
                    "create_time": int(self._clock()),
                    "rotation": write.rotation.value,
                },
            )
        self._log(conn, ChangeKind.KEY, key.key_id)

    def list_keys(self, query: KeyQuery) -> tuple[int, list[Key]]:
        conditions: list[Any] = [keys.c.account == query.account, keys.c.region == query.region]
        if query.states is not None:
            conditions.append(keys.c.state.in_([s.value for s in query.states]))
        if query.usages is not None:
            conditions.append(keys.c.key_usage.in_([u.value for u in query.usages]))
        if query.origin is not None:
            conditions.append(keys.c.origin == query.origin.value)
        if query.search:
            conditions.append(like_any(query.search, keys.c.alias, keys.c.key_id))
        conditions += LISTED_KEYS.tag_conditions(query.tag_filters)
        with self._read() as conn:
            total, rows, tags = LISTED_KEYS.page(conn, conditions, query.newest_first, query.offset, query.limit)
        return total, [_key_from_row(r, tags.get(r.key_id, ())) for r in rows]

    def count_keys_by_state(self) -> dict[str, int]:
        with self._read() as conn:
            rows = conn.execute(select(keys.c.state, func.count()).group_by(keys.c.state))
            return {state: count for state, count in rows}

    def ping(self) -> None:
        with self._read() as conn:
            conn.execute(select(1))

    def count_keys(self, account: str, region: str, up_to: int | None = None) -> int:
        live = (keys.c.account == account, keys.c.region == region, keys.c.state != KeyState.PENDING_DELETE.value)
        counted = select(keys.c.key_id).where(*live).limit(up_to).subquery()
        with self._read() as conn:
            count: int = conn.execute(select(func.count()).select_from(counted)).scalar_one()
            return count

    def _ids(self, *conditions: Any) -> list[str]:
        with self._read() as conn:
            return list(conn.execute(select(keys.c.key_id).where(*conditions)).scalars())

    def due_deletions(self, now: int) -> list[str]:
        return self._ids(keys.c.state == KeyState.PENDING_DELETE.value, keys.c.deletion_date <= now)

    def due_rotations(self, now: int) -> list[str]:
        return self._ids(
            keys.c.rotation_enabled.is_(True),
            keys.c.next_rotate_time <= now,
            keys.c.state == KeyState.ENABLED.value,
        )

    def due_expirations(self, now: int) -> list[str]:
        return self._ids(
            keys.c.valid_to > 0,
            keys.c.valid_to <= now,
            keys.c.state.notin_([KeyState.PENDING_IMPORT.value, KeyState.PENDING_DELETE.value]),
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
            conn.execute(delete(import_tokens).where(import_tokens.c.key_id == key_id))
            conn.execute(delete(keys).where(keys.c.key_id == key_id))
            self._log(conn, ChangeKind.KEY, key_id)
        return True

    def key_tags(self, key_id: str) -> tuple[Tag, ...]:
        with self._read() as conn:
            return LISTED_KEYS.tags_of(conn, [key_id]).get(key_id, ())

    def retag_key(self, key_id: str, add: Sequence[Tag], remove: Sequence[str]) -> tuple[Tag, ...]:
        with self._write() as conn:
            # FOR UPDATE on PostgreSQL (SQLite writers are serial already): concurrent retags queue here.
            conn.execute(select(keys.c.key_id).where(keys.c.key_id == key_id).with_for_update())
            dropped = {*remove, *(t.key for t in add)}
            if dropped:
                conn.execute(delete(key_tags).where(key_tags.c.key_id == key_id, key_tags.c.tag_key.in_(dropped)))
            if add:
                conn.execute(
                    insert(key_tags), [{"key_id": key_id, "tag_key": t.key, "tag_value": t.value} for t in add]
                )
            self._log(conn, ChangeKind.KEY, key_id)
            return LISTED_KEYS.tags_of(conn, [key_id]).get(key_id, ())

    def key_id_of_alias(self, account: str, region: str, alias: str) -> str | None:
        with self._read() as conn:
            found: str | None = conn.execute(
                select(keys.c.key_id).where(keys.c.account == account, keys.c.region == region, keys.c.alias == alias)
            ).scalar()
            return found

    def key_versions(self, key_id: str) -> list[KeyVersion]:
        with self._read() as conn:
            rows = conn.execute(
                select(key_versions.c.version, key_versions.c.create_time, key_versions.c.rotation)
                .where(key_versions.c.key_id == key_id)
                .order_by(key_versions.c.version)
            )
            return [KeyVersion(row.version, row.create_time, Rotation(row.rotation)) for row in rows]

    def bind_cloud_resource(self, key_id: str, resource: CloudResource, now: int) -> bool:
        """Record that the resource uses the key; False if it already was (bindings are idempotent)."""
        try:
            with self._write() as conn:
                conn.execute(
                    insert(cloud_resource_bindings).values(
                        key_id=key_id, product_id=resource.product_id, resource_id=resource.resource_id, create_time=now
                    )
                )
        except IntegrityError:
            return False
        return True

    def unbind_cloud_resource(self, key_id: str, resource: CloudResource) -> bool:
        with self._write() as conn:
            deleted = conn.execute(
                delete(cloud_resource_bindings).where(
                    cloud_resource_bindings.c.key_id == key_id,
                    cloud_resource_bindings.c.product_id == resource.product_id,
                    cloud_resource_bindings.c.resource_id == resource.resource_id,
                )
            ).rowcount
        return bool(deleted)

    def cloud_resources_of(self, key_ids: Sequence[str]) -> dict[str, list[CloudResource]]:
        """The resources bound to each of the keys (keys bound to none are left out)."""
        found: dict[str, list[CloudResource]] = {}
        with self._read() as conn:
            rows = conn.execute(
                select(cloud_resource_bindings)
                .where(cloud_resource_bindings.c.key_id.in_(list(key_ids)))
                .order_by(cloud_resource_bindings.c.create_time, cloud_resource_bindings.c.product_id)
            )
            for row in rows:
                found.setdefault(row.key_id, []).append(CloudResource(row.product_id, row.resource_id))
        return found

    def insert_import_token(self, token: ImportToken) -> None:
        with self._write() as conn:
            conn.execute(
                insert(import_tokens).values(
                    token=token.token,
                    key_id=token.key_id,
                    wrapping_algorithm=token.wrapping_algorithm,
                    wrapped_private_key=token.wrapped_private_key,
                    expires_at=token.expires_at,
                    used=False,
                )
            )

    def claim_import_token(self, token: str) -> ImportToken | None:
        with self._write() as conn:
            row = conn.execute(select(import_tokens).where(import_tokens.c.token == token)).first()
            if row is None:
                return None
            if not row.used:
                conn.execute(update(import_tokens).where(import_tokens.c.token == token).values(used=True))
        return ImportToken(
            row.token, row.key_id, row.wrapping_algorithm, row.wrapped_private_key, row.expires_at, bool(row.used)
        )

    def prune_import_tokens(self, now: int) -> None:
        with self._write() as conn:
            conn.execute(delete(import_tokens).where(import_tokens.c.expires_at < now))


def key_row(key: Key) -> dict[str, Any]:
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
        "rotation_enabled": key.rotation_enabled,
        "rotate_days": key.rotate_days,
        "next_rotate_time": key.next_rotate_time,
        "last_rotate_time": key.last_rotate_time,
        "valid_to": key.valid_to,
        "wrapped_material_digest": key.wrapped_material_digest or None,
        "revision": key.revision,
        "cipher": key.cipher.value,
    }


def _keys_with_versions(rows: list[tuple[Any, ...]]) -> list[tuple[Key, dict[int, bytes]]]:
    """Keys from rows of keys outer-joined with their versions (version and material last), in order."""
    loaded: list[tuple[Key, dict[int, bytes]]] = []
    for row in rows:
        if not loaded or loaded[-1][0].key_id != row[0]:
            columns = SimpleNamespace(**dict(zip(_KEY_COLUMNS, row, strict=False)))
            loaded.append((_key_from_row(columns, ()), {}))
        if row[-2] is not None:
            loaded[-1][1][row[-2]] = bytes(row[-1])
    return loaded


def _key_from_row(row: Row[Any] | SimpleNamespace, tags: tuple[Tag, ...]) -> Key:
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
        rotation_enabled=bool(row.rotation_enabled),
        rotate_days=row.rotate_days,
        next_rotate_time=row.next_rotate_time,
        last_rotate_time=row.last_rotate_time,
        valid_to=row.valid_to,
        wrapped_material_digest=row.wrapped_material_digest or b"",
        revision=row.revision,
        cipher=SymmetricCipher(row.cipher),
    )
