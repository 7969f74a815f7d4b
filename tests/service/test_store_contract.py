"""The key store contract, run against every store implementation."""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert

from openkms.domain.errors import GrantLimitExceeded
from openkms.domain.models import (
    Change,
    Credential,
    DataKey,
    DataKeyQuery,
    DataKeyState,
    Grant,
    ImportToken,
    Key,
    KeyQuery,
    KeyState,
    KeyUsage,
    Origin,
    SymmetricCipher,
    Tag,
)
from openkms.store.base import FLUSH_ALL, AliasTaken, DataKeyWrite, KeyWrite
from openkms.store.postgres import open_postgres_store
from openkms.store.schema import MIGRATIONS, schema_migrations
from openkms.store.sql import SqlStore
from openkms.store.sql_keys import key_row
from openkms.store.sqlite import open_sqlite_store
from tests import postgres

NOW = 1_800_000_000
StoreFactory = Callable[[], SqlStore]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Opens stores on one shared database, as separate server processes would."""
    opened: list[SqlStore] = []
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            url = stack.enter_context(postgres.fresh_schema())

            def factory() -> SqlStore:
                store = open_postgres_store(url, lambda: NOW)
                opened.append(store)
                return store

        else:

            def factory() -> SqlStore:
                store = open_sqlite_store(tmp_path / "store.db", lambda: NOW)
                opened.append(store)
                return store

        yield factory
        for store in opened:
            store.close()


def poll_until(store: SqlStore, count: int) -> list[Change]:
    """Changes another process made: at once on SQLite, within a second on PostgreSQL (NOTIFY)."""
    changes: list[Change] = []
    deadline = time.monotonic() + 2
    while len(changes) < count and time.monotonic() < deadline:
        changes += store.poll_changes()
        if len(changes) < count:
            time.sleep(0.01)
    return changes


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


def test_a_keys_cipher_round_trips(open_store: StoreFactory) -> None:
    store = open_store()
    key = make_key(1, cipher=SymmetricCipher.SM4_GCM)
    store.insert_key(key, b"wrapped")
    assert store.get_key(key.key_id) == key
    assert store.get_key(key.key_id).cipher == SymmetricCipher.SM4_GCM  # type: ignore[union-attr]


def test_a_version_1_database_gains_the_cipher_column_and_its_keys_stay_aes(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # the schema as version 1 left it: no cipher column
        MIGRATIONS[0](conn)
        conn.exec_driver_sql("ALTER TABLE keys DROP COLUMN cipher")
        schema_migrations.create(conn)
        conn.execute(insert(schema_migrations).values(version=1, applied_at=NOW))
        row = _row_without_cipher(make_key(1))
        conn.exec_driver_sql(
            f"INSERT INTO keys ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})", tuple(row.values())
        )
    engine.dispose()
    store = open_sqlite_store(path, lambda: NOW)
    try:
        assert store.get_key(make_key(1).key_id) == make_key(1)
        store.insert_key(make_key(2, cipher=SymmetricCipher.SM4_GCM), b"wrapped")
        assert store.get_key(make_key(2).key_id).cipher == SymmetricCipher.SM4_GCM  # type: ignore[union-attr]
    finally:
        store.close()


def _row_without_cipher(key: Key) -> dict[str, object]:
    row = key_row(key)
    del row["cipher"]
    return row


def test_load_key_reads_metadata_and_every_version_at_once(open_store: StoreFactory) -> None:
    store = open_store()
    key = make_key(1, tags=(Tag("a", "1"),))
    store.insert_key(key, b"v1")
    store.update_keys([KeyWrite(replace(key, current_version=2), 0, new_version=(2, b"v2"))])
    loaded = store.load_key(key.key_id)
    assert loaded is not None
    assert loaded[0] == replace(key, current_version=2, revision=1, tags=())
    assert loaded[1] == {1: b"v1", 2: b"v2"}
    external = make_key(2, origin=Origin.EXTERNAL, state=KeyState.PENDING_IMPORT)
    store.insert_key(external, None)
    assert store.load_key(external.key_id) == (external, {})
    assert store.load_key(make_key(3).key_id) is None


def test_keys_are_read_in_pages_by_id_with_every_version(open_store: StoreFactory) -> None:
    store = open_store()
    for n in (3, 1, 2, 5, 4):
        store.insert_key(make_key(n), f"w{n}".encode())
    store.insert_key(make_key(6, origin=Origin.EXTERNAL, state=KeyState.PENDING_IMPORT), None)
    first = store.load_keys_after("", 4)
    rest = store.load_keys_after(first[-1][0].key_id, 4)
    assert [key.key_id for key, _ in first + rest] == [make_key(n).key_id for n in range(1, 7)]
    assert first[0] == store.load_key(make_key(1).key_id)
    assert rest[-1] == (make_key(6, origin=Origin.EXTERNAL, state=KeyState.PENDING_IMPORT), {})
    assert store.load_keys_after(rest[-1][0].key_id, 4) == []


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
        store.update_keys([KeyWrite(make_key(5, alias="alias-1"), 0)])


def test_concurrent_inserts_share_commits_yet_fail_alone(open_store: StoreFactory) -> None:
    """Concurrent CreateKeys of a process are written in shared transactions (group commit); a unit
    that fails (its alias taken by a unit of the same transaction) must not take the others with it."""
    store = open_store()
    keys = [make_key(n) for n in range(40)] + [make_key(n + 100, alias=f"alias-{n}") for n in range(0, 40, 8)]
    outcomes: dict[str, str] = {}
    start = threading.Barrier(len(keys))

    def insert(key: Key) -> None:
        start.wait()
        try:
            store.insert_key(key, b"w")
            outcomes[key.key_id] = "stored"
        except AliasTaken:
            outcomes[key.key_id] = "alias taken"

    threads = [threading.Thread(target=insert, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n in range(40):
        rival = outcomes.get(make_key(n + 100).key_id)
        if rival is None:
            assert outcomes[make_key(n).key_id] == "stored"
        else:  # exactly one of the two keys that wanted alias-n has it
            assert sorted([outcomes[make_key(n).key_id], rival]) == ["alias taken", "stored"]
    for key_id, outcome in outcomes.items():
        assert (store.load_key(key_id) is not None) == (outcome == "stored")


def test_updates_are_compare_and_set_and_all_or_nothing(open_store: StoreFactory) -> None:
    store = open_store()
    first, second = make_key(1), make_key(2)
    store.insert_key(first, b"w")
    store.insert_key(second, b"w")
    assert store.update_keys([KeyWrite(replace(second, description="moved on"), 0)])
    both = [KeyWrite(replace(first, state=KeyState.DISABLED), 0), KeyWrite(replace(second, state=KeyState.DISABLED), 0)]
    assert store.update_keys(both) is False
    assert store.get_key(first.key_id) == first, "nothing written when one revision moved on"
    assert store.update_keys([KeyWrite(replace(first, state=KeyState.DISABLED, description="d"), 0)])
    assert store.get_key(first.key_id) == replace(first, state=KeyState.DISABLED, description="d", revision=1)


def test_versions_are_added_and_dropped_with_the_key_write(open_store: StoreFactory) -> None:
    store = open_store()
    key = make_key(1)
    store.insert_key(key, b"v1")
    rotated = replace(key, current_version=2, last_rotate_time=NOW)
    assert store.update_keys([KeyWrite(rotated, 0, new_version=(2, b"v2"))])
    assert not store.update_keys([KeyWrite(replace(key, current_version=2), 0, new_version=(2, b"again"))])
    assert store.get_wrapped_version(key.key_id, 2) == b"v2"
    assert store.get_wrapped_version(key.key_id, 1) == b"v1"
    assert store.get_key(key.key_id) == replace(rotated, revision=1)
    assert store.update_keys([KeyWrite(replace(rotated, state=KeyState.PENDING_IMPORT), 1, drop_material=True)])
    assert store.get_wrapped_version(key.key_id, 1) is None
    assert store.get_wrapped_version(key.key_id, 2) is None


def test_keys_without_material(open_store: StoreFactory) -> None:
    store = open_store()
    external = make_key(1, origin=Origin.EXTERNAL, state=KeyState.PENDING_IMPORT)
    store.insert_key(external, None)
    assert store.get_wrapped_version(external.key_id, 1) is None
    imported = replace(external, state=KeyState.ENABLED, valid_to=NOW + 5, wrapped_material_digest=b"digest")
    assert store.update_keys([KeyWrite(imported, 0, new_version=(1, b"material"))])
    assert store.get_wrapped_version(external.key_id, 1) == b"material"
    assert store.get_key(external.key_id) == replace(imported, revision=1)
    assert store.due_expirations(NOW + 4) == []
    assert store.due_expirations(NOW + 5) == [external.key_id]


def test_due_rotations(open_store: StoreFactory) -> None:
    store = open_store()
    store.insert_key(make_key(1, rotation_enabled=True, rotate_days=7, next_rotate_time=NOW + 10), b"w")
    store.insert_key(
        make_key(2, rotation_enabled=True, rotate_days=7, next_rotate_time=NOW + 10, state=KeyState.DISABLED), b"w"
    )
    store.insert_key(make_key(3, rotation_enabled=False, next_rotate_time=0), b"w")
    assert store.due_rotations(NOW + 9) == []
    assert store.due_rotations(NOW + 10) == [make_key(1).key_id]


def test_import_tokens_are_claimed_once(open_store: StoreFactory) -> None:
    store = open_store()
    store.insert_import_token(ImportToken("t1", make_key(1).key_id, "RSAES_OAEP_SHA_256", b"private", NOW + 10))
    first = store.claim_import_token("t1")
    assert first is not None and not first.used and first.wrapped_private_key == b"private"
    second = store.claim_import_token("t1")
    assert second is not None and second.used
    assert store.claim_import_token("unknown") is None
    store.prune_import_tokens(NOW + 11)
    assert store.claim_import_token("t1") is None


def make_data_key(n: int, **changes: object) -> DataKey:
    data_key = DataKey(
        data_key_id=f"00000000-0000-4000-9000-{n:012d}",
        account="1",
        region="r",
        key_id=make_key(1).key_id,
        name=f"dk-{n}",
        description="",
        state=DataKeyState.ENABLED,
        number_of_bytes=32,
        origin=Origin.TENCENT_KMS,
        create_time=NOW + n,
        blob=b"blob",
        context='{"a":"b"}',
    )
    return replace(data_key, **changes)  # type: ignore[arg-type]


def test_data_keys(open_store: StoreFactory) -> None:
    store = open_store()
    first = make_data_key(1, tags=(Tag("team", "a"),))
    store.insert_data_key(first)
    store.insert_data_key(make_data_key(2, number_of_bytes=16))
    assert store.get_data_key(first.data_key_id) == first
    with pytest.raises(AliasTaken):
        store.insert_data_key(make_data_key(3, name="dk-1"))
    assert store.update_data_keys([DataKeyWrite(replace(first, state=DataKeyState.DISABLED), 0)])
    assert not store.update_data_keys([DataKeyWrite(replace(first, description="stale"), 0)])
    total, page = store.list_data_keys(DataKeyQuery("1", "r", number_of_bytes=16))
    assert (total, [dk.name for dk in page]) == (1, ["dk-2"])
    total, page = store.list_data_keys(DataKeyQuery("1", "r", tag_filters=(("team", ("a",)),)))
    assert [dk.name for dk in page] == ["dk-1"]
    assert store.tag_keys_in_use("1", "r") == {"team"}
    assert store.count_data_keys("1", "r") == 2
    pending = replace(first, state=DataKeyState.PENDING_DELETE, deletion_date=NOW + 5)
    assert store.update_data_keys([DataKeyWrite(pending, 1)])
    assert store.count_data_keys("1", "r") == 1, "a data key pending deletion is not counted against the quota"
    assert store.count_data_keys("1", "elsewhere") == 0
    assert store.due_data_key_deletions(NOW + 5) == [first.data_key_id]
    assert store.purge_data_key(first.data_key_id, NOW + 4) is False
    assert store.purge_data_key(first.data_key_id, NOW + 5) is True
    assert store.get_data_key(first.data_key_id) is None


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
    assert store.count_keys("1", "r") == 5
    store.insert_key(make_key(7, state=KeyState.PENDING_DELETE, deletion_date=NOW + 10), b"w")
    store.insert_key(make_key(8, region="elsewhere"), b"w")
    assert store.count_keys("1", "r") == 5, "keys pending deletion and other regions' are not counted"
    assert store.count_keys("1", "r", up_to=3) == 3


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


def test_grants_are_kept_per_key_named_ones_once_and_go_with_their_key(open_store: StoreFactory) -> None:
    store = open_store()
    key = make_key(1, state=KeyState.PENDING_DELETE, deletion_date=NOW)
    store.insert_key(key, b"w")
    grant = Grant("g1", key.key_id, "1", "AKIDa", ("Encrypt",), NOW, name="app", retiring="AKIDr",
                  context_subset={"tenant": "acme"})  # fmt: skip
    assert store.insert_grant(grant, limit=2) == grant
    assert store.insert_grant(replace(grant, grant_id="g2"), limit=2) == grant  # same name and terms
    other = replace(grant, grant_id="g3", name="", operations=("Decrypt",), context_subset=None,
                    context_equals={"a": "b"})  # fmt: skip
    assert store.insert_grant(other, limit=2) == other
    with pytest.raises(GrantLimitExceeded):
        store.insert_grant(replace(other, grant_id="g4"), limit=2)
    assert store.grants_of_key(key.key_id) == [grant, other]
    assert store.get_grant("g3") == other and store.get_grant("g4") is None
    assert store.retirable_grants("1", ["AKIDr"]) == [grant, other]
    assert store.retirable_grants("2", ["AKIDr"]) == []
    assert store.delete_grant(key.key_id, "g3") is True and store.delete_grant(key.key_id, "g3") is False
    assert store.purge_key(key.key_id, NOW) is True
    assert store.get_grant("g1") is None


def test_credentials(open_store: StoreFactory) -> None:
    store = open_store()
    credential = Credential("AKIDx", "1", NOW)
    store.insert_credential(credential, b"wrapped-secret", b"seal of no policies")
    assert store.get_credential("AKIDx") == (credential, b"wrapped-secret")
    assert store.list_credentials() == [credential]
    assert store.delete_credential("AKIDx") is True
    assert store.delete_credential("AKIDx") is False
    assert store.get_credential("AKIDx") is None


def test_a_policy_set_is_replaced_whole_with_its_seal_only_if_it_is_still_what_was_read(
    open_store: StoreFactory,
) -> None:
    store = open_store()
    store.insert_credential(Credential("AKIDp", "7", NOW), b"wrapped-secret", b"seal of no policies")
    read = store.load_credential("AKIDp")
    assert read is not None and read.policies == ()
    assert store.replace_policies("AKIDp", (("b", "{2}"), ("a", "{1}")), b"seal of a, b", read) is True
    loaded = store.load_credential("AKIDp")
    assert loaded is not None
    assert loaded.policies == (("a", "{1}"), ("b", "{2}")) and loaded.policy_seal == b"seal of a, b"
    assert store.replace_policies("AKIDp", (), b"seal of none", read) is False, "changed since it was read"
    assert store.replace_policies("AKIDp", (("c", "{3}"),), b"seal of c", loaded) is True
    assert store.replace_policies("AKIDp", (), b"seal of none", None) is True, "unconditional"
    loaded = store.load_credential("AKIDp")
    assert loaded is not None and loaded.policies == () and loaded.policy_seal == b"seal of none"
    assert store.replace_policies("AKIDnobody", (("a", "{}"),), b"seal", None) is False
    assert store.load_credential("AKIDnobody") is None


def test_another_process_sees_each_change(open_store: StoreFactory) -> None:
    writer, reader = open_store(), open_store()
    reader.poll_changes()
    assert reader.poll_changes() == []
    writer.insert_key(make_key(1), b"w")
    writer.update_keys([KeyWrite(make_key(1, state=KeyState.DISABLED), 0)])
    writer.insert_credential(Credential("AKIDy", "1", NOW), b"s", b"seal")
    changes = [c for c in poll_until(reader, 3) if c != FLUSH_ALL]
    assert [(c.kind, c.ref) for c in changes] == [
        ("key", make_key(1).key_id),
        ("key", make_key(1).key_id),
        ("credential", "AKIDy"),
    ]
    time.sleep(0.1)
    assert reader.poll_changes() == []


def test_postgresql_pushes_changes_as_they_arrive_and_sqlite_waits_for_a_poll(open_store: StoreFactory) -> None:
    writer, reader = open_store(), open_store()
    pushed: list[Change] = []
    reader.push_changes_to(pushed.append)
    writer.insert_credential(Credential("AKIDpushed", "1", NOW), b"s", b"seal")
    deadline = time.monotonic() + 2
    while not pushed and time.monotonic() < deadline:
        time.sleep(0.01)
    if writer._engine.dialect.name == "postgresql":
        assert [(c.kind, c.ref) for c in pushed] == [("credential", "AKIDpushed")], "nobody polled"
        assert reader.poll_changes() == []
    else:
        assert pushed == []
        assert [(c.kind, c.ref) for c in reader.poll_changes() if c != FLUSH_ALL][-1:] == [("credential", "AKIDpushed")]


def test_a_reader_that_fell_behind_pruning_flushes_everything(open_store: StoreFactory) -> None:
    writer, reader = open_store(), open_store()
    if writer._engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL notifies every listener at commit; there is no log to fall behind")
    reader.poll_changes()
    for n in range(3):
        writer.insert_key(make_key(n), b"w")
    writer.prune_changes(older_than=NOW + 1)
    assert reader.poll_changes()[0] == FLUSH_ALL
