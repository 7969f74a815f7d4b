"""The official Tencent Cloud Node.js SDK (tencentcloud-sdk-nodejs, pinned in tests/node/package.json)
works against OpenKMS by changing only its endpoint: TC3 over POST and GET and v1, with the endpoint
written as an address or as a name. The checks themselves are in tests/node/kms_checks.js."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serverproc import Server

NODE_TESTS = Path(__file__).parent.parent / "node"
NODE = shutil.which("node")
MODES = [
    ("TC3-HMAC-SHA256", "POST"),
    ("TC3-HMAC-SHA256", "GET"),
    ("HmacSHA256", "POST"),
    ("HmacSHA1", "GET"),
]
V1_REQUESTS_IN_A_ROW = 1000

if NODE is None:
    pytest.skip(
        "node is not installed (Debian: apt-get install nodejs npm); .ci/run installs it", allow_module_level=True
    )
if not (NODE_TESTS / "node_modules" / "tencentcloud-sdk-nodejs").is_dir():
    pytest.skip(
        "the Node.js SDK is not installed: scripts/test runs `npm ci` in tests/node when npm is present",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def node_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("node") / "data").start()
    try:
        yield server
    finally:
        server.stop()


def run_checks(server: Server, endpoint: str, sign_method: str, method: str, repeat: int = 5) -> dict[str, Any]:
    secret = server.first_credential()
    settings = {
        "endpoint": endpoint,
        "reqMethod": method,
        "signMethod": sign_method,
        "secretId": secret["SecretId"],
        "secretKey": secret["SecretKey"],
        "region": "ap-guangzhou",
        "repeat": repeat,
    }
    assert NODE is not None
    finished = subprocess.run(
        [NODE, "kms_checks.js"],
        cwd=NODE_TESTS,
        input=json.dumps(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    checks: dict[str, Any] = json.loads(finished.stdout)["checks"]
    return checks


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
@pytest.mark.parametrize(("sign_method", "method"), MODES)
def test_the_node_sdk_passes_every_check(node_server: Server, host: str, sign_method: str, method: str) -> None:
    checks = run_checks(node_server, f"{host}:{node_server.port}", sign_method, method)
    failed = {name: check["detail"] for name, check in checks.items() if not check["ok"]}
    assert failed == {}
    assert len(checks) == 10


def test_a_thousand_v1_requests_see_no_false_replay(node_server: Server) -> None:
    """The Node.js SDK draws its v1 Nonce from 0-65535: a memory keyed on the Nonce would refuse about
    one request in 600 as a replay."""
    checks = run_checks(node_server, f"127.0.0.1:{node_server.port}", "HmacSHA256", "POST", repeat=V1_REQUESTS_IN_A_ROW)
    repeated = checks[f"{V1_REQUESTS_IN_A_ROW} requests in a row"]
    assert repeated["ok"], repeated["detail"]
