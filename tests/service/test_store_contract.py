"""The key store contract, run against every store implementation."""

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from openkms.models import Credential, Key, KeyQuery, KeyState, KeyUsage, Origin, Tag
from openkms.store.base import FLUSH_ALL, AliasTaken
from openkms.store.sql import SqlStore
from openkms.store.sqlite import open_sqlite_store

NOW = 1_800_000_000
StoreFactory = Callable[[], SqlStore]


@pytest.fixture(params=["sqlite"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores on one shared database, as separate server processes would."""
    opened: list[SqlStore] = []

    def factory() -> SqlStore:
        store = open_sqlite_store(tmp_path / "store.db", lambda: NOW)
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()


def make_key(n: int, **changes: object) -> Key:
    key = Key(
        key_id=f"00000000-0000-4000-8000-{n:012d}",
        account="1",
        region="r",
        alias=f"alias-{n}",
        description="",
        usage=KeyUsage.ENCRYPT_DECRYPT,
        origin=Origin.TENCENT_KMS,
        state=KeyState.ENABLED,
        create_time=NOW + n,
    )
    return replace(key, **changes)  # type: ignore[arg-type]


def test_keys_round_trip_with_tags(open_store: StoreFactory) -> None:
    store = open_store()
    key = make_key(1, tags=(Tag("a", "1"), Tag("b", "2")))
    store.insert_key(key, b"wrapped")
    assert store.get_key(key.key_id) == key
    assert store.get_wrapped_version(key.key_id, 1) == b"wrapped"
    assert store.get_wrapped_version(key.key_id, 2) is None
    assert store.get_key("00000000-0000-4000-8000-999999999999") is None


def test_alias_is_unique_per_account_and_region(open_store: StoreFactory) -> None:
    store = open_store()
    store.insert_key(make_key(1), b"w")
    with pytest.raises(AliasTaken):
        store.insert_key(make_key(2, alias="alias-1"), b"w")
    assert store.get_key(make_key(2).key_id) is None, "a refused insert leaves nothing behind"
    store.insert_key(make_key(3, alias="alias-1", account="2"), b"w")
    store.insert_key(make_key(4, alias="alias-1", region="other"), b"w")
    store.insert_key(make_key(5), b"w")
    with pytest.raises(AliasTaken):
        store.update_keys([(make_key(5, alias="alias-1"), KeyState.ENABLED)])


def test_updates_are_compare_and_set_and_all_or_nothing(open_store: StoreFactory) -> None:
    store = open_store()
    first, second = make_key(1), make_key(2)
    store.insert_key(first, b"w")
    store.insert_key(second, b"w")
    disabled = [
        (replace(first, state=KeyState.DISABLED), KeyState.ENABLED),
        (replace(second, state=KeyState.DISABLED), KeyState.DISABLED),
    ]
    assert store.update_keys(disabled) is False
    assert store.get_key(first.key_id) == first, "nothing written when one state moved on"
    assert store.update_keys([(replace(first, state=KeyState.DISABLED, description="d"), KeyState.ENABLED)])
    assert store.get_key(first.key_id) == replace(first, state=KeyState.DISABLED, description="d")


def test_listing_filters_and_pages(open_store: StoreFactory) -> None:
    store = open_store()
    for n in range(5):
        store.insert_key(
            make_key(n, state=KeyState.DISABLED if n % 2 else KeyState.ENABLED, tags=(Tag("team", f"t{n % 3}"),)), b"w"
        )
    store.insert_key(make_key(9, account="2"), b"w")
    total, page = store.list_keys(KeyQuery("1", "r", offset=1, limit=2))
    assert total == 5
    assert [k.alias for k in page] == ["alias-3", "alias-2"]
    total, page = store.list_keys(KeyQuery("1", "r", states=frozenset({KeyState.DISABLED}), newest_first=False))
    assert [k.alias for k in page] == ["alias-1", "alias-3"]
    total, _ = store.list_keys(KeyQuery("1", "r", search="alias-4"))
    assert total == 1
    total, _ = store.list_keys(KeyQuery("1", "r", search="%"))
    assert total == 0, "LIKE wildcards in a search are literal"
    total, page = store.list_keys(KeyQuery("1", "r", tag_filters=(("team", ("t0",)),)))
    assert {k.alias for k in page} == {"alias-0", "alias-3"}
    assert store.count_keys("1") == 5


def test_purge_only_due_pending_delete_keys(open_store: StoreFactory) -> None:
    store = open_store()
    store.insert_key(make_key(1, state=KeyState.PENDING_DELETE, deletion_date=NOW + 10, tags=(Tag("a", "b"),)), b"w")
    store.insert_key(make_key(2, state=KeyState.DISABLED, deletion_date=0), b"w")
    assert store.due_deletions(NOW + 9) == []
    assert store.purge_key(make_key(1).key_id, NOW + 9) is False
    assert store.due_deletions(NOW + 10) == [make_key(1).key_id]
    assert store.purge_key(make_key(1).key_id, NOW + 10) is True
    assert store.get_key(make_key(1).key_id) is None
    assert store.get_wrapped_version(make_key(1).key_id, 1) is None
    assert store.purge_key(make_key(2).key_id, NOW + 10) is False


def test_credentials(open_store: StoreFactory) -> None:
    store = open_store()
    credential = Credential("AKIDx", "1", NOW)
    store.insert_credential(credential, b"wrapped-secret")
    assert store.get_credential("AKIDx") == (credential, b"wrapped-secret")
    assert store.list_credentials() == [credential]
    assert store.delete_credential("AKIDx") is True
    assert store.delete_credential("AKIDx") is False
    assert store.get_credential("AKIDx") is None


def test_another_process_sees_each_change(open_store: StoreFactory) -> None:
    writer, reader = open_store(), open_store()
    reader.poll_changes()
    assert reader.poll_changes() == []
    writer.insert_key(make_key(1), b"w")
    writer.update_keys([(make_key(1, state=KeyState.DISABLED), KeyState.ENABLED)])
    writer.insert_credential(Credential("AKIDy", "1", NOW), b"s")
    changes = reader.poll_changes()
    assert [(c.kind, c.ref) for c in changes] == [
        ("key", make_key(1).key_id),
        ("key", make_key(1).key_id),
        ("credential", "AKIDy"),
    ]
    assert reader.poll_changes() == []


def test_a_reader_that_fell_behind_pruning_flushes_everything(open_store: StoreFactory) -> None:
    writer, reader = open_store(), open_store()
    reader.poll_changes()
    for n in range(3):
        writer.insert_key(make_key(n), b"w")
    writer.prune_changes(older_than=NOW + 1)
    assert reader.poll_changes()[0] == FLUSH_ALL
