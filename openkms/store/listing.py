"""What listings of every kind of key share: a page of rows with the total, their tags in one query,
and tag filters (a key matches when it carries each filter's tag key, with one of its values if any)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Table, and_, func, select

from openkms.domain.models import Tag
from openkms.store.sql_base import tagged_with

TagFilters = Sequence[tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Listed:
    """One kind of key as listings see it: its table, the id column, its tag table."""

    table: Table
    id: str
    tags: Table

    def tag_conditions(self, filters: TagFilters) -> list[Any]:
        tags = self.tags
        return [
            self.table.c[self.id].in_(tagged_with(tags.c[self.id], tags.c.tag_key, tags.c.tag_value, key, values))
            for key, values in filters
        ]

    def tags_of(self, conn: Connection, ids: list[str]) -> dict[str, tuple[Tag, ...]]:
        if not ids:
            return {}
        found: dict[str, list[Tag]] = {}
        id_column = self.tags.c[self.id]
        rows = conn.execute(select(self.tags).where(id_column.in_(ids)).order_by(self.tags.c.tag_key))
        for row in rows:
            found.setdefault(row._mapping[self.id], []).append(Tag(row.tag_key, row.tag_value))
        return {k: tuple(v) for k, v in found.items()}

    def page(
        self, conn: Connection, conditions: list[Any], newest_first: bool, offset: int, limit: int | None
    ) -> tuple[int, list[Row[Any]], dict[str, tuple[Tag, ...]]]:
        """(how many rows match, the page of them ordered by creation, their tags); limit None: all."""
        where = and_(*conditions)
        order = (self.table.c.create_time, self.table.c[self.id])
        ordering = [c.desc() for c in order] if newest_first else [c.asc() for c in order]
        total = conn.execute(select(func.count()).select_from(self.table).where(where)).scalar_one()
        query = select(self.table).where(where).order_by(*ordering).offset(offset)
        rows = list(conn.execute(query.limit(limit) if limit is not None else query).all())
        return total, rows, self.tags_of(conn, [row._mapping[self.id] for row in rows])
