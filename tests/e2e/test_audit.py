"""Every request leaves one audit event; the chain shows any edit; fail-closed refuses when it cannot write."""

import base64
import json
import sqlite3
import time
from pathlib import Path

import requests

from tests.raw import raw_post, response_of
from tests.sdk import call, code_of
from tests.serverproc import Server, run_cli


def audit_events(server: Server, *filters: str) -> list[dict[str, object]]:
    result = run_cli("audit", "search", "--data-dir", str(server.data_dir), "--json", *filters)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_each_request_is_recorded_without_secrets(fresh_server: Server) -> None:
    client = fresh_server.client()
    secret = fresh_server.first_credential()
    created = call(client, "CreateKey", Alias="audited")
    plaintext = base64.b64encode(b"very secret words").decode()
    encrypted = call(client, "Encrypt", KeyId=created["KeyId"], Plaintext=plaintext)
    call(client, "Decrypt", CiphertextBlob=encrypted["CiphertextBlob"])
    assert code_of(client, "DisableKey", KeyId="not-a-key") == "InvalidParameterValue.InvalidKeyId"
    stranger = fresh_server.client({"SecretId": "AKIDnobody", "SecretKey": "x"})
    assert code_of(stranger, "GetRegions") == "AuthFailure.SecretIdNotFound"

    events = audit_events(fresh_server)
    assert [e["action"] for e in events] == ["CreateKey", "Encrypt", "Decrypt", "DisableKey", "GetRegions"]
    create, encrypt, decrypt, refused, unknown = events
    assert create["code"] == "Success" and create["account"] == secret["Account"]
    assert create["secret_id"] == secret["SecretId"] and create["source"] == "127.0.0.1"
    assert encrypt["key_ids"] == [created["KeyId"]] and decrypt["key_ids"] == [created["KeyId"]]
    assert encrypt["request_id"] == encrypted["RequestId"]
    assert refused["code"] == "InvalidParameterValue.InvalidKeyId"
    assert (unknown["code"], unknown["secret_id"], unknown["account"]) == (
        "AuthFailure.SecretIdNotFound",
        "AKIDnobody",
        "",
    )
    assert all(isinstance(e["latency_ms"], float) for e in events)

    raw = (fresh_server.data_dir / "audit.db").read_bytes()
    wal = fresh_server.data_dir / "audit.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    for leaked in (
        plaintext.encode(),
        b"very secret words",
        encrypted["CiphertextBlob"].encode(),
        secret["SecretKey"].encode(),
    ):
        assert leaked not in raw


def test_search_and_tail(fresh_server: Server) -> None:
    client = fresh_server.client()
    first = call(client, "CreateKey", Alias="first")["KeyId"]
    second = call(client, "CreateKey", Alias="second")["KeyId"]
    call(client, "DisableKey", KeyId=second)
    assert [e["action"] for e in audit_events(fresh_server, "--key-id", second)] == ["CreateKey", "DisableKey"]
    assert len(audit_events(fresh_server, "--action", "CreateKey")) == 2
    assert audit_events(fresh_server, "--since", str(time.time() + 60)) == []
    assert len(audit_events(fresh_server, "--until", "2999-01-01T00:00:00")) == 3
    tail = run_cli("audit", "tail", "--data-dir", str(fresh_server.data_dir), "-n", "1")
    assert "DisableKey" in tail.stdout and "CreateKey" not in tail.stdout
    assert first not in tail.stdout


def test_verify_finds_edits_and_removals(fresh_server: Server) -> None:
    client = fresh_server.client()
    for i in range(5):
        call(client, "CreateKey", Alias=f"chain-{i}")
    verified = run_cli("audit", "verify", "--data-dir", str(fresh_server.data_dir))
    assert verified.returncode == 0 and "intact: 5 events" in verified.stdout
    fresh_server.stop()

    database = fresh_server.data_dir / "audit.db"
    with sqlite3.connect(database) as conn:
        event = json.loads(conn.execute("SELECT event FROM audit_events WHERE seq = 3").fetchone()[0])
        event["code"] = "Changed"
        conn.execute("UPDATE audit_events SET event = ? WHERE seq = 3", (json.dumps(event),))
    edited = run_cli("audit", "verify", "--data-dir", str(fresh_server.data_dir))
    assert edited.returncode == 1 and "first bad event: 3" in edited.stderr

    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM audit_events WHERE seq = 3")
    removed = run_cli("audit", "verify", "--data-dir", str(fresh_server.data_dir))
    assert removed.returncode == 1 and "event 3 is missing" in removed.stderr


