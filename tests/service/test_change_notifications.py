"""PostgreSQL change notifications wait for the next poll; an idle server does not hoard them."""

import time

import psycopg
import pytest

from openkms.domain.models import Change
from openkms.store import changes
from openkms.store.base import FLUSH_ALL
from openkms.store.changes import Notifications
from tests import postgres


def test_notifications_nobody_polls_for_collapse_into_one_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    if postgres.available():
        pytest.skip(postgres.available() or "")
    monkeypatch.setattr(changes, "MAX_PENDING_CHANGES", 5)
    channel = f"openkms_test_{time.monotonic_ns()}"
    listener = Notifications(lambda: psycopg.connect(postgres.BASE_URL, autocommit=True), channel)
    try:
        with psycopg.connect(postgres.BASE_URL, autocommit=True) as sender:
            for n in range(12):
                sender.execute("SELECT pg_notify(%s, %s)", (channel, f"key:k{n}"))
        time.sleep(1.0)  # the listener takes them in; nobody polls meanwhile
        deadline = time.monotonic() + 10
        received: list[Change] = []
        while time.monotonic() < deadline and Change("key", "k11") not in received:
            time.sleep(0.1)
            received += listener.poll()
        assert received[0] == FLUSH_ALL and len(received) <= 6, received
        assert Change("key", "k11") in received
    finally:
        listener.close()
