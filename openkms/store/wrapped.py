"""Whether a store already holds wrapped secrets, read without knowing its schema version: what decides
if a missing master key may be made anew."""

from collections.abc import Iterable

from sqlalchemy import Engine, inspect


def any_wrapped_secret(engine: Engine, places: Iterable[tuple[str, str]]) -> bytes | None:
    """A value of the first (table, column) that exists and holds one, or None."""
    with engine.connect() as conn:
        inspector = inspect(conn)
        tables = set(inspector.get_table_names())
        for table, column in places:
            if table in tables and column in {c["name"] for c in inspector.get_columns(table)}:
                found = conn.exec_driver_sql(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL LIMIT 1")
                value = found.scalar()
                if value is not None:
                    return bytes(value)
    return None
