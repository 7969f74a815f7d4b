"""Domain objects as the API's response structures."""

from typing import Any

from openkms.models import Key

FIPS_COMPLIANT_TYPE = 2
"""KeyMetadata.Type: 2 is FIPS 140-2 (AES-256), 4 is the Chinese national standard (SM4)."""


def key_metadata(key: Key) -> dict[str, Any]:
    return {
        "KeyId": key.key_id,
        "Alias": key.alias,
        "CreateTime": key.create_time,
        "Description": key.description,
        "KeyState": key.state.value,
        "KeyUsage": key.usage.value,
        "Type": FIPS_COMPLIANT_TYPE,
        "CreatorUin": int(key.account),
        "CreatorUinString": key.account,
        "KeyRotationEnabled": False,
        "Owner": "user",
        "NextRotateTime": 0,
        "DeletionDate": key.deletion_date,
        "Origin": key.origin.value,
        "ValidTo": 0,
        "ResourceId": f"creatorUin/{key.account}/{key.key_id}",
        "HsmClusterId": "",
        "RotateDays": 0,
        "LastRotateTime": 0,
        "IsSyncReplica": 0,
        "SourceRegion": "",
        "SyncStatus": 0,
        "SyncMessages": "",
        "SyncStartTime": 0,
        "SyncEndTime": 0,
        "SourceHsmClusterId": "",
    }
