"""KMS-hosted data keys through the official SDK."""

import base64
import os
import uuid

import pytest

from tests.sdk import call, code_of
from tests.serverproc import Server


def name(prefix: str = "dk") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def key_id(server: Server) -> str:
    created: str = call(server.client(), "CreateKey", Alias=name("cmk"))["KeyId"]
    return created


def hosted(server: Server, key_id: str, **fields: object) -> dict[str, object]:
    return call(
        server.client(),
        "GenerateDataKey",
        KeyId=key_id,
        KeySpec="AES_256",
        IsHostedByKms=1,
        DataKeyName=name(),
        **fields,
    )


def test_generate_a_hosted_data_key_and_get_it_back(server: Server, key_id: str) -> None:
    client = server.client()
    context = '{"app":"billing"}'
    generated = hosted(server, key_id, EncryptionContext=context, Description="for billing")
    data_key_id = generated["DataKeyId"]
    assert isinstance(data_key_id, str) and uuid.UUID(data_key_id)
    assert generated["KeyId"] == key_id

    metadata = call(client, "DescribeDataKey", DataKeyId=data_key_id)["DataKeyMetadata"]
    assert metadata["KeyState"] == "Enabled"
    assert metadata["NumberOfBytes"] == 32
    assert metadata["Description"] == "for billing"
    assert metadata["KeyId"] == key_id
    assert metadata["KeyName"].startswith("cmk-")
    assert metadata["Origin"] == "TENCENT_KMS"

    assert call(client, "GetDataKeyPlaintext", DataKeyId=data_key_id)["Plaintext"] == generated["Plaintext"]
    blob = call(client, "GetDataKeyCiphertextBlob", DataKeyId=data_key_id)["CiphertextBlob"]
    assert blob == generated["CiphertextBlob"]
    assert (
        call(client, "Decrypt", CiphertextBlob=blob, EncryptionContext=context)["Plaintext"] == generated["Plaintext"]
    )


def test_hosting_needs_a_unique_valid_name(server: Server, key_id: str) -> None:
    client = server.client()
    assert code_of(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1) == "MissingParameter"
    taken = name()
    call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1, DataKeyName=taken)
    assert (
        code_of(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1, DataKeyName=taken)
        == "InvalidParameterValue.DataKeyNameAlreadyExists"
    )
    assert (
        code_of(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1, DataKeyName="bad name")
        == "InvalidParameterValue.InvalidDataKeyName"
    )
    assert (
        code_of(
            client,
            "GenerateDataKey",
            KeyId=key_id,
            KeySpec="AES_256",
            IsHostedByKms=1,
            DataKeyName=name(),
            Description="x" * 101,
        )
        == "InvalidParameterValue"
    )
    assert call(client, "ListDataKeyDetail", SearchKeyAlias=taken)["TotalCount"] == 1


def test_import_plaintext_and_ciphertext_data_keys(server: Server, key_id: str) -> None:
    client = server.client()
    plaintext = os.urandom(24)
    imported = call(
        client,
        "ImportDataKey",
        DataKeyName=name(),
        ImportType=2,
        KeyId=key_id,
        ImportKeyMaterial=base64.b64encode(plaintext).decode(),
    )
    assert imported["KeyId"] == key_id
    assert base64.b64decode(call(client, "GetDataKeyPlaintext", DataKeyId=imported["DataKeyId"])["Plaintext"]) == (
        plaintext
    )
    metadata = call(client, "DescribeDataKey", DataKeyId=imported["DataKeyId"])["DataKeyMetadata"]
    assert (metadata["Origin"], metadata["NumberOfBytes"]) == ("EXTERNAL", 24)

    generated = call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_128")
    from_blob = call(
        client, "ImportDataKey", DataKeyName=name(), ImportType=1, ImportKeyMaterial=generated["CiphertextBlob"]
    )
    assert call(client, "GetDataKeyPlaintext", DataKeyId=from_blob["DataKeyId"])["Plaintext"] == generated["Plaintext"]

    other = call(client, "CreateKey", Alias=name("other"))["KeyId"]
    assert (
        code_of(
            client,
            "ImportDataKey",
            DataKeyName=name(),
            ImportType=1,
            KeyId=other,
            ImportKeyMaterial=generated["CiphertextBlob"],
        )
        == "InvalidParameterValue.InvalidKeyId"
    )
    assert code_of(
        client,
        "ImportDataKey",
        DataKeyName=name(),
        ImportType=1,
        ImportKeyMaterial=base64.b64encode(b"junk" * 20).decode(),
    ) == ("InvalidParameterValue.InvalidImportKeyMaterial")
    assert (
        code_of(
            client,
            "ImportDataKey",
            DataKeyName=name(),
            ImportType=2,
            ImportKeyMaterial=base64.b64encode(plaintext).decode(),
        )
        == "MissingParameter"
    )
    assert code_of(
        client,
        "ImportDataKey",
        DataKeyName=name(),
        ImportType=2,
        KeyId=key_id,
        ImportKeyMaterial=base64.b64encode(os.urandom(1025)).decode(),
    ) == ("InvalidParameterValue.InvalidImportKeyMaterial")
    assert (
        code_of(client, "ImportDataKey", DataKeyName=name(), ImportType=3, KeyId=key_id, ImportKeyMaterial="AAAA")
        == "InvalidParameterValue"
    )


