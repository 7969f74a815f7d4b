"""Each account has a quota of keys and hosted data keys per region, reported by GetServiceStatus as
Tencent Cloud reports it (a client that checks CmkUserCount < CmkLimit must see the truth)."""

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdk import call, code_of
from tests.serverproc import Server


@pytest.fixture
def small_quota_server(tmp_path: Path) -> Iterator[Server]:
    limits = ("--cmk-limit", "3", "--data-key-limit", "2", "--region", "ap-guangzhou", "--region", "ap-shanghai")
    server = Server(tmp_path / "data", limits, quotas=True).start()
    try:
        yield server
    finally:
        server.stop()


def alias() -> str:
    return f"quota-{uuid.uuid4().hex[:8]}"


def test_the_default_quotas_and_rates_are_tencent_clouds(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", rate_limits=True, quotas=True).start()
    try:
        client = server.client()
        call(client, "CreateKey", Alias=alias())
        status = call(client, "GetServiceStatus")
        assert (status["CmkUserCount"], status["CmkLimit"]) == (1, 200)
        assert status["DataKeyLimit"] == status["FreeDataKeyLimit"] > 0
        assert status["QpsLimit"] == status["QpsTotalLimit"] == 300
        assert status["RegionsQps"] == [{"Region": "ap-guangzhou", "Qps": 300}]
    finally:
        server.stop()


def test_a_quota_turned_off_is_reported_as_room_to_grow(tmp_path: Path) -> None:
    server = Server(tmp_path / "data", ("--cmk-limit", "0", "--data-key-limit", "0"), quotas=True).start()
    try:
        status = call(server.client(), "GetServiceStatus")
        assert status["CmkLimit"] == status["DataKeyLimit"] == 2**31 - 1
    finally:
        server.stop()


def test_keys_beyond_the_quota_are_refused_until_one_is_scheduled_for_deletion(small_quota_server: Server) -> None:
    client = small_quota_server.client()
    keys = [call(client, "CreateKey", Alias=alias())["KeyId"] for _ in range(3)]
    assert code_of(client, "CreateKey", Alias=alias()) == "LimitExceeded.CmkLimitExceeded"
    assert code_of(client, "CreateKey", Alias=alias(), KeyUsage="ASYMMETRIC_DECRYPT_RSA_2048") == (
        "LimitExceeded.CmkLimitExceeded"
    )
    status = call(client, "GetServiceStatus")
    assert (status["CmkUserCount"], status["CmkLimit"]) == (3, 3)
    assert call(small_quota_server.client(region="ap-shanghai"), "CreateKey", Alias=alias())["KeyId"], "per region"
    call(client, "DisableKey", KeyId=keys[0])
    call(client, "ScheduleKeyDeletion", KeyId=keys[0], PendingWindowInDays=7)
    assert call(client, "GetServiceStatus")["CmkUserCount"] == 2
    call(client, "CreateKey", Alias=alias())


def test_hosted_data_keys_beyond_the_quota_are_refused(small_quota_server: Server) -> None:
    client = small_quota_server.client()
    key_id = call(client, "CreateKey", Alias=alias())["KeyId"]
    hosted = {"KeyId": key_id, "KeySpec": "AES_256", "IsHostedByKms": 1}
    for _ in range(2):
        call(client, "GenerateDataKey", **hosted, DataKeyName=alias())
    assert code_of(client, "GenerateDataKey", **hosted, DataKeyName=alias()) == "LimitExceeded.DataKeyLimitExceeded"
    material = base64.b64encode(os.urandom(32)).decode()
    assert code_of(
        client, "ImportDataKey", DataKeyName=alias(), ImportKeyMaterial=material, ImportType=2, KeyId=key_id
    ) == ("LimitExceeded.DataKeyLimitExceeded")
    not_hosted = call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256")
    assert not_hosted["Plaintext"], "data keys not hosted are not counted"
    status = call(client, "GetServiceStatus")
    assert (status["DataKeyUsedCount"], status["DataKeyLimit"]) == (2, 2)
