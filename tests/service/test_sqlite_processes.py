"""Several server processes on one SQLite file: how one learns that another committed (at once when the
writer is OpenKMS, through the shared commit signal; within a second when it is anything else, through
PRAGMA data_version), and how their writers take turns (WriterLock, woken the moment it is free)."""

import sqlite3
import threading
import time
from pathlib import Path

from openkms.domain.models import Credential
from openkms.store.sqlite import CommitSignal, WriterLock, open_sqlite_store

NOW = 1_800_000_000


def test_an_openkms_commit_is_seen_by_the_next_look(tmp_path: Path) -> None:
    writer = open_sqlite_store(tmp_path / "keys.db", lambda: NOW)
    reader = open_sqlite_store(tmp_path / "keys.db", lambda: NOW)
    try:
        reader.poll_changes()  # the first look also reads data_version; the next ones within a second do not
        writer.insert_credential(Credential("AKIDa", "1", NOW), b"wrapped", b"seal")
        assert [c.ref for c in reader.poll_changes()] == ["AKIDa"]
        writer.insert_credential(Credential("AKIDb", "1", NOW), b"wrapped", b"seal")
        assert [c.ref for c in reader.poll_changes()] == ["AKIDb"]
        assert reader.poll_changes() == []
    finally:
        writer.close()
        reader.close()


def test_a_commit_by_another_program_is_seen_within_the_recheck_interval(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    open_sqlite_store(path, lambda: NOW).close()
    signal = CommitSignal(path)
    signal.changed()
    assert signal.changed() is False
    with sqlite3.connect(path) as other:
        other.execute("INSERT INTO change_log (kind, ref, at) VALUES ('key', 'x', 0)")
    deadline = time.monotonic() + CommitSignal.RECHECK_SECONDS + 1
    while not signal.changed():
        assert time.monotonic() < deadline, "a foreign commit went unnoticed"
        time.sleep(0.05)


def test_a_token_written_by_another_process_is_a_change(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    open_sqlite_store(path, lambda: NOW).close()
    reader, writer = CommitSignal(path), CommitSignal(path)
    reader.changed()
    assert reader.changed() is False
    writer.announce()
    assert reader.changed() is True
    assert reader.changed() is False


def test_writers_of_two_processes_take_turns(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    first, second = WriterLock(path), WriterLock(path)  # separate opens of the lock file, as two processes
    entered = threading.Event()

    def second_writer() -> None:
        with second:
            entered.set()

    try:
        with first:
            thread = threading.Thread(target=second_writer)
            thread.start()
            assert not entered.wait(0.3), "two writers held the lock at once"
        assert entered.wait(5)
        thread.join()
    finally:
        first.close()
        second.close()
