"""Domain objects as the API's response structures."""

from typing import Any

from openkms.crypto.usages import USAGES
from openkms.domain.models import DataKey, Key, SymmetricCipher

FIPS_COMPLIANT_TYPE = 2
NATIONAL_STANDARD_TYPE = 4
"""KeyMetadata.Type: 2 is FIPS 140-2 (AES-256), 4 is the Chinese national standard (SM4, and SM2 keys)."""

NOT_REPLICATED: dict[str, Any] = {
    "HsmClusterId": "",
    "IsSyncReplica": 0,
    "SourceRegion": "",
    "SyncStatus": 0,
    "SyncMessages": "",
    "SyncStartTime": 0,
    "SyncEndTime": 0,
    "SourceHsmClusterId": "",
}
"""OpenKMS has no HSM clusters and no cross-region replicas: every key reports the same here."""


def owner_account(account: str) -> dict[str, Any]:
    """The owning account's fields. OpenKMS accounts are UINs only: no AppId, no name."""
    return {"AccountUin": int(account), "AccountAppId": 0, "AccountName": ""}


def metadata_type(key: Key) -> int:
    national = key.cipher == SymmetricCipher.SM4_GCM or USAGES[key.usage].national
    return NATIONAL_STANDARD_TYPE if national else FIPS_COMPLIANT_TYPE


def key_metadata(key: Key) -> dict[str, Any]:
    return {
        "KeyId": key.key_id,
        "Alias": key.alias,
        "CreateTime": key.create_time,
        "Description": key.description,
        "KeyState": key.state.value,
        "KeyUsage": key.usage.value,
        "Type": metadata_type(key),
        "CreatorUin": int(key.account),
        "CreatorUinString": key.account,
        "KeyRotationEnabled": key.rotation_enabled,
        "Owner": "user",
        "NextRotateTime": key.next_rotate_time,
        "DeletionDate": key.deletion_date,
        "Origin": key.origin.value,
        "ValidTo": key.valid_to,
        "ResourceId": f"creatorUin/{key.account}/{key.key_id}",
        "RotateDays": key.rotate_days,
        "LastRotateTime": key.last_rotate_time,
        **owner_account(key.account),
        **NOT_REPLICATED,
    }


def data_key_metadata(data_key: DataKey, key_name: str) -> dict[str, Any]:
    return {
        "DataKeyId": data_key.data_key_id,
        "KeyId": data_key.key_id,
        "KeyName": key_name,
        "DataKeyName": data_key.name,
        "NumberOfBytes": data_key.number_of_bytes,
        "CreateTime": data_key.create_time,
        "Description": data_key.description,
        "KeyState": data_key.state.value,
        "CreatorUin": int(data_key.account),
        "CreatorUinString": data_key.account,
        "Owner": "user",
        "DeletionDate": data_key.deletion_date,
        "Origin": data_key.origin.value,
        "ResourceId": f"creatorUin/{data_key.account}/{data_key.data_key_id}",
        **owner_account(data_key.account),
        **NOT_REPLICATED,
    }
