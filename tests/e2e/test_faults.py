"""Faults an operator meets: what OpenKMS does by itself, and what it refuses clearly (docs/operations.md)."""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
import requests

from tests import postgres
from tests.sdk import call, code_of, outcome_of
from tests.serverproc import Server, openkms_command, run_cli


def test_a_lost_master_key_is_never_replaced_by_a_new_one(fresh_server: Server) -> None:
    call(fresh_server.client(), "CreateKey", Alias="wrapped-by-the-lost-key")
    fresh_server.stop()
    master = fresh_server.data_dir / "master.key"
    master.unlink()
    refusal = fresh_server.refused_start()
    assert "master.key is missing" in refusal and "restore that file from its backup" in refusal
    assert re.search(r"master key [0-9a-f]{16,}", refusal), refusal
    assert "Traceback" not in refusal
    assert not master.exists(), "no new key was made beside the store"
    (fresh_server.data_dir / "audit.db").unlink()
    assert "master.key is missing" in fresh_server.refused_start(), "the store alone is enough to refuse"
    assert not master.exists()
    assert run_cli("credentials", "list", "--data-dir", str(fresh_server.data_dir)).returncode != 0
    assert not master.exists(), "nor does any command make one"


def test_a_new_data_folder_gets_a_new_master_key(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        assert (tmp_path / "data" / "master.key").stat().st_mode & 0o777 == 0o600
        call(server.client(), "GetRegions")
    finally:
        server.stop()


def damage_pages(database: Path, fraction_start: float = 0.4, pages: int = 3) -> None:
    """Overwrite whole pages in the middle of a SQLite file, as a failing disk would."""
    data = bytearray(database.read_bytes())
    page = 4096
    first = int(len(data) * fraction_start) // page * page
    data[first : first + pages * page] = bytes([0xA5]) * (pages * page)
    database.write_bytes(bytes(data))


def test_a_damaged_store_is_refused_at_start_in_one_line(fresh_server: Server) -> None:
    client = fresh_server.client()
    for n in range(150):
        call(client, "CreateKey", Alias=f"page-filler-{n}", Description="d" * 200)
    fresh_server.stop()
    database = fresh_server.data_dir / "openkms.db"
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage_pages(database)
    refusal = fresh_server.refused_start()
    assert f"{database} is damaged" in refusal and "restore it from a backup" in refusal
    assert "Traceback" not in refusal


def test_a_damaged_audit_log_is_refused_at_start_in_one_line(fresh_server: Server) -> None:
    client = fresh_server.client()
    for _ in range(300):
        call(client, "GenerateRandom", NumberOfBytes=4)
    fresh_server.stop()
    audit = fresh_server.data_dir / "audit.db"
    with sqlite3.connect(audit) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage_pages(audit)
    refusal = fresh_server.refused_start()
    assert f"{audit} is damaged" in refusal and "Traceback" not in refusal


def test_deleting_the_audit_log_under_a_running_server_stops_it_serving(fresh_server: Server) -> None:
    client = fresh_server.client()
    call(client, "GetRegions")
    (fresh_server.data_dir / "audit.db").unlink()
    assert code_of(client, "GetRegions") == "UnsupportedOperation.ServiceTemporaryUnavailable"
    ready = requests.get(f"http://{fresh_server.endpoint}/readyz", timeout=10)
    assert ready.status_code == 503 and "deleted or replaced" in ready.text
    time.sleep(1.5)  # the recovery probe does not take a new, empty file for the log
    assert code_of(client, "GetRegions") == "UnsupportedOperation.ServiceTemporaryUnavailable"
    fresh_server.stop()
    assert "deleted or replaced" in fresh_server.refused_start()


def terminate_backends(application_name: str) -> int:
    with psycopg.connect(postgres.BASE_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return len(rows)


def eventually(check: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_servers_heal_after_postgresql_drops_every_connection(tmp_path: Path) -> None:
    """Every connection a server holds (store pool, audit writer, signature memory, change listener)
    is replaced when it breaks, and /readyz says so within seconds, in both directions."""
    with postgres.fresh_schema() as url:
        name = f"openkms-{uuid.uuid4().hex[:8]}"
        first = Server(tmp_path / "a", ("--store", f"{url}&application_name={name}")).start()
        second = first.twin(tmp_path / "b", ("--store", url)).start()
        try:
            client = first.client()
            key_id = call(client, "CreateKey", Alias="outlives-the-outage")["KeyId"]
            call(client, "Encrypt", KeyId=key_id, Plaintext="aGk=")
            assert terminate_backends(name) >= 2

            def serving() -> bool:
                return outcome_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "Success"

            assert eventually(serving), first.log()[-3000:]
            ready = requests.get(f"http://{first.endpoint}/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
            call(second.client(), "DisableKey", KeyId=key_id)
            assert eventually(
                lambda: (
                    outcome_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "ResourceUnavailable.CmkDisabled"
                )
            ), "the change listener came back and hears the other server"
            verified = run_cli("audit", "verify", "--data-dir", str(first.data_dir), "--store", url)
            assert verified.returncode == 0, verified.stderr
        finally:
            first.stop()
            second.stop()


SETPRIV = shutil.which("setpriv")
without_override = pytest.mark.skipif(
    SETPRIV is None or os.geteuid() != 0,
    reason="needs root and setpriv, to take away the permission override a root process has",
)
NO_OVERRIDE = ("--bounding-set", "-dac_override,-dac_read_search", "--")


def read_only(folder: Path) -> None:
    for path in folder.iterdir():
        path.chmod(0o400)
    folder.chmod(0o500)


def writable(folder: Path) -> None:
    folder.chmod(0o700)
    for path in folder.iterdir():
        path.chmod(0o600)


@without_override
def test_starting_on_a_read_only_data_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Server(data).start().stop()
    read_only(data)
    try:
        assert SETPRIV is not None
        refused = subprocess.run(
            [SETPRIV, *NO_OVERRIDE, *openkms_command("serve", "--data-dir", str(data), "--port", "1")],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        writable(data)
    assert refused.returncode != 0
    assert f"the data folder {data} cannot be written" in refused.stderr and "Traceback" not in refused.stderr


READ_ONLY_THEN_WRITABLE = """
import json, sys
from pathlib import Path
from openkms.server.runtime import build_runtime
from openkms.config.values import Config
from openkms.domain.errors import StoreUnavailable
from openkms.domain.models import Caller
data = Path(sys.argv[1])
caller = Caller("100000000001", "ap-guangzhou")
runtime = build_runtime(Config(data_dir=data))
runtime.keys.create(caller, "before")
for path in data.iterdir():
    path.chmod(0o400)
data.chmod(0o500)
runtime.store._engine.dispose()  # new connections, opened while the files cannot be written
try:
    runtime.keys.create(caller, "while-read-only")
    while_read_only = "Success"
except StoreUnavailable:
    while_read_only = "StoreUnavailable"
data.chmod(0o700)
for path in data.iterdir():
    path.chmod(0o600)
runtime.keys.create(caller, "after")
print(json.dumps({"while_read_only": while_read_only}))
"""


@without_override
def test_writes_work_again_as_soon_as_the_files_can_be_written(tmp_path: Path) -> None:
    """SQLite opens a file it cannot write read-only, silently, for good: such a connection is
    dropped at its first refused write instead of being kept in the pool."""
    assert SETPRIV is not None
    data = tmp_path / "data"
    finished = subprocess.run(
        [SETPRIV, *NO_OVERRIDE, sys.executable, "-c", READ_ONLY_THEN_WRITABLE, str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    writable(data)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert json.loads(finished.stdout.splitlines()[-1]) == {"while_read_only": "StoreUnavailable"}
