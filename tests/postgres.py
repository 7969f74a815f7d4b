"""PostgreSQL for the tests: the machine's server (127.0.0.1:5432, database `test`), a schema per test."""

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

BASE_URL = os.environ.get("OPENKMS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@functools.cache
def available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        with psycopg.connect(BASE_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except psycopg.Error as exc:
        return f"no PostgreSQL at {BASE_URL}: {exc}"


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A store URL on a schema of its own, dropped afterwards."""
    reason = available()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield f"{BASE_URL}?schema={schema}"
    finally:
        with psycopg.connect(BASE_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
