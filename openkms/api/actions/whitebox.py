"""White-box key actions."""

from typing import Any

from openkms.api.actions.listing import tag_filters
from openkms.api.actions.registry import Params, Response, Services
from openkms.api.encoding import b64decode, b64encode
from openkms.domain.errors import InvalidParameterValue, InvalidPlaintext
from openkms.domain.models import Caller, DeviceFingerprint, Tag, WhiteBoxQuery, WhiteBoxState
from openkms.service.whitebox import WhiteBoxKeyInfo

KEY_STATUS_FILTER = {0: WhiteBoxState.DISABLED, 1: WhiteBoxState.ENABLED}


def whitebox_key_info(info: WhiteBoxKeyInfo) -> dict[str, Any]:
    key = info.key
    return {
        "KeyId": key.key_id,
        "Alias": key.alias,
        "CreatorUin": int(key.account),
        "Description": key.description,
        "CreateTime": key.create_time,
        "Status": key.state.value,
        "OwnerUin": int(key.account),
        "Algorithm": key.algorithm.value,
        "EncryptKey": b64encode(info.tables.encrypt_key),
        "DecryptKey": b64encode(info.tables.decrypt_key),
        "ResourceId": f"creatorUin/{key.account}/{key.key_id}",
        "DeviceFingerprintBind": key.fingerprints_bound,
    }


def create_white_box_key(services: Services, caller: Caller, p: Params) -> Response:
    tags = [Tag(t["TagKey"], t["TagValue"]) for t in p.get("Tags", [])]
    info = services.whitebox.create(caller, p["Alias"], p["Algorithm"], p.get("Description", ""), tags)
    return {
        "EncryptKey": b64encode(info.tables.encrypt_key),
        "DecryptKey": b64encode(info.tables.decrypt_key),
        "KeyId": info.key.key_id,
        "TagCode": 0,
        "TagMsg": "",
    }


def delete_white_box_key(services: Services, caller: Caller, p: Params) -> Response:
    services.whitebox.delete(caller, p["KeyId"])
    return {}


def describe_white_box_key(services: Services, caller: Caller, p: Params) -> Response:
    return {"KeyInfo": whitebox_key_info(services.whitebox.describe(caller, p["KeyId"]))}


def describe_white_box_key_details(services: Services, caller: Caller, p: Params) -> Response:
    status = p.get("KeyStatus")
    if status is not None and status not in KEY_STATUS_FILTER:
        raise InvalidParameterValue(f"KeyStatus must be 0 (disabled) or 1 (enabled); got {status}.")
    limit = p.get("Limit", 0)
    query = WhiteBoxQuery(
        account=caller.account,
        region=caller.region,
        offset=p.get("Offset", 0),
        limit=limit or None,  # 0: every key, as the action documents
        state=KEY_STATUS_FILTER.get(status) if status is not None else None,
        tag_filters=tag_filters(p),
    )
    total, found = services.whitebox.details(query)
    return {"KeyInfos": [whitebox_key_info(info) for info in found], "TotalCount": total}


def describe_white_box_decrypt_key(services: Services, caller: Caller, p: Params) -> Response:
    return {"DecryptKey": b64encode(services.whitebox.decrypt_key(caller, p["KeyId"]))}


def describe_white_box_service_status(services: Services, caller: Caller, p: Params) -> Response:
    return {"ServiceEnabled": True}


def enable_white_box_key(services: Services, caller: Caller, p: Params) -> Response:
    services.whitebox.enable(caller, [p["KeyId"]])
    return {}


def enable_white_box_keys(services: Services, caller: Caller, p: Params) -> Response:
    services.whitebox.enable(caller, p["KeyIds"])
    return {}


def disable_white_box_key(services: Services, caller: Caller, p: Params) -> Response:
    services.whitebox.disable(caller, [p["KeyId"]])
    return {}


def disable_white_box_keys(services: Services, caller: Caller, p: Params) -> Response:
    services.whitebox.disable(caller, p["KeyIds"])
    return {}


def encrypt_by_white_box(services: Services, caller: Caller, p: Params) -> Response:
    plaintext = b64decode(p["PlainText"], InvalidPlaintext, "PlainText")
    given = p.get("InitializationVector")
    iv = b64decode(given, InvalidParameterValue, "InitializationVector") if given else None
    used, ciphertext = services.whitebox.encrypt(caller, p["KeyId"], plaintext, iv)
    return {"InitializationVector": b64encode(used), "CipherText": b64encode(ciphertext)}


def describe_white_box_device_fingerprints(services: Services, caller: Caller, p: Params) -> Response:
    found = services.whitebox.fingerprints(caller, p["KeyId"])
    return {"DeviceFingerprints": [{"Identity": f.identity, "Description": f.description} for f in found]}


def overwrite_white_box_device_fingerprints(services: Services, caller: Caller, p: Params) -> Response:
    given = [DeviceFingerprint(f["Identity"], f.get("Description", "")) for f in p.get("DeviceFingerprints", [])]
    services.whitebox.overwrite_fingerprints(caller, p["KeyId"], given)
    return {}
