"""Which keys a request touches, named as CAM resources, for authorization and the audit trail.

qcs::kms:<region>:uin/<account>:key/<KeyId>          a customer master key
qcs::kms:<region>:uin/<account>:datakey/<DataKeyId>  a hosted data key
qcs::kms:<region>:uin/<account>:key/*                creating or listing keys (datakey/* likewise)
qcs::kms:<region>:uin/<account>:*                    requests that touch no key (GenerateRandom, ...)
"""

from collections.abc import Callable, Mapping
from typing import Any

from openkms.api.encoding import b64decode
from openkms.auth.policy import Resource
from openkms.crypto.ciphertext import parse_header
from openkms.crypto.context import parse_context
from openkms.errors import InvalidCiphertext, KmsError
from openkms.models import Caller

Params = Mapping[str, Any]


def _prefix(caller: Caller) -> str:
    return f"qcs::kms:{caller.region}:uin/{caller.account}:"


def _context(params: Params, field: str) -> dict[str, str]:
    try:
        return parse_context(params.get(field))
    except KmsError:
        return {}  # the request will be refused for its context anyway


def _blob_key(params: Params, field: str = "CiphertextBlob") -> str:
    try:
        return parse_header(b64decode(params.get(field, ""), InvalidCiphertext, field)).key_id
    except KmsError:
        return "*"


def _key(caller: Caller, key_id: str, context: Mapping[str, str] | None = None) -> Resource:
    return Resource(f"{_prefix(caller)}key/{key_id}", context or {})


def _data_key(caller: Caller, data_key_id: str) -> Resource:
    return Resource(f"{_prefix(caller)}datakey/{data_key_id}", {})


def _one_key(caller: Caller, p: Params) -> list[Resource]:
    return [_key(caller, p["KeyId"], _context(p, "EncryptionContext"))]


def _decrypt(caller: Caller, p: Params) -> list[Resource]:
    return [_key(caller, _blob_key(p), _context(p, "EncryptionContext"))]


def _re_encrypt(caller: Caller, p: Params) -> list[Resource]:
    source = _blob_key(p)
    destination = p.get("DestinationKeyId") or source
    return [
        _key(caller, source, _context(p, "SourceEncryptionContext")),
        _key(caller, destination, _context(p, "DestinationEncryptionContext")),
    ]


def _import_data_key(caller: Caller, p: Params) -> list[Resource]:
    key_id = p.get("KeyId") or (_blob_key(p, "ImportKeyMaterial") if p.get("ImportType") == 1 else "*")
    return [_key(caller, key_id), _data_key(caller, "*")]


_BY_ACTION: dict[str, Callable[[Caller, Params], list[Resource]]] = {
    "Decrypt": _decrypt,
    "ReEncrypt": _re_encrypt,
    "ImportDataKey": _import_data_key,
    "CreateKey": lambda caller, p: [_key(caller, "*")],
    "ListKeys": lambda caller, p: [_key(caller, "*")],
    "ListKeyDetail": lambda caller, p: [_key(caller, "*")],
    "ListDataKeys": lambda caller, p: [_data_key(caller, "*")],
    "ListDataKeyDetail": lambda caller, p: [_data_key(caller, "*")],
}


def resources_of(action: str, caller: Caller, params: Params) -> list[Resource]:
    """Every resource the request touches (each key of a batch call); the account itself if none."""
    if action in _BY_ACTION:
        return _BY_ACTION[action](caller, params)
    if "KeyIds" in params:
        return [_key(caller, key_id) for key_id in params["KeyIds"]]
    if "DataKeyIds" in params:
        return [_data_key(caller, data_key_id) for data_key_id in params["DataKeyIds"]]
    if "DataKeyId" in params:
        return [_data_key(caller, params["DataKeyId"])]
    if "KeyId" in params:
        return _one_key(caller, params)
    return [Resource(f"{_prefix(caller)}*", {})]


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
