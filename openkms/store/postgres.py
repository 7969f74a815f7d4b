"""PostgreSQL as the store for several server processes on several machines.

URL: `postgresql://user@host:port/database`, optionally `?schema=NAME` to keep OpenKMS's tables in a
schema of their own (it is created if missing). Transactions are READ COMMITTED; every write to a
key is compare-and-set on its revision, and alias and name uniqueness are the database's constraints.
"""

import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from sqlalchemy import Engine, create_engine, event

from openkms.store.changes import Notifications
from openkms.store.schema import Rebind
from openkms.store.sql import SqlStore

_SCHEMA = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def split_schema(url: str) -> tuple[str, str | None]:
    """The URL without `schema=`, and the schema it named."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query)
    schema = next((v for k, v in query if k == "schema"), None)
    if schema is not None and not _SCHEMA.fullmatch(schema):
        raise ValueError(f"schema {schema!r}: use lowercase letters, digits and _")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), schema


def _driver_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def postgres_engine(url: str) -> Engine:
    base, schema = split_schema(url)
    engine = create_engine(
        re.sub(r"^postgresql://", "postgresql+psycopg://", _driver_url(base)),
        pool_size=8,
        max_overflow=16,
        pool_pre_ping=True,
    )
    if schema:
        with psycopg.connect(_driver_url(base), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

        @event.listens_for(engine, "connect")
        def _search_path(dbapi_connection: psycopg.Connection, _record: object) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f'SET search_path TO "{schema}"')
            dbapi_connection.commit()

    return engine


def open_postgres_store(url: str, clock: Callable[[], float], rebind: Rebind | None = None) -> SqlStore:
    base, schema = split_schema(url)
    channel = f"openkms_changes_{schema or 'public'}"

    def listen() -> psycopg.Connection:
        return psycopg.connect(_driver_url(base), autocommit=True)

    return SqlStore(postgres_engine(url), lambda: Notifications(listen, channel), clock, rebind=rebind)