def test_fail_closed_refuses_requests_it_cannot_record(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        client = server.client()
        key_id = call(client, "CreateKey", Alias="before")["KeyId"]
        locker = sqlite3.connect(tmp_path / "data" / "audit.db", isolation_level=None, timeout=30)
        locker.execute("BEGIN IMMEDIATE")
        try:
            assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == (
                "UnsupportedOperation.ServiceTemporaryUnavailable"
            )
            assert code_of(client, "GenerateRandom", NumberOfBytes=4) == (
                "UnsupportedOperation.ServiceTemporaryUnavailable"
            ), "once the log is down, requests are refused before they run"
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                call(client, "GenerateRandom", NumberOfBytes=4)
                break
            except Exception:
                time.sleep(0.3)
        else:
            raise AssertionError("the server did not recover when the audit log became writable")
    finally:
        server.stop()
    verified = run_cli("audit", "verify", "--data-dir", str(tmp_path / "data"))
    assert verified.returncode == 0, verified.stderr


def test_fail_open_keeps_serving(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--audit", "fail-open")).start()
    try:
        client = server.client()
        key_id = call(client, "CreateKey", Alias="before")["KeyId"]
        locker = sqlite3.connect(tmp_path / "data" / "audit.db", isolation_level=None, timeout=30)
        locker.execute("BEGIN IMMEDIATE")
        try:
            assert call(client, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]
        finally:
            locker.execute("ROLLBACK")
            locker.close()
    finally:
        server.stop()


def test_the_source_is_the_peer_unless_a_trusted_proxy_forwarded_the_request(tmp_path: Path) -> None:
    forwarded = {"x-forwarded-for": "203.0.113.9"}
    direct = Server(tmp_path / "direct").start()
    try:
        assert "Error" not in response_of(raw_post(direct, "GetRegions", b"{}", **forwarded))
        assert audit_events(direct)[-1]["source"] == "127.0.0.1", "a local client wrote its own source address"
    finally:
        direct.stop()
    proxied = Server(tmp_path / "proxied", ("--trusted-proxy", "127.0.0.1")).start()
    try:
        assert "Error" not in response_of(raw_post(proxied, "GetRegions", b"{}", **forwarded))
        assert audit_events(proxied)[-1]["source"] == "203.0.113.9"
    finally:
        proxied.stop()


def test_a_forged_secret_id_cannot_plant_a_line_in_the_text_output(fresh_server: Server) -> None:
    forged = "AKIDx\n   99999 2026-01-01T00:00:00.000+00:00 Decrypt Success\x1b[2K"
    fields = {
        "Action": "GetRegions",
        "Version": "2019-01-18",
        "Timestamp": str(int(time.time())),
        "Nonce": "1",
        "SecretId": forged,
        "Signature": "x",
    }
    reply = requests.post(f"http://{fresh_server.endpoint}/", data=fields, timeout=30)
    assert response_of(reply)["Error"]["Code"] == "AuthFailure.SecretIdNotFound"
    call(fresh_server.client(), "CreateKey", Alias=forged[:4])
    for verb in (("tail",), ("search",)):
        result = run_cli("audit", *verb, "--data-dir", str(fresh_server.data_dir))
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert len(lines) == 2, lines
        assert "Decrypt" not in result.stdout and "\x1b" not in result.stdout
    assert audit_events(fresh_server)[0]["secret_id"] == "<unreadable>"


def test_editing_the_time_column_neither_hides_an_event_nor_passes_verify(fresh_server: Server) -> None:
    client = fresh_server.client()
    key_id = call(client, "CreateKey", Alias="timed")["KeyId"]
    call(client, "DisableKey", KeyId=key_id)
    fresh_server.stop()
    with sqlite3.connect(fresh_server.data_dir / "audit.db") as conn:
        conn.execute("UPDATE audit_events SET time = 0 WHERE seq = 2")
    since = str(time.time() - 600)
    assert [e["action"] for e in audit_events(fresh_server, "--since", since)] == ["CreateKey", "DisableKey"]
    verified = run_cli("audit", "verify", "--data-dir", str(fresh_server.data_dir))
    assert verified.returncode == 1 and "time column of event 2" in verified.stderr


def test_cutting_the_end_of_the_log_is_detected_and_stops_a_fail_closed_server(fresh_server: Server) -> None:
    client = fresh_server.client()
    for i in range(4):
        call(client, "CreateKey", Alias=f"cut-{i}")
    fresh_server.stop()
    with sqlite3.connect(fresh_server.data_dir / "audit.db") as conn:
        conn.execute("DELETE FROM audit_events WHERE seq > 2")
    verified = run_cli("audit", "verify", "--data-dir", str(fresh_server.data_dir))
    assert verified.returncode == 1 and "removed from its end" in verified.stderr
    assert "removed from its end" in fresh_server.refused_start()

    accepted = run_cli("audit", "reanchor", "--data-dir", str(fresh_server.data_dir))
    assert accepted.returncode == 0 and "anchored at event 2" in accepted.stdout
    fresh_server.start()
    call(fresh_server.client(), "GenerateRandom", NumberOfBytes=4)


def test_a_running_server_refuses_to_append_to_a_log_whose_end_was_cut(fresh_server: Server) -> None:
    client = fresh_server.client()
    key_id = call(client, "CreateKey", Alias="cut-live")["KeyId"]
    call(client, "DescribeKey", KeyId=key_id)
    with sqlite3.connect(fresh_server.data_dir / "audit.db") as conn:
        conn.execute("DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)")
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == (
        "UnsupportedOperation.ServiceTemporaryUnavailable"
    )
    assert code_of(client, "GenerateRandom", NumberOfBytes=4) == "UnsupportedOperation.ServiceTemporaryUnavailable"
    ready = requests.get(f"http://{fresh_server.endpoint}/readyz", timeout=10)
    assert ready.status_code == 503 and "removed from its end" in ready.text
    accepted = run_cli("audit", "reanchor", "--data-dir", str(fresh_server.data_dir))
    assert accepted.returncode == 0, accepted.stderr
    deadline = time.monotonic() + 10
    while requests.get(f"http://{fresh_server.endpoint}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the running server took the reanchored log back by itself"
        time.sleep(0.2)
    assert call(client, "GenerateRandom", NumberOfBytes=4)["Plaintext"]


def test_an_older_copy_of_the_log_or_a_new_log_is_refused_against_the_key_stores_anchor(
    fresh_server: Server, tmp_path: Path
) -> None:
    client = fresh_server.client()
    call(client, "CreateKey", Alias="old-1")
    fresh_server.stop()  # shutdown anchors the head in the key store
    old_copy = tmp_path / "audit-old.db"
    with sqlite3.connect(fresh_server.data_dir / "audit.db") as live, sqlite3.connect(old_copy) as copy:
        live.backup(copy)
    fresh_server.start()
    for i in range(3):
        call(fresh_server.client(), "CreateKey", Alias=f"later-{i}")
    fresh_server.stop()

    for name in ("audit.db-wal", "audit.db-shm"):
        (fresh_server.data_dir / name).unlink(missing_ok=True)
    (fresh_server.data_dir / "audit.db").write_bytes(old_copy.read_bytes())
    verified = run_cli("audit", "verify", "--data-dir", str(fresh_server.data_dir))
    assert verified.returncode == 1 and "rolled back" in verified.stderr
    assert "rolled back" in fresh_server.refused_start()

    (fresh_server.data_dir / "audit.db").unlink()
    assert "deleted or replaced" in fresh_server.refused_start()


def test_a_log_with_events_whose_anchor_was_deleted_is_refused_not_anchored_again(fresh_server: Server) -> None:
    """Whoever can write the key store could otherwise delete the anchor and swap in an older log."""
    call(fresh_server.client(), "CreateKey", Alias="anchored")
    fresh_server.stop()
    with sqlite3.connect(fresh_server.data_dir / "openkms.db") as store:
        store.execute("DELETE FROM anchors WHERE name = 'audit-log'")
    verified = run_cli("audit", "verify", "--data-dir", str(fresh_server.data_dir))
    assert verified.returncode == 1 and "no anchor" in verified.stderr
    assert "no anchor" in fresh_server.refused_start(), "and verify did not anchor it either"
    assert run_cli("audit", "reanchor", "--data-dir", str(fresh_server.data_dir)).returncode == 0
    fresh_server.start()
    call(fresh_server.client(), "GetRegions")


def test_a_checkpoint_kept_elsewhere_catches_a_rollback_of_log_and_key_store_together(
    fresh_server: Server, tmp_path: Path
) -> None:
    call(fresh_server.client(), "CreateKey", Alias="early")
    fresh_server.stop()
    data = fresh_server.data_dir
    with sqlite3.connect(data / "openkms.db") as store:
        early_anchor = store.execute("SELECT value FROM anchors WHERE name = 'audit-log'").fetchone()[0]
    early_log = tmp_path / "audit-early.db"
    with sqlite3.connect(data / "audit.db") as live, sqlite3.connect(early_log) as copy:
        live.backup(copy)
    fresh_server.start()
    call(fresh_server.client(), "CreateKey", Alias="late")
    fresh_server.stop()
    checkpoint = run_cli("audit", "checkpoint", "--data-dir", str(data))
    assert checkpoint.returncode == 0
    kept_elsewhere = tmp_path / "checkpoints.jsonl"
    kept_elsewhere.write_text(checkpoint.stdout)

    for name in ("audit.db-wal", "audit.db-shm"):
        (data / name).unlink(missing_ok=True)
    (data / "audit.db").write_bytes(early_log.read_bytes())
    with sqlite3.connect(data / "openkms.db") as store:
        store.execute("UPDATE anchors SET value = ? WHERE name = 'audit-log'", (early_anchor,))
    server_checkpoints = run_cli("audit", "verify", "--data-dir", str(data))
    assert server_checkpoints.returncode == 1 and "a checkpoint records event" in server_checkpoints.stderr
    (data / "audit-checkpoints.jsonl").unlink()
    assert run_cli("audit", "verify", "--data-dir", str(data)).returncode == 0, "consistent with the key store"
    verified = run_cli("audit", "verify", "--data-dir", str(data), "--checkpoint", str(kept_elsewhere))
    assert verified.returncode == 1 and "a checkpoint records event" in verified.stderr


def test_a_flood_of_unauthenticated_requests_is_limited_and_recorded_as_counted_events(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", rate_limits=True).start()
    try:
        session = requests.Session()
        codes = []
        for n in range(300):
            fields = {
                "Action": "Decrypt",
                "Version": "2019-01-18",
                "Timestamp": str(int(time.time())),
                "Nonce": str(n),
                "SecretId": f"AKIDmadeup{n}",
                "Signature": "x",
            }
            codes.append(
                response_of(session.post(f"http://{server.endpoint}/", data=fields, timeout=30))["Error"]["Code"]
            )
        assert codes[0] == "AuthFailure.SecretIdNotFound"
        assert codes.count("RequestLimitExceeded") > 200, "the source was held to its budget of failures"
        time.sleep(1.0)
        call(server.client(), "GenerateRandom", NumberOfBytes=4)
    finally:
        server.stop()
    events = audit_events(server)
    failures = [e for e in events if e["account"] == ""]
    assert len(failures) <= 4, failures
    assert sum(int(str(e.get("count", 1))) for e in failures) == 300
    assert events[-1]["action"] == "GenerateRandom" or any(e["action"] == "GenerateRandom" for e in events)
