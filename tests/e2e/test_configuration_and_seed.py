"""One configuration from file, environment and flags; seed files that make a known KMS, idempotently."""

import base64
import os
import subprocess
from pathlib import Path

from tests.sdk import call, code_of
from tests.serverproc import Server, openkms_command

KEY_ID = "0b9b5a52-7a0e-4c3e-9f5d-2a1c8e7f6d10"
MATERIAL = base64.b64encode(bytes(range(32))).decode()
SEED = f"""
credentials:
  - secret_id: AKIDlocaldev0000000000000000000001
    secret_key: local-development-only-secret
  - secret_id: AKIDreader000000000000000000000002
    secret_key: another-local-development-secret
    policies:
      reader:
        statement:
          - effect: allow
            action: "kms:Describe*"
            resource: "*"
keys:
  - key_id: {KEY_ID}
    alias: payments
    description: seeded
    material: {MATERIAL}
    rotate_days: 90
    tags: {{env: dev}}
  - alias: archived-one
    key_id: 1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f
    state: Archived
"""


def config_show(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        openkms_command("config", "show", *args),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_precedence_default_file_environment_flag(tmp_path: Path) -> None:
    config = tmp_path / "openkms.toml"
    config.write_text('port = 9100\nworkers = 2\nregion = ["ap-beijing"]\naudit = "fail-open"\n')
    shown = config_show("--config", str(config), "--workers", "1", env={"OPENKMS_PORT": "9200"}).stdout
    assert "port = 9200  # OPENKMS_PORT" in shown
    assert "workers = 1  # --workers" in shown
    assert f'region = ["ap-beijing"]  # {config}' in shown
    assert f'audit = "fail-open"  # {config}' in shown
    assert 'host = "127.0.0.1"  # default' in shown


def test_invalid_configuration_names_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    for document, named in [
        ('port = "http"\n', "setting port"),
        ("colour = 1\n", "unknown setting 'colour'"),
        ('rate_limit = ["Encrypt=fast"]\n', "setting rate_limit"),
        ('audit = "sometimes"\n', "setting audit"),
    ]:
        config.write_text(document)
        result = config_show("--config", str(config))
        assert result.returncode == 2 and named in result.stderr, (document, result.stderr)
    result = config_show(env={"OPENKMS_WORKERS": "many"})
    assert result.returncode == 2 and "OPENKMS_WORKERS" in result.stderr
    assert config_show("--tls-cert", "c.pem").returncode == 2


def seeded_client(server: Server, secret_id: str, secret_key: str):  # type: ignore[no-untyped-def]
    return server.client({"SecretId": secret_id, "SecretKey": secret_key})


def test_a_seed_file_makes_a_known_kms_and_survives_reseeding(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED)
    server = Server(tmp_path / "data", ("--seed", str(seed))).start()
    try:
        admin = seeded_client(server, "AKIDlocaldev0000000000000000000001", "local-development-only-secret")
        metadata = call(admin, "DescribeKey", KeyId=KEY_ID)["KeyMetadata"]
        assert (metadata["Alias"], metadata["Description"], metadata["KeyRotationEnabled"], metadata["RotateDays"]) == (
            "payments",
            "seeded",
            True,
            90,
        )
        assert call(admin, "DescribeKey", KeyId="1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f")["KeyMetadata"]["KeyState"] == (
            "Archived"
        )
        blob = call(admin, "Encrypt", KeyId=KEY_ID, Plaintext="c2VlZGVk")["CiphertextBlob"]
        reader = seeded_client(server, "AKIDreader000000000000000000000002", "another-local-development-secret")
        assert call(reader, "DescribeKey", KeyId=KEY_ID)["KeyMetadata"]["Alias"] == "payments"
        assert code_of(reader, "Encrypt", KeyId=KEY_ID, Plaintext="eA==") == "UnauthorizedOperation"
    finally:
        server.stop()

    # A fresh data folder with the same seed: the fixed material opens the old ciphertext.
    again = Server(tmp_path / "other-data", ("--seed", str(seed))).start()
    try:
        admin = seeded_client(again, "AKIDlocaldev0000000000000000000001", "local-development-only-secret")
        assert call(admin, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "c2VlZGVk"
    finally:
        again.stop()

    # The same data folder seeded again: nothing changes, nothing fails.
    server.start()
    try:
        admin = seeded_client(server, "AKIDlocaldev0000000000000000000001", "local-development-only-secret")
        assert call(admin, "ListKeyDetail")["TotalCount"] == 2
        assert server.log().count("created") == 2, "the second start created nothing"
        assert server.log().count("seed: credential") == 2, "nor wrote a credential again"
    finally:
        server.stop()


def test_a_seed_that_cannot_hold_stops_start_up(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(SEED)
    data = tmp_path / "data"
    Server(data, ("--seed", str(seed))).start().stop()
    changed = SEED.replace(MATERIAL, base64.b64encode(bytes(32)).decode())
    seed.write_text(changed)
    result = subprocess.run(
        openkms_command("serve", "--data-dir", str(data), "--seed", str(seed), "--port", "1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "keys[0]" in result.stderr and "other material" in result.stderr
    seed.write_text("keys:\n  - alias: x\n    colour: blue\n")
    result = subprocess.run(
        openkms_command("serve", "--data-dir", str(data), "--seed", str(seed), "--port", "1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "unknown fields colour" in result.stderr