def test_data_key_state_machine(server: Server, key_id: str) -> None:
    client = server.client()
    data_key_id = hosted(server, key_id)["DataKeyId"]

    call(client, "DisableDataKey", DataKeyId=data_key_id)
    assert call(client, "DescribeDataKey", DataKeyId=data_key_id)["DataKeyMetadata"]["KeyState"] == "Disabled"
    assert code_of(client, "GetDataKeyPlaintext", DataKeyId=data_key_id) == "ResourceUnavailable.DataKeyDisabled"
    call(client, "EnableDataKey", DataKeyId=data_key_id)
    assert call(client, "GetDataKeyPlaintext", DataKeyId=data_key_id)["Plaintext"]

    for days in (6, 31):
        assert code_of(client, "ScheduleDataKeyDeletion", DataKeyId=data_key_id, PendingWindowInDays=days) == (
            "InvalidParameter.InvalidPendingWindowInDays"
        )
    scheduled = call(client, "ScheduleDataKeyDeletion", DataKeyId=data_key_id, PendingWindowInDays=7)
    assert scheduled["DataKeyId"] == data_key_id and scheduled["DeletionDate"] > 0
    assert code_of(client, "GetDataKeyPlaintext", DataKeyId=data_key_id) == "ResourceUnavailable.DataKeyPendingDelete"
    assert code_of(client, "GetDataKeyCiphertextBlob", DataKeyId=data_key_id) == (
        "ResourceUnavailable.DataKeyPendingDelete"
    )
    assert code_of(client, "EnableDataKey", DataKeyId=data_key_id) == "ResourceUnavailable.DataKeyStateNotSupport"
    assert code_of(client, "UpdateDataKeyName", DataKeyId=data_key_id, DataKeyName=name()) == (
        "ResourceUnavailable.DataKeyStateNotSupport"
    )
    call(client, "CancelDataKeyDeletion", DataKeyId=data_key_id)
    assert call(client, "DescribeDataKey", DataKeyId=data_key_id)["DataKeyMetadata"]["KeyState"] == "Disabled"
    assert code_of(client, "CancelDataKeyDeletion", DataKeyId=data_key_id) == (
        "ResourceUnavailable.DataKeyNotPendingDelete"
    )


def test_hosted_keys_follow_their_cmk(server: Server, key_id: str) -> None:
    client = server.client()
    data_key_id = hosted(server, key_id)["DataKeyId"]
    call(client, "DisableKey", KeyId=key_id)
    assert code_of(client, "GetDataKeyPlaintext", DataKeyId=data_key_id) == "ResourceUnavailable.CmkDisabled"
    assert (
        code_of(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1, DataKeyName=name())
        == "ResourceUnavailable.CmkDisabled"
    )


def test_batches_renames_and_descriptions(server: Server, key_id: str) -> None:
    client = server.client()
    ids = [hosted(server, key_id)["DataKeyId"] for _ in range(3)]
    call(client, "DisableDataKeys", DataKeyIds=ids)
    states = {m["KeyState"] for m in call(client, "DescribeDataKeys", DataKeyIds=ids)["DataKeyMetadatas"]}
    assert states == {"Disabled"}
    assert code_of(client, "EnableDataKeys", DataKeyIds=[*ids, str(uuid.uuid4())]) == (
        "ResourceUnavailable.DataKeyNotFound"
    )
    states = {m["KeyState"] for m in call(client, "DescribeDataKeys", DataKeyIds=ids)["DataKeyMetadatas"]}
    assert states == {"Disabled"}, "a refused batch changes nothing"
    call(client, "EnableDataKeys", DataKeyIds=ids)
    assert code_of(client, "DescribeDataKeys", DataKeyIds=[ids[0], ids[0]]) == (
        "InvalidParameterValue.DuplicatedDataKeyId"
    )
    assert code_of(client, "DescribeDataKey", DataKeyId="nope") == "InvalidParameterValue.InvalidDataKeyId"
    assert code_of(client, "DescribeDataKey", DataKeyId=str(uuid.uuid4())) == "ResourceUnavailable.DataKeyNotFound"

    renamed = name("renamed")
    call(client, "UpdateDataKeyName", DataKeyId=ids[0], DataKeyName=renamed)
    call(client, "UpdateDataKeyDescription", DataKeyId=ids[0], Description="new words")
    metadata = call(client, "DescribeDataKey", DataKeyId=ids[0])["DataKeyMetadata"]
    assert (metadata["DataKeyName"], metadata["Description"]) == (renamed, "new words")
    assert code_of(client, "UpdateDataKeyName", DataKeyId=ids[1], DataKeyName=renamed) == (
        "InvalidParameterValue.DataKeyNameAlreadyExists"
    )
    assert code_of(client, "UpdateDataKeyDescription", DataKeyId=ids[1], Description="é" * 51) == (
        "InvalidParameterValue"
    )


