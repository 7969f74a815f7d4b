"""Grants in SQL: one row each, gone with its key."""

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from openkms.domain.errors import GrantLimitExceeded
from openkms.domain.models import Grant
from openkms.store.schema import grants
from openkms.store.sql_base import SqlBase


def _grant(row: Any) -> Grant:
    constraints = json.loads(row.constraints)
    return Grant(
        grant_id=row.grant_id,
        key_id=row.key_id,
        account=row.account,
        grantee=row.grantee,
        operations=tuple(json.loads(row.operations)),
        create_time=row.create_time,
        name=row.name,
        retiring=row.retiring,
        context_subset=constraints.get("subset"),
        context_equals=constraints.get("equals"),
    )


def _constraints(grant: Grant) -> str:
    constraints = {"subset": grant.context_subset, "equals": grant.context_equals}
    return json.dumps({k: dict(v) for k, v in constraints.items() if v is not None}, sort_keys=True)


class SqlGrants(SqlBase):
    def insert_grant(self, grant: Grant, limit: int) -> Grant:
        """Store the grant; or, for a named grant, the key's grant of that name with the same terms, if
        there is one (CreateGrant is idempotent by name). GrantLimitExceeded at `limit` grants per key."""

        def insert_row(conn: Connection) -> Grant:
            if grant.name:
                for row in conn.execute(
                    select(grants).where(grants.c.key_id == grant.key_id, grants.c.name == grant.name)
                ):
                    existing = _grant(row)
                    if _same_terms(existing, grant):
                        return existing
            held = conn.execute(select(func.count()).where(grants.c.key_id == grant.key_id)).scalar_one()
            if held >= limit:
                raise GrantLimitExceeded(f"Key {grant.key_id} has {held} grants, the most a key may have.")
            conn.execute(
                insert(grants).values(
                    grant_id=grant.grant_id,
                    key_id=grant.key_id,
                    account=grant.account,
                    name=grant.name,
                    grantee=grant.grantee,
                    retiring=grant.retiring,
                    operations=json.dumps(list(grant.operations)),
                    constraints=_constraints(grant),
                    create_time=grant.create_time,
                )
            )
            return grant

        return self._write_grouped(insert_row)

    def grants_of_key(self, key_id: str) -> list[Grant]:
        with self._read() as conn:
            rows = conn.execute(
                select(grants).where(grants.c.key_id == key_id).order_by(grants.c.create_time, grants.c.grant_id)
            )
            return [_grant(row) for row in rows]

    def get_grant(self, grant_id: str) -> Grant | None:
        with self._read() as conn:
            row = conn.execute(select(grants).where(grants.c.grant_id == grant_id)).first()
        return _grant(row) if row else None

    def delete_grant(self, key_id: str, grant_id: str) -> bool:
        with self._write() as conn:
            deleted = conn.execute(
                delete(grants).where(grants.c.key_id == key_id, grants.c.grant_id == grant_id)
            ).rowcount
        return bool(deleted)

    def retirable_grants(self, account: str, principals: Sequence[str]) -> list[Grant]:
        """The account's grants that any of `principals` may retire."""
        with self._read() as conn:
            rows = conn.execute(
                select(grants)
                .where(grants.c.account == account, grants.c.retiring.in_(list(principals)))
                .order_by(grants.c.create_time, grants.c.grant_id)
            )
            return [_grant(row) for row in rows]


def _same_terms(a: Grant, b: Grant) -> bool:
    return (a.grantee, a.retiring, sorted(a.operations), _constraints(a)) == (
        b.grantee,
        b.retiring,
        sorted(b.operations),
        _constraints(b),
    )
