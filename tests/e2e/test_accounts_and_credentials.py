"""Credentials belong to accounts; keys belong to the account that created them."""

import json
import os
import stat
from pathlib import Path

from tests.sdk import call, code_of
from tests.serverproc import Server, run_cli


def create_credential(server: Server, account: str | None = None) -> dict[str, str]:
    args = ["credentials", "create", "--data-dir", str(server.data_dir), "--json"]
    if account:
        args += ["--account", account]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    secret: dict[str, str] = json.loads(result.stdout)
    assert set(secret) == {"SecretId", "SecretKey"}
    return secret


def test_first_start_writes_a_private_credential_file(fresh_server: Server) -> None:
    path = fresh_server.data_dir / "credentials.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(fresh_server.data_dir / "master.key").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(fresh_server.data_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(fresh_server.data_dir / "openkms.db").st_mode) == 0o600
    secret = fresh_server.first_credential()
    assert secret["SecretId"].startswith("AKID")
    assert secret["SecretKey"] not in fresh_server.log()
    assert call(fresh_server.client(), "GetRegions")["Regions"] == ["ap-guangzhou"]


def test_credentials_created_while_the_server_runs_work_at_once(fresh_server: Server) -> None:
    secret = create_credential(fresh_server)
    assert call(fresh_server.client(secret), "GenerateRandom", NumberOfBytes=4)["Plaintext"]
    listed = json.loads(run_cli("credentials", "list", "--data-dir", str(fresh_server.data_dir), "--json").stdout)
    assert secret["SecretId"] in [c["SecretId"] for c in listed]
    assert secret["SecretKey"] not in json.dumps(listed)


def test_deleted_credentials_stop_working_at_once(fresh_server: Server) -> None:
    secret = create_credential(fresh_server)
    client = fresh_server.client(secret)
    call(client, "GetRegions")  # cached now
    result = run_cli("credentials", "delete", "--data-dir", str(fresh_server.data_dir), secret["SecretId"])
    assert result.returncode == 0, result.stderr
    assert code_of(client, "GetRegions") == "AuthFailure.SecretIdNotFound"
    again = run_cli("credentials", "delete", "--data-dir", str(fresh_server.data_dir), secret["SecretId"])
    assert again.returncode != 0 and "no credential" in again.stderr


def test_credentials_work_without_a_server(tmp_path: object) -> None:
    from pathlib import Path

    data_dir = Path(str(tmp_path)) / "offline"
    assert run_cli("init", "--data-dir", str(data_dir)).returncode == 0
    result = run_cli("credentials", "create", "--data-dir", str(data_dir), "--json", "--account", "200000000002")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["SecretId"].startswith("AKID")
    bad = run_cli("credentials", "create", "--data-dir", str(data_dir), "--account", "not-a-number")
    assert bad.returncode == 2 and "UIN" in bad.stderr


def test_a_mistyped_data_folder_is_refused_not_made(tmp_path: Path) -> None:
    """Only serve, init and restore make a data folder: a typo must not mint a master key."""
    typo = tmp_path / "opnekms-data"
    for command in (("credentials", "list"), ("audit", "verify"), ("backup", str(tmp_path / "b.okb"))):
        refused = run_cli(*command, "--data-dir", str(typo))
        assert refused.returncode == 2 and f"there is no OpenKMS data folder at {typo}" in refused.stderr
        assert not typo.exists()
    assert run_cli("init", "--data-dir", str(typo)).returncode == 0
    assert (typo / "master.key").exists() and (typo / "credentials.json").exists()
    assert "initialised already" in run_cli("init", "--data-dir", str(typo)).stdout


def test_keys_are_invisible_to_other_accounts(fresh_server: Server) -> None:
    owner = fresh_server.client()
    same_account = fresh_server.client(create_credential(fresh_server))
    stranger = fresh_server.client(create_credential(fresh_server, account="200000000002"))

    key_id = call(owner, "CreateKey", Alias="shared-name")["KeyId"]
    blob = call(owner, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]

    assert call(same_account, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="
    assert code_of(stranger, "DescribeKey", KeyId=key_id) == "ResourceUnavailable.CmkNotFound"
    assert code_of(stranger, "Decrypt", CiphertextBlob=blob) == "ResourceUnavailable.CmkNotFound"
    assert code_of(stranger, "DisableKey", KeyId=key_id) == "ResourceUnavailable.CmkNotFound"
    assert code_of(stranger, "EnableKeys", KeyIds=[key_id]) == "ResourceUnavailable.CmkNotFound"
    assert call(stranger, "DescribeKeys", KeyIds=[key_id])["KeyMetadatas"] == []
    assert call(stranger, "ListKeys")["TotalCount"] == 0
    assert call(stranger, "CreateKey", Alias="shared-name")["KeyState"] == "Enabled", "aliases are per account"
    assert call(owner, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
