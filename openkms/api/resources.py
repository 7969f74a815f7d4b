"""Which keys a request touches, named as CAM resources, for authorization and the audit trail.

qcs::kms:<region>:uin/<account>:key/<KeyId>          a customer master key
qcs::kms:<region>:uin/<account>:datakey/<DataKeyId>  a hosted data key
qcs::kms:<region>:uin/<account>:key/*                creating or listing keys (datakey/* likewise)
qcs::kms:<region>:uin/<account>:*                    requests that touch no key (GenerateRandom, ...)

Every action of the API is in RESOURCES, by name, and so are the AWS-only actions, by their AWS names.
An action that is not is refused for a credential with policies rather than treated as touching
nothing: a new action must say what it touches before a restricted credential can call it.
"""

from collections.abc import Callable, Mapping
from typing import Any

from openkms.api.encoding import b64decode
from openkms.auth.policy import Resource
from openkms.crypto import post_quantum
from openkms.crypto.ciphertext import CiphertextHeader, parse_header
from openkms.crypto.context import parse_context
from openkms.domain.errors import InvalidCiphertext, KmsError, Unauthorized
from openkms.domain.models import Caller

Params = Mapping[str, Any]
HostedDataKeyOwner = Callable[[Caller, str], tuple[str, str] | None]
"""A hosted data key's CMK id and the EncryptionContext it was stored with; None if the caller has no
such data key."""
Resolver = Callable[[Caller, Params, HostedDataKeyOwner], list[Resource]]


def _prefix(caller: Caller) -> str:
    return f"qcs::kms:{caller.region}:uin/{caller.account}:"


def _context(text: Any) -> dict[str, str]:
    try:
        return parse_context(text)
    except KmsError:
        return {}  # the request will be refused for its context anyway


def _blob_key(params: Params, field: str, parse: Callable[[bytes], CiphertextHeader] = parse_header) -> str:
    try:
        return parse(b64decode(params.get(field, ""), InvalidCiphertext, field)).key_id
    except KmsError:
        return "*"


def _key(caller: Caller, key_id: str, context: Mapping[str, str] | None = None) -> Resource:
    return Resource(f"{_prefix(caller)}key/{key_id}", context or {})


def _data_key(caller: Caller, data_key_id: str, owner: HostedDataKeyOwner) -> list[Resource]:
    """The data key, and the CMK that opens it (with the context it was stored with): a credential
    denied a key must not reach the data keys kept under it."""
    found = owner(caller, data_key_id) if data_key_id != "*" else None
    if found is None:
        return [Resource(f"{_prefix(caller)}datakey/{data_key_id}", {})]
    key_id, stored_context = found
    context = _context(stored_context or None)
    return [Resource(f"{_prefix(caller)}datakey/{data_key_id}", context), _key(caller, key_id, context)]


