"""tccli, the Tencent Cloud command line, against OpenKMS with only --endpoint changed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serverproc import Server

TCCLI = shutil.which("tccli") or str(Path(sys.executable).parent / "tccli")


def tccli(server: Server, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    secret = server.first_credential()
    env = {
        **os.environ,
        "HOME": str(home),
        "TENCENTCLOUD_SECRET_ID": secret["SecretId"],
        "TENCENTCLOUD_SECRET_KEY": secret["SecretKey"],
        "TENCENTCLOUD_REGION": "ap-guangzhou",
    }
    command = [TCCLI, "kms", *args, "--endpoint", f"http://{server.endpoint}"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path


def test_create_encrypt_decrypt_with_tccli(server: Server, home: Path) -> None:
    created = tccli(server, home, "CreateKey", "--Alias", "from-tccli", "--Description", "cli")
    assert created.returncode == 0, created.stderr
    key_id = json.loads(created.stdout)["KeyId"]

    encrypted = tccli(
        server, home, "Encrypt", "--KeyId", key_id, "--Plaintext", "aGVsbG8=", "--EncryptionContext", '{"a":"b"}'
    )
    assert encrypted.returncode == 0, encrypted.stderr
    blob = json.loads(encrypted.stdout)["CiphertextBlob"]

    decrypted = tccli(server, home, "Decrypt", "--CiphertextBlob", blob, "--EncryptionContext", '{"a":"b"}')
    assert decrypted.returncode == 0, decrypted.stderr
    assert json.loads(decrypted.stdout)["Plaintext"] == "aGVsbG8="

    described = tccli(server, home, "DescribeKeys", "--KeyIds", json.dumps([key_id]))
    assert json.loads(described.stdout)["KeyMetadatas"][0]["Alias"] == "from-tccli"


def test_tccli_reports_errors_with_their_code(server: Server, home: Path) -> None:
    failed = tccli(server, home, "Decrypt", "--CiphertextBlob", "AAAA")
    assert failed.returncode != 0
    assert "InvalidParameterValue.InvalidCiphertext" in failed.stderr + failed.stdout