def test_listing_data_keys(fresh_server: Server) -> None:
    client = fresh_server.client()
    first = call(client, "CreateKey", Alias="first")["KeyId"]
    second = call(client, "CreateKey", Alias="second")["KeyId"]
    ids = [hosted(fresh_server, first, NumberOfBytes=16)["DataKeyId"] for _ in range(3)]
    ids += [hosted(fresh_server, second)["DataKeyId"] for _ in range(2)]
    call(client, "DisableDataKey", DataKeyId=ids[0])

    listed = call(client, "ListDataKeys", Limit=200)
    assert listed["TotalCount"] == 5
    assert {d["DataKeyId"] for d in listed["DataKeys"]} == set(ids)
    assert len(call(client, "ListDataKeys", Limit=2)["DataKeys"]) == 2
    assert call(client, "ListDataKeyDetail", KeyId=second)["TotalCount"] == 2
    assert call(client, "ListDataKeyDetail", DataKeyLen=16)["TotalCount"] == 3
    disabled = call(client, "ListDataKeyDetail", KeyState=2)["DataKeyMetadatas"]
    assert [m["DataKeyId"] for m in disabled] == [ids[0]]
    newest = [m["DataKeyId"] for m in call(client, "ListDataKeyDetail", Limit=200)["DataKeyMetadatas"]]
    oldest = [m["DataKeyId"] for m in call(client, "ListDataKeyDetail", Limit=200, OrderType=1)["DataKeyMetadatas"]]
    assert newest == list(reversed(oldest))
    assert call(client, "GetServiceStatus")["DataKeyUsedCount"] == 5
    assert code_of(client, "ListDataKeyDetail", KeyState=4) == "InvalidParameterValue"


def test_tags_on_keys_and_data_keys(fresh_server: Server) -> None:
    client = fresh_server.client()
    assert code_of(
        client, "CreateKey", Alias="dup-tags", Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "a", "TagValue": "2"}]
    ) == ("InvalidParameterValue.TagKeysDuplicated")
    key_id = call(client, "CreateKey", Alias="tagged", Tags=[{"TagKey": "env", "TagValue": "prod"}])["KeyId"]
    generated = hosted(fresh_server, key_id, Tags=[{"TagKey": "app", "TagValue": "pay"}])
    assert generated["TagCode"] == 0
    imported = call(
        client,
        "ImportDataKey",
        DataKeyName="imp",
        ImportType=2,
        KeyId=key_id,
        ImportKeyMaterial=base64.b64encode(os.urandom(16)).decode(),
        Tags=[{"TagKey": "app", "TagValue": "ledger"}],
    )
    assert imported["TagCode"] == 0
    hosted(fresh_server, key_id)

    by_app = call(client, "ListDataKeyDetail", TagFilters=[{"TagKey": "app", "TagValue": ["pay"]}])
    assert [m["DataKeyId"] for m in by_app["DataKeyMetadatas"]] == [generated["DataKeyId"]]
    any_app = call(client, "ListDataKeyDetail", TagFilters=[{"TagKey": "app"}])
    assert any_app["TotalCount"] == 2
    assert call(client, "ListKeyDetail", TagFilters=[{"TagKey": "env", "TagValue": ["prod"]}])["TotalCount"] == 1
    assert code_of(client, "ListKeyDetail", TagFilters=[{"TagKey": "nobody-uses-this"}]) == (
        "InvalidParameterValue.TagsNotExisted"
    )
    assert code_of(client, "ListDataKeyDetail", TagFilters=[{"TagKey": "nobody-uses-this"}]) == (
        "InvalidParameterValue.TagsNotExisted"
    )
    assert code_of(
        client,
        "GenerateDataKey",
        KeyId=key_id,
        KeySpec="AES_256",
        IsHostedByKms=1,
        DataKeyName="t",
        Tags=[{"TagKey": "k", "TagValue": "1"}, {"TagKey": "k", "TagValue": "2"}],
    ) == ("InvalidParameterValue.TagKeysDuplicated")