def _account(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    return [Resource(f"{_prefix(caller)}*", {})]


def _all_keys(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    return [_key(caller, "*")]


def _all_data_keys(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    return [Resource(f"{_prefix(caller)}datakey/*", {})]


def _data_keys_of_key(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    """Listing data keys, possibly only those under one CMK: that CMK is touched too."""
    under = [_key(caller, str(p["KeyId"]))] if p.get("KeyId") else []
    return _all_data_keys(caller, p, owner) + under


def _one_key(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    return [_key(caller, str(p.get("KeyId", "*")), _context(p.get("EncryptionContext")))]


def _alias_keys(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    """The key an alias names, and (AWS's UpdateAlias, which moves an alias) the key it leaves."""
    ids = p.get("AliasKeyIds")
    return (
        [_key(caller, str(key_id)) for key_id in ids] if isinstance(ids, list) and ids else _one_key(caller, p, owner)
    )


def _audit_events(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    """One key's events are that key's to read. The rest of the trail is the whole account's, every
    region's (events record no region): a resource with no region, which a policy naming one region
    does not match."""
    if p.get("KeyId"):
        return _one_key(caller, p, owner)
    return [Resource(f"qcs::kms::uin/{caller.account}:audit", {})]


def _keys(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    ids = p.get("KeyIds")
    return [_key(caller, str(key_id)) for key_id in ids] if isinstance(ids, list) and ids else [_key(caller, "*")]


def _one_data_key(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    return _data_key(caller, str(p.get("DataKeyId", "*")), owner)


def _data_keys(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    ids = p.get("DataKeyIds")
    if not isinstance(ids, list) or not ids:
        return _data_key(caller, "*", owner)
    return [resource for data_key_id in ids for resource in _data_key(caller, str(data_key_id), owner)]


def _decrypt(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    return [_key(caller, _blob_key(p, "CiphertextBlob"), _context(p.get("EncryptionContext")))]


def _post_quantum_decrypt(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    return [_key(caller, _blob_key(p, "CiphertextBlob", post_quantum.parse_header))]


def _re_encrypt(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    source = _blob_key(p, "CiphertextBlob")
    destination = p.get("DestinationKeyId") or source
    return [
        _key(caller, source, _context(p.get("SourceEncryptionContext"))),
        _key(caller, str(destination), _context(p.get("DestinationEncryptionContext"))),
    ]


def _generate_data_key(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    hosted = _all_data_keys(caller, p, owner) if p.get("IsHostedByKms") else []
    return _one_key(caller, p, owner) + hosted


def _import_data_key(caller: Caller, p: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    key_id = p.get("KeyId") or (_blob_key(p, "ImportKeyMaterial") if p.get("ImportType") == 1 else "*")
    return [_key(caller, str(key_id)), *_all_data_keys(caller, p, owner)]


_ACCOUNT_ACTIONS = (
    "GenerateRandom",
    "GetRegions",
    "GetServiceStatus",
    "ListAlgorithms",
    "DescribeWhiteBoxServiceStatus",
    "ListRetirableGrants",
)
_KEY_LISTING_ACTIONS = ("CreateKey", "ListKeys", "ListKeyDetail", "CreateWhiteBoxKey", "DescribeWhiteBoxKeyDetails")
_ONE_KEY_ACTIONS = (
    "ArchiveKey",
    "AsymmetricRsaDecrypt",
    "AsymmetricSm2Decrypt",
    "BindCloudResource",
    "CancelKeyArchive",
    "CancelKeyDeletion",
    "CreateGrant",
    "DeleteImportedKeyMaterial",
    "DeleteWhiteBoxKey",
    "DescribeKey",
    "DescribeWhiteBoxDecryptKey",
    "DescribeWhiteBoxDeviceFingerprints",
    "DescribeWhiteBoxKey",
    "DisableKey",
    "DisableKeyRotation",
    "DisableWhiteBoxKey",
    "EnableKey",
    "EnableKeyRotation",
    "EnableWhiteBoxKey",
    "Encrypt",
    "EncryptByWhiteBox",
    "GenerateDataKeyPair",
    "GenerateMac",
    "GetKeyRotationStatus",
    "GetParametersForImport",
    "ListResourceTags",
    "GetPublicKey",
    "ImportKeyMaterial",
    "ListGrants",
    "ListKeyTags",
    "ListKeyVersions",
    "OverwriteWhiteBoxDeviceFingerprints",
    "PostQuantumCryptoEncrypt",
    "PostQuantumCryptoSign",
    "PostQuantumCryptoVerify",
    "RetireGrant",
    "RevokeGrant",
    "RotateKey",
    "ScheduleKeyDeletion",
    "SignByAsymmetricKey",
    "TagResource",
    "UnbindCloudResource",
    "UntagResource",
    "UpdateKeyDescription",
    "VerifyByAsymmetricKey",
    "VerifyMac",
)
_KEY_BATCH_ACTIONS = ("DescribeKeys", "DisableKeys", "EnableKeys", "DisableWhiteBoxKeys", "EnableWhiteBoxKeys")
_ONE_DATA_KEY_ACTIONS = (
    "CancelDataKeyDeletion",
    "DescribeDataKey",
    "DisableDataKey",
    "EnableDataKey",
    "GetDataKeyCiphertextBlob",
    "GetDataKeyPlaintext",
    "ScheduleDataKeyDeletion",
    "UpdateDataKeyDescription",
    "UpdateDataKeyName",
)
_DATA_KEY_BATCH_ACTIONS = ("DescribeDataKeys", "DisableDataKeys", "EnableDataKeys")

RESOURCES: dict[str, Resolver] = {
    **dict.fromkeys(_ACCOUNT_ACTIONS, _account),
    **dict.fromkeys(_KEY_LISTING_ACTIONS, _all_keys),
    "ListDataKeys": _all_data_keys,
    "ListDataKeyDetail": _data_keys_of_key,
    **dict.fromkeys(_ONE_KEY_ACTIONS, _one_key),
    **dict.fromkeys(_KEY_BATCH_ACTIONS, _keys),
    **dict.fromkeys(_ONE_DATA_KEY_ACTIONS, _one_data_key),
    **dict.fromkeys(_DATA_KEY_BATCH_ACTIONS, _data_keys),
    "Decrypt": _decrypt,
    "UpdateAlias": _alias_keys,
    "ListAuditEvents": _audit_events,
    "PostQuantumCryptoDecrypt": _post_quantum_decrypt,
    "ReEncrypt": _re_encrypt,
    "GenerateDataKey": _generate_data_key,
    "ImportDataKey": _import_data_key,
}
"""Every action of the API and the resources it touches."""


GRANT_OPERATIONS: dict[str, tuple[str, ...]] = {
    "Encrypt": ("Encrypt",),
    "Decrypt": ("Decrypt",),
    "AsymmetricRsaDecrypt": ("Decrypt",),
    "AsymmetricSm2Decrypt": ("Decrypt",),
    "GenerateDataKey": ("GenerateDataKey",),
    "GenerateDataKeyWithoutPlaintext": ("GenerateDataKeyWithoutPlaintext",),
    "GenerateDataKeyPair": ("GenerateDataKeyPair",),
    "GenerateDataKeyPairWithoutPlaintext": ("GenerateDataKeyPairWithoutPlaintext",),
    "ReEncrypt": ("ReEncryptFrom", "ReEncryptTo"),
    "SignByAsymmetricKey": ("Sign",),
    "Sign": ("Sign",),
    "VerifyByAsymmetricKey": ("Verify",),
    "Verify": ("Verify",),
    "GetPublicKey": ("GetPublicKey",),
    "DescribeKey": ("DescribeKey",),
    "CreateGrant": ("CreateGrant",),
    "RetireGrant": ("RetireGrant",),
    "GenerateMac": ("GenerateMac",),
    "VerifyMac": ("VerifyMac",),
}
"""The grant operation a request (by its Tencent or AWS name) performs on each resource it touches,
in the order resources_of gives them (ReEncrypt: the source key, then the destination): what a grant
must name to allow it. An action not here is never allowed by a grant."""


def key_id_of(resource: Resource) -> str | None:
    """The id of the one key a resource names; None for data keys, wildcards and the account."""
    kind, _, identifier = resource.name.rpartition(":")[2].partition("/")
    return identifier if kind == "key" and identifier and identifier != "*" else None


def resources_of(action: str, caller: Caller, params: Params, owner: HostedDataKeyOwner) -> list[Resource]:
    """Every resource the request touches (each key of a batch call, a hosted data key's CMK)."""
    resolve = RESOURCES.get(action)
    if resolve is None:
        raise Unauthorized(f"{action} says nothing about the keys it touches, so no policy can allow it.")
    return resolve(caller, params, owner)


def key_ids_of(resources: list[Resource]) -> tuple[str, ...]:
    """The ids of specific keys and data keys among the resources, for the audit trail."""
    ids = []
    for resource in resources:
        identifier = resource.name.rsplit("/", 1)[-1]
        if identifier != "*" and ":" not in identifier:
            ids.append(identifier)
    return tuple(dict.fromkeys(ids))


_ID_FIELDS = ("KeyId", "SourceKeyId", "DestinationKeyId", "DataKeyId")
_ID_LIST_FIELDS = ("KeyIds", "DataKeyIds")


def key_ids_in(fields: Params) -> tuple[str, ...]:
    """The key and data key ids a request or response names outright, for the audit trail. (A
    credential with policies has its resources worked out in full, ciphertexts included.)"""
    ids = [fields[name] for name in _ID_FIELDS if isinstance(fields.get(name), str) and fields[name]]
    for name in _ID_LIST_FIELDS:
        if isinstance(fields.get(name), list):
            ids += [i for i in fields[name] if isinstance(i, str)]
    return tuple(dict.fromkeys(ids))
