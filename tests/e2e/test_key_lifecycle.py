"""The key lifecycle through the official SDK: create, describe, list, rename, state changes."""

import uuid

from tests.sdk import call, code_of
from tests.serverproc import Server


def unique_alias(prefix: str = "key") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_create_key_returns_an_enabled_symmetric_key(server: Server) -> None:
    client = server.client()
    alias = unique_alias()
    created = call(client, "CreateKey", Alias=alias, Description="payments")
    assert uuid.UUID(created["KeyId"])
    assert created["Alias"] == alias
    assert created["KeyState"] == "Enabled"
    assert created["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert created["Description"] == "payments"
    assert created["TagCode"] == 0

    metadata = call(client, "DescribeKey", KeyId=created["KeyId"])["KeyMetadata"]
    assert metadata["KeyId"] == created["KeyId"]
    assert metadata["Alias"] == alias
    assert metadata["KeyState"] == "Enabled"
    assert metadata["Origin"] == "TENCENT_KMS"
    assert metadata["Type"] == 2
    assert metadata["Owner"] == "user"
    assert metadata["CreateTime"] == created["CreateTime"]
    assert metadata["ResourceId"] == f"creatorUin/{metadata['CreatorUin']}/{created['KeyId']}"


def test_alias_rules(server: Server) -> None:
    client = server.client()
    for bad in ["", "-starts-with-dash", "has space", "x" * 61, "kms-reserved", "ünicode"]:
        assert code_of(client, "CreateKey", Alias=bad) in (
            "InvalidParameterValue.InvalidAlias",
            "MissingParameter",
        ), bad
    alias = unique_alias()
    call(client, "CreateKey", Alias=alias)
    assert code_of(client, "CreateKey", Alias=alias) == "InvalidParameterValue.AliasAlreadyExists"
    assert call(client, "CreateKey", Alias="A" + "b_-9" * 14 + "z")["KeyState"] == "Enabled"


def test_description_is_limited_to_1024_bytes(server: Server) -> None:
    client = server.client()
    assert code_of(client, "CreateKey", Alias=unique_alias(), Description="é" * 513) == "InvalidParameterValue"
    key_id = call(client, "CreateKey", Alias=unique_alias(), Description="é" * 512)["KeyId"]
    call(client, "UpdateKeyDescription", KeyId=key_id, Description="new")
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["Description"] == "new"
    assert code_of(client, "UpdateKeyDescription", KeyId=key_id, Description="x" * 1025) == "InvalidParameterValue"


def test_update_alias(server: Server) -> None:
    client = server.client()
    first = call(client, "CreateKey", Alias=unique_alias())["KeyId"]
    taken = unique_alias()
    call(client, "CreateKey", Alias=taken)
    renamed = unique_alias()
    call(client, "UpdateAlias", KeyId=first, Alias=renamed)
    assert call(client, "DescribeKey", KeyId=first)["KeyMetadata"]["Alias"] == renamed
    assert code_of(client, "UpdateAlias", KeyId=first, Alias=taken) == "InvalidParameterValue.AliasAlreadyExists"
    assert code_of(client, "UpdateAlias", KeyId=first, Alias="bad alias") == "InvalidParameterValue.InvalidAlias"
    assert call(client, "DescribeKey", KeyId=first)["KeyMetadata"]["Alias"] == renamed


def test_unknown_and_malformed_key_ids(server: Server) -> None:
    client = server.client()
    assert code_of(client, "DescribeKey", KeyId=str(uuid.uuid4())) == "ResourceUnavailable.CmkNotFound"
    assert code_of(client, "DescribeKey", KeyId="not-a-key") == "InvalidParameterValue.InvalidKeyId"
    assert code_of(client, "EnableKey", KeyId=str(uuid.uuid4())) == "ResourceUnavailable.CmkNotFound"


def test_disable_and_enable(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateKey", Alias=unique_alias())["KeyId"]
    call(client, "DisableKey", KeyId=key_id)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    call(client, "DisableKey", KeyId=key_id)  # idempotent
    call(client, "EnableKey", KeyId=key_id)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_batch_enable_and_disable_are_all_or_nothing(server: Server) -> None:
    client = server.client()
    ids = [call(client, "CreateKey", Alias=unique_alias())["KeyId"] for _ in range(3)]
    call(client, "DisableKeys", KeyIds=ids)
    states = [m["KeyState"] for m in call(client, "DescribeKeys", KeyIds=ids)["KeyMetadatas"]]
    assert states == ["Disabled"] * 3

    missing = str(uuid.uuid4())
    assert code_of(client, "EnableKeys", KeyIds=[*ids, missing]) == "ResourceUnavailable.CmkNotFound"
    states = [m["KeyState"] for m in call(client, "DescribeKeys", KeyIds=ids)["KeyMetadatas"]]
    assert states == ["Disabled"] * 3, "a refused batch changes nothing"

    assert code_of(client, "EnableKeys", KeyIds=[ids[0], ids[0]]) == "InvalidParameterValue.DuplicatedKeyId"
    assert code_of(client, "EnableKeys", KeyIds=[str(uuid.uuid4()) for _ in range(101)]) == "InvalidParameterValue"
    call(client, "EnableKeys", KeyIds=ids)
    states = [m["KeyState"] for m in call(client, "DescribeKeys", KeyIds=ids)["KeyMetadatas"]]
    assert states == ["Enabled"] * 3


def test_describe_keys_leaves_out_unknown_ids(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateKey", Alias=unique_alias())["KeyId"]
    found = call(client, "DescribeKeys", KeyIds=[key_id, str(uuid.uuid4())])["KeyMetadatas"]
    assert [m["KeyId"] for m in found] == [key_id]


def test_schedule_and_cancel_deletion(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateKey", Alias=unique_alias())["KeyId"]
    assert code_of(client, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7) == (
        "ResourceUnavailable.CmkShouldBeDisabled"
    )
    call(client, "DisableKey", KeyId=key_id)
    for days in (6, 31, 0):
        assert code_of(client, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=days) == (
            "InvalidParameter.InvalidPendingWindowInDays"
        )
    scheduled = call(client, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    metadata = call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDelete"
    assert metadata["DeletionDate"] == scheduled["DeletionDate"]
    assert abs(scheduled["DeletionDate"] - metadata["CreateTime"] - 7 * 86400) < 60
    assert code_of(client, "EnableKey", KeyId=key_id) == "ResourceUnavailable.CmkStateNotSupport"
    assert (
        code_of(client, "UpdateAlias", KeyId=key_id, Alias=unique_alias()) == "ResourceUnavailable.CmkStateNotSupport"
    )

    assert call(client, "CancelKeyDeletion", KeyId=key_id)["KeyId"] == key_id
    metadata = call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["DeletionDate"]) == ("Disabled", 0)
    assert code_of(client, "CancelKeyDeletion", KeyId=key_id) == "ResourceUnavailable.CmkNotPendingDelete"


def test_archive_and_cancel_archive(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateKey", Alias=unique_alias())["KeyId"]
    call(client, "ArchiveKey", KeyId=key_id)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Archived"
    call(client, "CancelKeyArchive", KeyId=key_id)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    call(client, "DisableKey", KeyId=key_id)
    assert code_of(client, "ArchiveKey", KeyId=key_id) == "ResourceUnavailable.CmkStateNotSupport"


def test_list_keys_pages_and_skips_pending_delete(tmp_path: object, fresh_server: Server) -> None:
    client = fresh_server.client()
    ids = [call(client, "CreateKey", Alias=f"list-{i:02d}")["KeyId"] for i in range(12)]
    page = call(client, "ListKeys")
    assert page["TotalCount"] == 12
    assert len(page["Keys"]) == 10
    rest = call(client, "ListKeys", Offset=10, Limit=10)
    assert {k["KeyId"] for k in page["Keys"] + rest["Keys"]} == set(ids)
    assert code_of(client, "ListKeys", Limit=201) == "InvalidParameterValue"

    call(client, "DisableKey", KeyId=ids[0])
    call(client, "ScheduleKeyDeletion", KeyId=ids[0], PendingWindowInDays=7)
    call(client, "ArchiveKey", KeyId=ids[1])
    listed = {k["KeyId"] for k in call(client, "ListKeys", Limit=200)["Keys"]}
    assert listed == set(ids[2:])


def test_list_key_detail_filters(fresh_server: Server) -> None:
    client = fresh_server.client()
    ids = [
        call(client, "CreateKey", Alias=f"detail-{i}", Tags=[{"TagKey": "team", "TagValue": f"t{i % 2}"}])["KeyId"]
        for i in range(5)
    ]
    call(client, "CreateKey", Alias="other-name")
    call(client, "DisableKey", KeyId=ids[0])

    everything = call(client, "ListKeyDetail", Limit=200)
    assert everything["TotalCount"] == 6
    newest_first = [m["KeyId"] for m in everything["KeyMetadatas"]]
    oldest_first = [m["KeyId"] for m in call(client, "ListKeyDetail", Limit=200, OrderType=1)["KeyMetadatas"]]
    assert newest_first == list(reversed(oldest_first))

    disabled = call(client, "ListKeyDetail", KeyState=2)
    assert [m["KeyId"] for m in disabled["KeyMetadatas"]] == [ids[0]]
    assert call(client, "ListKeyDetail", SearchKeyAlias="detail-")["TotalCount"] == 5
    assert call(client, "ListKeyDetail", SearchKeyAlias=ids[3][:13])["KeyMetadatas"][0]["KeyId"] == ids[3]
    assert call(client, "ListKeyDetail", Origin="EXTERNAL")["TotalCount"] == 0
    assert call(client, "ListKeyDetail", Origin="TENCENT_KMS", KeyUsage="ALL")["TotalCount"] == 6
    tagged = call(client, "ListKeyDetail", TagFilters=[{"TagKey": "team", "TagValue": ["t0"]}], Limit=200)
    assert {m["KeyId"] for m in tagged["KeyMetadatas"]} == {ids[0], ids[2], ids[4]}
    assert call(client, "ListKeyDetail", Role=1)["TotalCount"] == 0
    assert code_of(client, "ListKeyDetail", KeyState=9) == "InvalidParameterValue"
    assert code_of(client, "ListKeyDetail", KeyUsage="NOPE") == "InvalidParameterValue.InvalidKeyUsage"


def test_unsupported_key_kinds_are_refused_clearly(server: Server) -> None:
    client = server.client()
    assert code_of(client, "CreateKey", Alias=unique_alias(), Type=3) == "InvalidParameterValue.InvalidType"
    assert code_of(client, "CreateKey", Alias=unique_alias(), KeyUsage="SOMETHING") == (
        "InvalidParameterValue.InvalidKeyUsage"
    ), "not a key usage at all, as Tencent Cloud answers"
    assert code_of(client, "CreateKey", Alias=unique_alias(), HsmClusterId="cluster-1") == (
        "InvalidParameterValue.InvalidHsmClusterId"
    )
