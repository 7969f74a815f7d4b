"""Service-level actions: status, regions, algorithms."""

from openkms.api.actions.registry import Params, Response, Services
from openkms.crypto.usages import USAGES, Purpose
from openkms.domain.models import Caller, KeyUsage, SymmetricCipher

UNLIMITED = 2**31 - 1
"""What a quota turned off (0) is reported as: a client comparing its count with the limit sees room."""
SYMMETRIC_ALGORITHMS = {
    SymmetricCipher.AES_256_GCM: [{"KeyUsage": KeyUsage.ENCRYPT_DECRYPT.value, "Algorithm": "AES_256"}],
    SymmetricCipher.SM4_GCM: [{"KeyUsage": KeyUsage.ENCRYPT_DECRYPT.value, "Algorithm": "SM4"}],
}
"""What CreateKey makes for ENCRYPT_DECRYPT, by the server's crypto standard."""
ASYMMETRIC_ALGORITHMS = [
    {"KeyUsage": usage.value, "Algorithm": spec.algorithm}
    for usage, spec in USAGES.items()
    if spec.key_pair and spec.purpose is Purpose.ENCRYPT_DECRYPT
]
SIGN_VERIFY_ALGORITHMS = [
    {"KeyUsage": usage.value, "Algorithm": spec.algorithm}
    for usage, spec in USAGES.items()
    if spec.key_pair and spec.purpose is Purpose.SIGN_VERIFY
]


def get_service_status(services: Services, caller: Caller, p: Params) -> Response:
    return {
        "ServiceEnabled": True,
        "InvalidType": 1,
        "UserLevel": 0,
        "ProExpireTime": 0,
        "ProRenewFlag": 0,
        "ProResourceId": "",
        "ExclusiveVSMEnabled": False,
        "ExclusiveHSMEnabled": False,
        "SubscriptionInfo": "",
        "CmkUserCount": services.keys.count(caller),
        "CmkLimit": services.keys.cmk_limit or UNLIMITED,
        "ExclusiveHSMList": [],
        "IsAllowedDataKeyHosted": True,
        "DataKeyLimit": services.data_keys.data_key_limit or UNLIMITED,
        "FreeDataKeyLimit": services.data_keys.data_key_limit or UNLIMITED,
        "DataKeyUsedCount": services.data_keys.count(caller),
        "SyncTaskList": [],
        "IsAllowedSync": False,
        # Rate limits are per account, shared by its regions.
        "QpsLimit": services.qps,
        "QpsTotalLimit": services.qps,
        "RegionsQps": [{"Region": region, "Qps": services.qps} for region in services.regions],
        # No availability zones, and no multi-account (trusted service) management.
        "ResourceZone": 0,
        "ResourceRegion": 0,
        "MultiAccountLimit": 0,
        "MultiAccountUsedCount": 0,
    }


def get_regions(services: Services, caller: Caller, p: Params) -> Response:
    return {"Regions": list(services.regions)}


def list_algorithms(services: Services, caller: Caller, p: Params) -> Response:
    return {
        "SymmetricAlgorithms": SYMMETRIC_ALGORITHMS[services.keys.symmetric_cipher],
        "AsymmetricAlgorithms": ASYMMETRIC_ALGORITHMS,
        "AsymmetricSignVerifyAlgorithms": SIGN_VERIFY_ALGORITHMS,
    }
