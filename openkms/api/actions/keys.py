"""Key lifecycle actions."""

from openkms.api.actions.registry import Params, Response, Services, action
from openkms.api.actions.render import key_metadata
from openkms.errors import InvalidKeyUsage, InvalidParameterValue
from openkms.limits import LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT
from openkms.models import Caller, KeyQuery, KeyState, KeyUsage, Origin, Tag

KEY_STATE_FILTER = {
    1: KeyState.ENABLED,
    2: KeyState.DISABLED,
    3: KeyState.PENDING_DELETE,
    4: KeyState.PENDING_IMPORT,
    5: KeyState.ARCHIVED,
}
LISTKEYS_STATES = frozenset({KeyState.ENABLED, KeyState.DISABLED, KeyState.PENDING_IMPORT})
ROLE_USER, ROLE_CLOUD_PRODUCT = 0, 1


@action("CreateKey")
def create_key(services: Services, caller: Caller, p: Params) -> Response:
    key = services.keys.create(
        caller,
        alias=p["Alias"],
        description=p.get("Description", ""),
        usage=p.get("KeyUsage") or KeyUsage.ENCRYPT_DECRYPT.value,
        key_type=p.get("Type", 1),
        tags=[Tag(t["TagKey"], t["TagValue"]) for t in p.get("Tags", [])],
    )
    return {
        "KeyId": key.key_id,
        "Alias": key.alias,
        "CreateTime": key.create_time,
        "Description": key.description,
        "KeyState": key.state.value,
        "KeyUsage": key.usage.value,
        "TagCode": 0,
        "TagMsg": "",
        "HsmClusterId": "",
    }


@action("DescribeKey")
def describe_key(services: Services, caller: Caller, p: Params) -> Response:
    return {"KeyMetadata": key_metadata(services.keys.describe(caller, p["KeyId"]))}


@action("DescribeKeys")
def describe_keys(services: Services, caller: Caller, p: Params) -> Response:
    return {"KeyMetadatas": [key_metadata(k) for k in services.keys.describe_many(caller, p["KeyIds"])]}


def _page(p: Params) -> tuple[int, int]:
    limit = p.get("Limit", LIST_DEFAULT_LIMIT)
    if not 1 <= limit <= LIST_MAX_LIMIT:
        raise InvalidParameterValue(f"Limit must be between 1 and {LIST_MAX_LIMIT}; got {limit}.")
    return p.get("Offset", 0), limit


def _role_has_keys(p: Params) -> bool:
    role: int = p.get("Role", ROLE_USER)
    if role not in (ROLE_USER, ROLE_CLOUD_PRODUCT):
        raise InvalidParameterValue(f"Role must be {ROLE_USER} or {ROLE_CLOUD_PRODUCT}; got {role}.")
    return role == ROLE_USER  # OpenKMS has no cloud products creating keys on a user's behalf.


@action("ListKeys")
def list_keys(services: Services, caller: Caller, p: Params) -> Response:
    offset, limit = _page(p)
    if not _role_has_keys(p):
        return {"Keys": [], "TotalCount": 0}
    total, keys = services.keys.list(
        KeyQuery(caller.account, caller.region, offset, limit, states=LISTKEYS_STATES, newest_first=False)
    )
    return {"Keys": [{"KeyId": k.key_id} for k in keys], "TotalCount": total}


@action("ListKeyDetail")
def list_key_detail(services: Services, caller: Caller, p: Params) -> Response:
    offset, limit = _page(p)
    state_filter = p.get("KeyState", 0)
    if state_filter not in (0, *KEY_STATE_FILTER):
        raise InvalidParameterValue(f"KeyState must be 0 (all) to 5; got {state_filter}.")
    order = p.get("OrderType", 0)
    if order not in (0, 1):
        raise InvalidParameterValue(f"OrderType must be 0 (newest first) or 1 (oldest first); got {order}.")
    usage = p.get("KeyUsage", "")
    if usage not in ("", "ALL", *KeyUsage.__members__.values()):
        raise InvalidKeyUsage(f"KeyUsage must be ALL or a key usage; got {usage[:64]!r}.")
    origin = p.get("Origin", "")
    if origin not in ("", "ALL", *Origin.__members__.values()):
        raise InvalidParameterValue(f"Origin must be TENCENT_KMS, EXTERNAL or ALL; got {origin[:64]!r}.")
    if not _role_has_keys(p):
        return {"TotalCount": 0, "KeyMetadatas": []}
    query = KeyQuery(
        caller.account,
        caller.region,
        offset,
        limit,
        states=frozenset({KEY_STATE_FILTER[state_filter]}) if state_filter else None,
        usages=None if usage == "ALL" else frozenset({KeyUsage(usage or KeyUsage.ENCRYPT_DECRYPT)}),
        origin=Origin(origin) if origin not in ("", "ALL") else None,
        search=p.get("SearchKeyAlias", ""),
        tag_filters=tuple((f["TagKey"], tuple(f.get("TagValue", []))) for f in p.get("TagFilters", [])),
        newest_first=order == 0,
    )
    total, keys = services.keys.list(query)
    return {"TotalCount": total, "KeyMetadatas": [key_metadata(k) for k in keys]}


@action("UpdateAlias")
def update_alias(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.update_alias(caller, p["KeyId"], p["Alias"])
    return {}


@action("UpdateKeyDescription")
def update_key_description(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.update_description(caller, p["KeyId"], p["Description"])
    return {}


@action("EnableKey")
def enable_key(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.enable(caller, [p["KeyId"]])
    return {}


@action("DisableKey")
def disable_key(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.disable(caller, [p["KeyId"]])
    return {}


@action("EnableKeys")
def enable_keys(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.enable(caller, p["KeyIds"])
    return {}


@action("DisableKeys")
def disable_keys(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.disable(caller, p["KeyIds"])
    return {}


@action("ScheduleKeyDeletion")
def schedule_key_deletion(services: Services, caller: Caller, p: Params) -> Response:
    deletion_date = services.keys.schedule_deletion(caller, p["KeyId"], p["PendingWindowInDays"])
    return {"KeyId": p["KeyId"], "DeletionDate": deletion_date}


@action("CancelKeyDeletion")
def cancel_key_deletion(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.cancel_deletion(caller, p["KeyId"])
    return {"KeyId": p["KeyId"]}


@action("ArchiveKey")
def archive_key(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.archive(caller, p["KeyId"])
    return {}


@action("CancelKeyArchive")
def cancel_key_archive(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.cancel_archive(caller, p["KeyId"])
    return {}
