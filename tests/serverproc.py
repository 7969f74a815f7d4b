"""Real OpenKMS server processes for tests: started on 127.0.0.1 on a free port, driven over HTTP."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.kms.v20190118 import kms_client

DEFAULT_REGION = "ap-guangzhou"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def openkms_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "openkms.cli.main", *args]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(openkms_command(*args), capture_output=True, text=True, timeout=60)


class Server:
    def __init__(
        self, data_dir: Path, extra_args: tuple[str, ...] = (), rate_limits: bool = False, quotas: bool = False
    ) -> None:
        """A server on `data_dir`; rate limits and key quotas (servers shared by many tests make many
        keys) are off unless the test is about them."""
        self.data_dir = data_dir
        self.extra_args = extra_args if rate_limits else ("--rate-limit", "off", *extra_args)
        if not quotas:
            self.extra_args = ("--cmk-limit", "0", "--data-key-limit", "0", *self.extra_args)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server.log"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Server":
        log = open(self.log_path, "ab")  # noqa: SIM115 (the process owns it)
        self.process = subprocess.Popen(
            openkms_command(
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                *self.extra_args,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start listening:\n{self.log()}")

    def refused_start(self) -> str:
        """Start the server expecting it to refuse to serve; what it said."""
        try:
            self.start()
        except RuntimeError as refused:
            return str(refused)
        self.stop()
        raise AssertionError("the server started, and should have refused to")

    def twin(self, data_dir: Path, extra_args: tuple[str, ...]) -> "Server":
        """Another server with this one's master key and first credential, on its own data folder
        (with a shared --store in `extra_args`: two servers on one database)."""
        data_dir.mkdir(mode=0o700)
        for name in ("master.key", "credentials.json"):
            (data_dir / name).write_bytes((self.data_dir / name).read_bytes())
            (data_dir / name).chmod(0o600)
        return Server(data_dir, extra_args)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        self.process = None
        return code

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)
        self.process = None

    def first_credential(self) -> dict[str, str]:
        secret: dict[str, str] = json.loads((self.data_dir / "credentials.json").read_text())
        return secret

    def client(
        self,
        secret: dict[str, str] | None = None,
        region: str | None = DEFAULT_REGION,
        sign_method: str = "TC3-HMAC-SHA256",
        method: str = "POST",
        **profile: Any,
    ) -> kms_client.KmsClient:
        secret = secret or self.first_credential()
        http = HttpProfile(endpoint=self.endpoint, protocol="http", reqMethod=method, reqTimeout=30)
        client_profile = ClientProfile(httpProfile=http, signMethod=sign_method, **profile)
        cred = credential.Credential(secret["SecretId"], secret["SecretKey"])
        return kms_client.KmsClient(cred, region, client_profile)
