"""White-box keys through the official SDK and tccli: the tables KMS hands out decrypt what
EncryptByWhiteBox encrypted, with no key and no call to KMS (openkms.whitebox), and the lifecycle
follows Tencent Cloud's documentation."""

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from openkms import whitebox
from tests.e2e.test_accounts_and_credentials import create_credential
from tests.e2e.test_authorization import attach, key_resource
from tests.e2e.test_tccli import tccli
from tests.sdk import call, code_of
from tests.serverproc import Server

LENGTHS = (0, 1, 15, 16, 17, 4095, 4096)
FINGERPRINT = "0123abcd-0123456789abcd-0123456789abcd-0123456789abcd-0123456789abcdef"


def alias(prefix: str = "wb") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="session", params=["AES_256", "SM4"])
def created(request: pytest.FixtureRequest, server: Server) -> dict[str, str]:
    reply = call(server.client(), "CreateWhiteBoxKey", Alias=alias(), Algorithm=request.param)
    return {**reply, "Algorithm": request.param}


@pytest.mark.parametrize("length", LENGTHS)
def test_what_encrypt_by_white_box_encrypts_the_decrypt_key_decrypts_alone(
    server: Server, created: dict[str, str], length: int
) -> None:
    plaintext = os.urandom(length)
    reply = call(server.client(), "EncryptByWhiteBox", KeyId=created["KeyId"], PlainText=b64(plaintext))
    iv, ciphertext = base64.b64decode(reply["InitializationVector"]), base64.b64decode(reply["CipherText"])
    assert len(iv) == 16 and len(ciphertext) == (length // 16 + 1) * 16
    assert whitebox.decrypt(created["DecryptKey"], iv, ciphertext) == plaintext


def test_a_given_iv_is_echoed_and_the_encrypt_key_encrypts_as_the_server_does(
    server: Server, created: dict[str, str]
) -> None:
    iv, plaintext = os.urandom(16), b"sensor reading 42"
    reply = call(
        server.client(), "EncryptByWhiteBox", KeyId=created["KeyId"], PlainText=b64(plaintext),
        InitializationVector=b64(iv),
    )  # fmt: skip
    assert reply["InitializationVector"] == b64(iv)
    assert whitebox.encrypt(created["EncryptKey"], iv, plaintext) == base64.b64decode(reply["CipherText"])


def test_describe_shows_the_key_info_and_the_decrypt_key_as_created(server: Server, created: dict[str, str]) -> None:
    client = server.client()
    info = call(client, "DescribeWhiteBoxKey", KeyId=created["KeyId"])["KeyInfo"]
    account = server.first_credential()["Account"]
    assert info["Status"] == "Enabled" and info["Algorithm"] == created["Algorithm"]
    assert info["ResourceId"] == f"creatorUin/{account}/{created['KeyId']}"
    assert info["CreatorUin"] == info["OwnerUin"] == int(account)
    assert (info["EncryptKey"], info["DecryptKey"]) == (created["EncryptKey"], created["DecryptKey"])
    assert info["DeviceFingerprintBind"] is False
    assert call(client, "DescribeWhiteBoxDecryptKey", KeyId=created["KeyId"])["DecryptKey"] == created["DecryptKey"]
    assert call(client, "DescribeWhiteBoxServiceStatus")["ServiceEnabled"] is True


def test_a_disabled_key_neither_encrypts_nor_gives_its_decrypt_key_and_only_then_deletes(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateWhiteBoxKey", Alias=alias(), Algorithm="SM4")["KeyId"]
    assert code_of(client, "DeleteWhiteBoxKey", KeyId=key_id) == "ResourceUnavailable.CmkShouldBeDisabled"
    call(client, "DisableWhiteBoxKey", KeyId=key_id)
    assert code_of(client, "EncryptByWhiteBox", KeyId=key_id, PlainText="aGk=") == "ResourceUnavailable.KeyDisabled"
    assert code_of(client, "DescribeWhiteBoxDecryptKey", KeyId=key_id) == "ResourceUnavailable.KeyDisabled"
    assert call(client, "DescribeWhiteBoxKey", KeyId=key_id)["KeyInfo"]["Status"] == "Disabled"
    call(client, "EnableWhiteBoxKey", KeyId=key_id)
    call(client, "EncryptByWhiteBox", KeyId=key_id, PlainText="aGk=")
    call(client, "DisableWhiteBoxKey", KeyId=key_id)
    call(client, "DeleteWhiteBoxKey", KeyId=key_id)
    assert code_of(client, "DescribeWhiteBoxKey", KeyId=key_id) == "ResourceNotFound"
    assert code_of(client, "DeleteWhiteBoxKey", KeyId=key_id) == "ResourceNotFound"


def test_details_filter_by_status_and_tags_and_page_with_limit_0_meaning_all(fresh_server: Server) -> None:
    client = fresh_server.client()
    teams = {
        call(client, "CreateWhiteBoxKey", Alias=alias(), Algorithm="SM4", Tags=[{"TagKey": "team", "TagValue": t}])[
            "KeyId"
        ]: t
        for t in ("red", "blue", "red")
    }
    [blue] = [key_id for key_id, team in teams.items() if team == "blue"]
    call(client, "DisableWhiteBoxKeys", KeyIds=[blue])
    every = call(client, "DescribeWhiteBoxKeyDetails")
    # By creation time, then by id: keys made within one second are in id order.
    created = {i["KeyId"]: i["CreateTime"] for i in every["KeyInfos"]}
    ids = sorted(teams, key=lambda key_id: (created[key_id], key_id))
    assert every["TotalCount"] == 3 and [i["KeyId"] for i in every["KeyInfos"]] == ids
    enabled = call(client, "DescribeWhiteBoxKeyDetails", KeyStatus=1)
    assert [i["KeyId"] for i in enabled["KeyInfos"]] == [key_id for key_id in ids if key_id != blue]
    page = call(client, "DescribeWhiteBoxKeyDetails", Offset=1, Limit=1)
    assert page["TotalCount"] == 3 and [i["KeyId"] for i in page["KeyInfos"]] == [ids[1]]
    red = call(client, "DescribeWhiteBoxKeyDetails", TagFilters=[{"TagKey": "team", "TagValue": ["red"]}])
    assert [i["KeyId"] for i in red["KeyInfos"]] == [key_id for key_id in ids if teams[key_id] == "red"]
    assert code_of(client, "DescribeWhiteBoxKeyDetails", KeyStatus=2) == "InvalidParameterValue"


def test_batches_are_all_or_none_of_at_most_50_distinct_existing_keys(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateWhiteBoxKey", Alias=alias(), Algorithm="SM4")["KeyId"]
    assert code_of(client, "DisableWhiteBoxKeys", KeyIds=[key_id, str(uuid.uuid4())]) == "ResourceNotFound"
    assert call(client, "DescribeWhiteBoxKey", KeyId=key_id)["KeyInfo"]["Status"] == "Enabled"
    assert code_of(client, "DisableWhiteBoxKeys", KeyIds=[key_id, key_id]) == "InvalidParameterValue.DuplicatedKeyId"
    many = [str(uuid.uuid4()) for _ in range(51)]
    assert code_of(client, "EnableWhiteBoxKeys", KeyIds=many) == "InvalidParameterValue"
    call(client, "DisableWhiteBoxKeys", KeyIds=[key_id])
    call(client, "EnableWhiteBoxKeys", KeyIds=[key_id])


def test_device_fingerprints_are_overwritten_whole_and_listed(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateWhiteBoxKey", Alias=alias(), Algorithm="SM4")["KeyId"]
    prints = [{"Identity": FINGERPRINT, "Description": "gateway 1"}, {"Identity": FINGERPRINT.replace("0", "1")}]
    call(client, "OverwriteWhiteBoxDeviceFingerprints", KeyId=key_id, DeviceFingerprints=prints)
    listed = call(client, "DescribeWhiteBoxDeviceFingerprints", KeyId=key_id)["DeviceFingerprints"]
    assert listed == [prints[0], {**prints[1], "Description": ""}]
    assert call(client, "DescribeWhiteBoxKey", KeyId=key_id)["KeyInfo"]["DeviceFingerprintBind"] is True
    too_many = [{"Identity": FINGERPRINT}] * 201
    assert (
        code_of(client, "OverwriteWhiteBoxDeviceFingerprints", KeyId=key_id, DeviceFingerprints=too_many)
        == "LimitExceeded.FingerprintsLimitExceeded"
    )
    malformed = [{"Identity": "not-a-fingerprint"}]
    assert (
        code_of(client, "OverwriteWhiteBoxDeviceFingerprints", KeyId=key_id, DeviceFingerprints=malformed)
        == "InvalidParameterValue"
    )
    call(client, "OverwriteWhiteBoxDeviceFingerprints", KeyId=key_id, DeviceFingerprints=[])
    assert call(client, "DescribeWhiteBoxDeviceFingerprints", KeyId=key_id)["DeviceFingerprints"] == []


def test_creation_refuses_a_taken_alias_an_unknown_algorithm_and_oversized_input(server: Server) -> None:
    client = server.client()
    name = alias()
    key_id = call(client, "CreateWhiteBoxKey", Alias=name, Algorithm="SM4")["KeyId"]
    taken = code_of(client, "CreateWhiteBoxKey", Alias=name, Algorithm="SM4")
    assert taken == "InvalidParameterValue.AliasAlreadyExists"
    assert code_of(client, "CreateWhiteBoxKey", Alias=alias(), Algorithm="DES") == "InvalidParameterValue"
    assert code_of(client, "CreateWhiteBoxKey", Alias="-bad", Algorithm="SM4") == "InvalidParameterValue.InvalidAlias"
    big = b64(bytes(4097))
    assert code_of(client, "EncryptByWhiteBox", KeyId=key_id, PlainText=big) == "InvalidParameterValue.InvalidPlaintext"
    short_iv = b64(bytes(8))
    assert (
        code_of(client, "EncryptByWhiteBox", KeyId=key_id, PlainText="aGk=", InitializationVector=short_iv)
        == "InvalidParameterValue"
    )


def test_tccli_creates_and_describes_white_box_keys(server: Server, tmp_path: Path) -> None:
    created = tccli(server, tmp_path, "CreateWhiteBoxKey", "--Alias", alias(), "--Algorithm", "SM4")
    assert created.returncode == 0, created.stderr
    key_id = json.loads(created.stdout)["KeyId"]
    described = tccli(server, tmp_path, "DescribeWhiteBoxKey", "--KeyId", key_id)
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["KeyInfo"]["Algorithm"] == "SM4"


def test_the_command_line_decrypts_and_encrypts_files_and_streams_with_the_tables(
    server: Server, created: dict[str, str], tmp_path: Path
) -> None:
    plaintext = os.urandom(100)
    reply = call(server.client(), "EncryptByWhiteBox", KeyId=created["KeyId"], PlainText=b64(plaintext))
    (tmp_path / "decrypt.key").write_text(created["DecryptKey"])
    (tmp_path / "encrypt.key").write_text(created["EncryptKey"])
    (tmp_path / "sealed").write_bytes(base64.b64decode(reply["CipherText"]))
    iv = reply["InitializationVector"]
    command = [sys.executable, "-m", "openkms.cli.main", "whitebox"]
    opened = subprocess.run(
        [
            *command,
            "decrypt",
            "--key-file",
            str(tmp_path / "decrypt.key"),
            "--iv",
            iv,
            "--in",
            str(tmp_path / "sealed"),
        ],
        capture_output=True,
        check=True,
    )
    assert opened.stdout == plaintext
    sealed = subprocess.run(
        [*command, "encrypt", "--key-file", str(tmp_path / "encrypt.key"), "--iv", iv],
        input=plaintext,
        capture_output=True,
        check=True,
    )
    assert sealed.stdout == base64.b64decode(reply["CipherText"])
    refused = subprocess.run(
        [
            *command,
            "decrypt",
            "--key-file",
            str(tmp_path / "encrypt.key"),
            "--iv",
            iv,
            "--in",
            str(tmp_path / "sealed"),
        ],
        capture_output=True,
    )
    assert refused.returncode == 2 and b"DecryptKey" in refused.stderr


def test_policies_govern_white_box_keys_like_every_other_key(fresh_server: Server, tmp_path: Path) -> None:
    admin = fresh_server.client()
    allowed = call(admin, "CreateWhiteBoxKey", Alias=alias(), Algorithm="SM4")["KeyId"]
    other = call(admin, "CreateWhiteBoxKey", Alias=alias(), Algorithm="SM4")["KeyId"]
    secret = create_credential(fresh_server)
    statement = {"effect": "allow", "action": ["kms:EncryptByWhiteBox"], "resource": key_resource(allowed)}
    attach(fresh_server, secret["SecretId"], "device-encrypt", [statement], tmp_path)
    device = fresh_server.client(secret)
    call(device, "EncryptByWhiteBox", KeyId=allowed, PlainText="aGk=")
    assert code_of(device, "EncryptByWhiteBox", KeyId=other, PlainText="aGk=") == "UnauthorizedOperation"
    assert code_of(device, "DescribeWhiteBoxDecryptKey", KeyId=allowed) == "UnauthorizedOperation"
    assert code_of(device, "DisableWhiteBoxKey", KeyId=allowed) == "UnauthorizedOperation"
    assert code_of(device, "CreateWhiteBoxKey", Alias=alias(), Algorithm="SM4") == "UnauthorizedOperation"
