"""Preloading the key cache (--key-cache-preload): every key is in memory before its first use, still
wrapped, and what other processes change afterwards is forgotten as usual."""

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from openkms.config.values import Config
from openkms.domain.clock import FixedClock
from openkms.domain.errors import KeyDisabled
from openkms.domain.models import Caller
from openkms.server.runtime import Runtime, build_runtime

CALLER = Caller("100000000001", "ap-guangzhou")
START = 1_800_000_000.0


@contextlib.contextmanager
def two_processes(data_dir: Path, key_cache_entries: int = 1_000_000) -> Iterator[tuple[Runtime, Runtime]]:
    """A writer and a server on one data folder, as two server processes would be."""
    writer = build_runtime(Config(data_dir=data_dir), FixedClock(START))
    server = build_runtime(Config(data_dir=data_dir, key_cache=key_cache_entries), FixedClock(START))
    try:
        yield writer, server
    finally:
        writer.close()
        server.close()


def test_preloaded_keys_need_no_store_read_and_stay_wrapped(tmp_path: Path) -> None:
    with two_processes(tmp_path / "data") as (writer, server):
        key_ids = [writer.keys.create(CALLER, f"preload-{n}").key_id for n in range(25)]
        assert server.ring.preload(threading.Event(), page_size=7) == 25
        cache = server.ring.cache
        assert len(cache) == 25
        assert all(not entry.materials for entry, _ in cache._entries.values()), "material unwrapped early"
        for key_id in key_ids:
            server.crypto.encrypt(CALLER, key_id, b"payload")
        assert cache.misses == 0

        writer.keys.disable(CALLER, [key_ids[3]])  # another process changes a preloaded key
        server.feed.sync()
        with pytest.raises(KeyDisabled):
            server.crypto.encrypt(CALLER, key_ids[3], b"payload")


def test_preloading_stops_when_the_cache_is_full(tmp_path: Path) -> None:
    with two_processes(tmp_path / "data", key_cache_entries=4) as (writer, server):
        for n in range(10):
            writer.keys.create(CALLER, f"preload-{n}")
        server.ring.preload(threading.Event(), page_size=3)
        assert len(server.ring.cache) == 4


def test_a_page_read_while_a_key_changed_is_not_cached_stale(tmp_path: Path) -> None:
    with two_processes(tmp_path / "data") as (writer, server):
        key_id = writer.keys.create(CALLER, "changing").key_id
        cache = server.ring.cache
        generation = cache.generation
        page = server.store.load_keys_after("", 10)  # read before the change below
        writer.keys.disable(CALLER, [key_id])
        server.feed.sync()  # the change reaches this process: the cache forgets, its generation moves
        assert cache.offer({page[0][0].key_id: object()}, generation) is False  # type: ignore[dict-item]
        assert len(cache) == 0
        server.ring.preload(threading.Event())
        with pytest.raises(KeyDisabled):
            server.crypto.encrypt(CALLER, key_id, b"payload")
