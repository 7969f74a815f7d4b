"""KMS-hosted data key actions."""

from openkms.api.actions.crypto import returned_plaintext
from openkms.api.actions.listing import newest_first, origin_filter, page, role_has_keys, tag_filters
from openkms.api.actions.registry import Params, Response, Services
from openkms.api.actions.render import data_key_metadata
from openkms.api.encoding import b64decode, b64encode
from openkms.domain.errors import InvalidImportKeyMaterial, InvalidParameterValue, KmsError
from openkms.domain.models import Caller, DataKey, DataKeyQuery, DataKeyState, Tag

DATA_KEY_STATE_FILTER = {1: DataKeyState.ENABLED, 2: DataKeyState.DISABLED, 3: DataKeyState.PENDING_DELETE}


def _metadata(services: Services, caller: Caller, data_keys: list[DataKey]) -> list[dict[str, object]]:
    names: dict[str, str] = {}
    for key_id in {dk.key_id for dk in data_keys}:
        try:
            names[key_id] = services.keys.describe(caller, key_id).alias
        except KmsError:
            names[key_id] = ""  # the CMK was deleted; the data key is kept until it is deleted too
    return [data_key_metadata(dk, names[dk.key_id]) for dk in data_keys]


def _tags(p: Params) -> list[Tag]:
    return [Tag(t["TagKey"], t["TagValue"]) for t in p.get("Tags", [])]


def import_data_key(services: Services, caller: Caller, p: Params) -> Response:
    material = b64decode(p["ImportKeyMaterial"], InvalidImportKeyMaterial, "ImportKeyMaterial")
    data_key = services.data_keys.import_key(
        caller,
        p["DataKeyName"],
        material,
        p["ImportType"],
        p.get("KeyId") or None,
        p.get("Description", ""),
        _tags(p),
    )
    return {"KeyId": data_key.key_id, "DataKeyId": data_key.data_key_id, "TagCode": 0, "TagMsg": ""}


def describe_data_key(services: Services, caller: Caller, p: Params) -> Response:
    data_key = services.data_keys.describe(caller, p["DataKeyId"])
    return {"DataKeyMetadata": _metadata(services, caller, [data_key])[0]}


def describe_data_keys(services: Services, caller: Caller, p: Params) -> Response:
    return {"DataKeyMetadatas": _metadata(services, caller, services.data_keys.describe_many(caller, p["DataKeyIds"]))}


def _query(caller: Caller, p: Params, detail: bool) -> DataKeyQuery:
    offset, limit = page(p)
    if not detail:
        return DataKeyQuery(caller.account, caller.region, offset, limit, newest_first=False)
    state_filter = p.get("KeyState", 0)
    if state_filter not in (0, *DATA_KEY_STATE_FILTER):
        raise InvalidParameterValue(f"KeyState must be 0 (all) to 3; got {state_filter}.")
    return DataKeyQuery(
        caller.account,
        caller.region,
        offset,
        limit,
        states=frozenset({DATA_KEY_STATE_FILTER[state_filter]}) if state_filter else None,
        origin=origin_filter(p),
        search=p.get("SearchKeyAlias", ""),
        key_id=p.get("KeyId", ""),
        number_of_bytes=p.get("DataKeyLen", 0),
        tag_filters=tag_filters(p),
        newest_first=newest_first(p),
    )


def list_data_keys(services: Services, caller: Caller, p: Params) -> Response:
    query = _query(caller, p, detail=False)
    if not role_has_keys(p):
        return {"DataKeys": [], "TotalCount": 0}
    total, data_keys = services.data_keys.list(query)
    return {"DataKeys": [{"DataKeyId": dk.data_key_id} for dk in data_keys], "TotalCount": total}


def list_data_key_detail(services: Services, caller: Caller, p: Params) -> Response:
    query = _query(caller, p, detail=True)
    if not role_has_keys(p):
        return {"DataKeyMetadatas": [], "TotalCount": 0}
    total, data_keys = services.data_keys.list(query)
    return {"DataKeyMetadatas": _metadata(services, caller, data_keys), "TotalCount": total}


def get_data_key_plaintext(services: Services, caller: Caller, p: Params) -> Response:
    return {"Plaintext": returned_plaintext(services, p, services.data_keys.plaintext(caller, p["DataKeyId"]))}


def get_data_key_ciphertext_blob(services: Services, caller: Caller, p: Params) -> Response:
    return {"CiphertextBlob": b64encode(services.data_keys.ciphertext(caller, p["DataKeyId"]))}


def enable_data_key(services: Services, caller: Caller, p: Params) -> Response:
    services.data_keys.enable(caller, [p["DataKeyId"]])
    return {}


def enable_data_keys(services: Services, caller: Caller, p: Params) -> Response:
    services.data_keys.enable(caller, p["DataKeyIds"])
    return {}


def disable_data_key(services: Services, caller: Caller, p: Params) -> Response:
    services.data_keys.disable(caller, [p["DataKeyId"]])
    return {}


def disable_data_keys(services: Services, caller: Caller, p: Params) -> Response:
    services.data_keys.disable(caller, p["DataKeyIds"])
    return {}


def schedule_data_key_deletion(services: Services, caller: Caller, p: Params) -> Response:
    deletion_date = services.data_keys.schedule_deletion(caller, p["DataKeyId"], p["PendingWindowInDays"])
    return {"DataKeyId": p["DataKeyId"], "DeletionDate": deletion_date}


def cancel_data_key_deletion(services: Services, caller: Caller, p: Params) -> Response:
    services.data_keys.cancel_deletion(caller, p["DataKeyId"])
    return {"DataKeyId": p["DataKeyId"]}


def update_data_key_name(services: Services, caller: Caller, p: Params) -> Response:
    services.data_keys.rename(caller, p["DataKeyId"], p["DataKeyName"])
    return {}


def update_data_key_description(services: Services, caller: Caller, p: Params) -> Response:
    services.data_keys.update_description(caller, p["DataKeyId"], p["Description"])
    return {}
