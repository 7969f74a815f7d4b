"""Cloud-resource bindings through the official SDK: idempotent binds, a clear refusal to unbind what
is not bound, a bound key's expiry cancelled, and a bound key kept from being disabled or destroyed."""

import os
import time
import uuid
from pathlib import Path

from tests.e2e.test_key_import import external_key, wrap_for
from tests.e2e.test_tccli import tccli
from tests.sdk import call, code_of, error_of
from tests.serverproc import Server

USED = "FailedOperation.CmkUsedByCloudProduct"


def new_key(server: Server) -> str:
    key_id: str = call(server.client(), "CreateKey", Alias=f"bound-{uuid.uuid4().hex[:12]}")["KeyId"]
    return key_id


def test_binding_is_idempotent_and_unbinding_what_is_not_bound_is_refused(server: Server) -> None:
    client, key_id = server.client(), new_key(server)
    binding = {"KeyId": key_id, "ProductId": "ssm", "ResourceId": "secret/payments"}
    call(client, "BindCloudResource", **binding)
    call(client, "BindCloudResource", **binding)
    call(client, "UnbindCloudResource", **binding)
    assert code_of(client, "UnbindCloudResource", **binding) == "ResourceUnavailable.CloudResourceBindingNotFound"
    unknown = {**binding, "KeyId": str(uuid.uuid4())}
    assert code_of(client, "BindCloudResource", **unknown) == "ResourceUnavailable.CmkNotFound"
    assert code_of(client, "BindCloudResource", **{**binding, "ProductId": ""}) == "InvalidParameterValue"


def test_a_bound_key_is_neither_disabled_nor_scheduled_for_deletion_until_unbound(server: Server) -> None:
    client, key_id, other = server.client(), new_key(server), new_key(server)
    call(client, "BindCloudResource", KeyId=key_id, ProductId="cbs", ResourceId="disk-1")
    refused = error_of(client, "DisableKey", KeyId=key_id)
    assert refused.get_code() == USED and "cbs/disk-1" in refused.get_message()
    assert code_of(client, "DisableKeys", KeyIds=[other, key_id]) == USED
    assert call(client, "DescribeKey", KeyId=other)["KeyMetadata"]["KeyState"] == "Enabled", "all or none"
    call(client, "UnbindCloudResource", KeyId=key_id, ProductId="cbs", ResourceId="disk-1")
    call(client, "DisableKey", KeyId=key_id)
    call(client, "BindCloudResource", KeyId=key_id, ProductId="cbs", ResourceId="disk-2")
    assert code_of(client, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7) == USED
    call(client, "UnbindCloudResource", KeyId=key_id, ProductId="cbs", ResourceId="disk-2")
    call(client, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    assert code_of(client, "BindCloudResource", KeyId=key_id, ProductId="cbs", ResourceId="disk-3") == (
        "ResourceUnavailable.CmkStateNotSupport"
    )


def test_binding_cancels_the_expiry_of_imported_material_and_keeps_the_material(server: Server) -> None:
    client, key_id = server.client(), external_key(server)
    token, wrapped = wrap_for(server, key_id, os.urandom(32))
    valid_to = int(time.time()) + 3600
    call(client, "ImportKeyMaterial", KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped, ValidTo=valid_to)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["ValidTo"] == valid_to
    call(client, "BindCloudResource", KeyId=key_id, ProductId="cos", ResourceId="bucket-1")
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["ValidTo"] == 0
    assert code_of(client, "DeleteImportedKeyMaterial", KeyId=key_id) == USED


def test_tccli_binds_and_unbinds(server: Server, tmp_path: Path) -> None:
    key_id = new_key(server)
    args = ("--KeyId", key_id, "--ProductId", "tke", "--ResourceId", "cluster-1")
    bound = tccli(server, tmp_path, "BindCloudResource", *args)
    assert bound.returncode == 0, bound.stderr
    assert code_of(server.client(), "DisableKey", KeyId=key_id) == USED
    unbound = tccli(server, tmp_path, "UnbindCloudResource", *args)
    assert unbound.returncode == 0, unbound.stderr
    again = tccli(server, tmp_path, "UnbindCloudResource", *args)
    assert again.returncode != 0 and "CloudResourceBindingNotFound" in again.stdout + again.stderr
