"""What operators rely on: health, readiness, Prometheus metrics and one JSON log line per request."""

import base64
import json
import time
from pathlib import Path

import requests

from tests import postgres
from tests.sdk import call, code_of
from tests.serverproc import Server, free_port


def test_health_and_readiness(fresh_server: Server) -> None:
    health = requests.get(f"http://{fresh_server.endpoint}/healthz", timeout=10)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = requests.get(f"http://{fresh_server.endpoint}/readyz", timeout=10)
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_metrics(tmp_path: Path) -> None:
    port = free_port()
    server = Server(tmp_path / "data", ("--metrics-listen", str(port))).start()
    try:
        check_metrics(server, port)
    finally:
        server.stop()


def check_metrics(fresh_server: Server, port: int) -> None:
    client = fresh_server.client()
    key_id = call(client, "CreateKey", Alias="metered")["KeyId"]
    for _ in range(3):
        call(client, "Encrypt", KeyId=key_id, Plaintext="aGk=")
    call(client, "DisableKey", KeyId=key_id)
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "ResourceUnavailable.CmkDisabled"

    reply = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    text = reply.text
    lines = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }

    def value(prefix: str) -> float:
        return sum(v for name, v in lines.items() if name.startswith(prefix))

    assert value('openkms_requests_total{action="Encrypt",code="Success"') == 3
    assert value('openkms_requests_total{action="Encrypt",code="ResourceUnavailable.CmkDisabled"') == 1
    assert value('openkms_request_duration_seconds_count{action="Encrypt"') == 4
    assert value('openkms_keys{state="Disabled"}') == 1
    assert value("openkms_key_cache_hits_total") >= 2
    assert value("openkms_audit_available") == 1
    assert 'openkms_maintenance_last_run_timestamp_seconds{step="key_deletion"}' in text


def test_one_json_log_line_per_request_without_secrets(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--log-level", "info")).start()
    try:
        client = server.client()
        key_id = call(client, "CreateKey", Alias="logged")["KeyId"]
        plaintext = base64.b64encode(b"never in a log").decode()
        blob = call(client, "Encrypt", KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
        call(client, "Decrypt", CiphertextBlob=blob)
    finally:
        server.stop()
    log = server.log()
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests_logged = [r for r in records if r["logger"] == "openkms.requests"]
    assert [r["action"] for r in requests_logged] == ["CreateKey", "Encrypt", "Decrypt"]
    for record in requests_logged:
        assert {"request_id", "account", "key_ids", "code", "latency_ms", "source"} <= set(record)
        assert record["key_ids"] == [key_id]
    for secret in (plaintext, blob, server.first_credential()["SecretKey"], "never in a log"):
        assert secret not in log


def test_the_api_port_never_serves_metrics(fresh_server: Server) -> None:
    """Metrics count every account's keys: not for whoever can reach the API."""
    assert requests.get(f"http://{fresh_server.endpoint}/metrics", timeout=10).status_code == 404


def test_start_up_warns_of_a_password_on_the_command_line_and_of_plain_http_off_loopback(tmp_path: Path) -> None:
    with postgres.fresh_schema() as url:
        with_password = url.replace("postgres@", "postgres:hunter2@")
        server = Server(tmp_path / "data", ("--store", with_password, "--host", "0.0.0.0")).start()
        try:
            call(server.client(), "GenerateRandom", NumberOfBytes=4)
        finally:
            server.stop()
    log = server.log()
    assert "carries a password on the command line" in log and "hunter2" not in log
    assert "serving plain HTTP on 0.0.0.0" in log


def test_metrics_on_their_own_address(tmp_path: Path) -> None:
    port = free_port()
    server = Server(tmp_path / "data", ("--metrics-listen", f"127.0.0.1:{port}")).start()
    try:
        call(server.client(), "GenerateRandom", NumberOfBytes=4)
        assert "openkms_requests_total" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert requests.get(f"http://{server.endpoint}/metrics", timeout=10).status_code == 404
    finally:
        server.stop()


def test_preloaded_key_cache_serves_first_uses_from_memory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = Server(data).start()
    try:
        client = first.client()
        key_ids = [call(client, "CreateKey", Alias=f"warm-{n}")["KeyId"] for n in range(5)]
    finally:
        first.stop()
    port = free_port()
    server = Server(data, ("--key-cache-preload", "--metrics-listen", str(port))).start()
    try:
        client = server.client()

        def cache(metric: str) -> float:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(metric))

        deadline = time.monotonic() + 30
        while requests.get(f"http://{server.endpoint}/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "the server never became ready"
            time.sleep(0.1)
        assert cache("openkms_key_cache_entries") == 5
        for key_id in key_ids:
            call(client, "Encrypt", KeyId=key_id, Plaintext="aGk=")
        assert cache("openkms_key_cache_misses_total") == 0
    finally:
        server.stop()
