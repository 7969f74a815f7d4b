"""Key rotation through the official SDK: every ciphertext ever returned keeps decrypting."""

import base64
import struct
import uuid

from tests.sdk import call, code_of
from tests.serverproc import Server


def version_of(blob: str) -> int:
    version: int = struct.unpack(">I", base64.b64decode(blob)[17:21])[0]
    return version


def new_key(server: Server, **fields: object) -> str:
    key_id: str = call(server.client(), "CreateKey", Alias=f"rot-{uuid.uuid4().hex[:12]}", **fields)["KeyId"]
    return key_id


def test_enable_and_disable_rotation(server: Server) -> None:
    client = server.client()
    key_id = new_key(server)
    status = call(client, "GetKeyRotationStatus", KeyId=key_id)
    assert status["KeyRotationEnabled"] is False

    call(client, "EnableKeyRotation", KeyId=key_id)
    metadata = call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyRotationEnabled"] is True
    assert metadata["RotateDays"] == 365
    assert abs(metadata["NextRotateTime"] - metadata["CreateTime"] - 365 * 86400) < 60
    assert call(client, "GetKeyRotationStatus", KeyId=key_id)["KeyRotationEnabled"] is True

    call(client, "EnableKeyRotation", KeyId=key_id, RotateDays=30)
    metadata = call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert metadata["RotateDays"] == 30
    assert abs(metadata["NextRotateTime"] - metadata["CreateTime"] - 30 * 86400) < 60

    for days in (6, 366, 0):
        assert code_of(client, "EnableKeyRotation", KeyId=key_id, RotateDays=days) == "InvalidParameterValue"

    call(client, "DisableKeyRotation", KeyId=key_id)
    metadata = call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyRotationEnabled"], metadata["NextRotateTime"]) == (False, 0)


def test_rotate_on_demand_keeps_old_ciphertexts_working(server: Server) -> None:
    client = server.client()
    key_id = new_key(server)
    old = call(client, "Encrypt", KeyId=key_id, Plaintext="b2xk", EncryptionContext='{"v":"1"}')["CiphertextBlob"]
    assert version_of(old) == 1

    task = call(client, "RotateKey", KeyId=key_id)
    assert uuid.UUID(task["TaskId"])
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["LastRotateTime"] > 0

    new = call(client, "Encrypt", KeyId=key_id, Plaintext="bmV3")["CiphertextBlob"]
    assert version_of(new) == 2
    assert call(client, "Decrypt", CiphertextBlob=old, EncryptionContext='{"v":"1"}')["Plaintext"] == "b2xk"
    assert call(client, "Decrypt", CiphertextBlob=new)["Plaintext"] == "bmV3"
    data_key = call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256")
    assert version_of(data_key["CiphertextBlob"]) == 2

    moved = call(
        client,
        "ReEncrypt",
        CiphertextBlob=old,
        SourceEncryptionContext='{"v":"1"}',
        DestinationEncryptionContext='{"v":"1"}',
    )
    assert moved["ReEncrypted"] is True
    assert version_of(moved["CiphertextBlob"]) == 2
    assert (
        call(client, "Decrypt", CiphertextBlob=moved["CiphertextBlob"], EncryptionContext='{"v":"1"}')["Plaintext"]
        == "b2xk"
    )
    unchanged = call(client, "ReEncrypt", CiphertextBlob=new)
    assert unchanged["ReEncrypted"] is False

    assert code_of(client, "RotateKey", KeyId=key_id) == "RequestLimitExceeded.RotateRateLimited"


def test_rotation_needs_an_enabled_kms_generated_key(server: Server) -> None:
    client = server.client()
    disabled = new_key(server)
    call(client, "DisableKey", KeyId=disabled)
    assert code_of(client, "RotateKey", KeyId=disabled) == "ResourceUnavailable.CmkDisabled"

    external = new_key(server, Type=2)
    assert code_of(client, "EnableKeyRotation", KeyId=external) == "UnsupportedOperation.ExternalCmkCanNotRotate"
    assert code_of(client, "RotateKey", KeyId=external) in (
        "UnsupportedOperation.ExternalCmkCanNotRotate",
        "ResourceUnavailable.CmkStateNotSupport",
    )
    assert code_of(client, "RotateKey", KeyId=str(uuid.uuid4())) == "ResourceUnavailable.CmkNotFound"
