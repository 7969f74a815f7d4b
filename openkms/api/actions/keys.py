"""Key lifecycle actions."""

from openkms.api.actions.listing import newest_first, origin_filter, page, role_has_keys, tag_filters
from openkms.api.actions.registry import Params, Response, Services
from openkms.api.actions.render import key_metadata
from openkms.domain.errors import InvalidKeyUsage, InvalidParameterValue
from openkms.domain.models import Caller, KeyQuery, KeyState, KeyUsage, Tag

KEY_STATE_FILTER = {
    1: KeyState.ENABLED,
    2: KeyState.DISABLED,
    3: KeyState.PENDING_DELETE,
    4: KeyState.PENDING_IMPORT,
    5: KeyState.ARCHIVED,
}
LISTKEYS_STATES = frozenset({KeyState.ENABLED, KeyState.DISABLED, KeyState.PENDING_IMPORT})


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


def describe_key(services: Services, caller: Caller, p: Params) -> Response:
    return {"KeyMetadata": key_metadata(services.keys.describe(caller, p["KeyId"]))}


def list_key_versions(services: Services, caller: Caller, p: Params) -> Response:
    """An OpenKMS extension (api/schema.py): a key's versions, which rotation adds, and what made each."""
    versions = services.keys.versions(caller, p["KeyId"])
    return {
        "KeyId": p["KeyId"],
        "Versions": [
            {"Version": v.version, "CreateTime": v.create_time, "Rotation": v.rotation.value or None} for v in versions
        ],
        "CurrentVersion": services.keys.describe(caller, p["KeyId"]).current_version,
    }


def list_key_tags(services: Services, caller: Caller, p: Params) -> Response:
    """An OpenKMS extension: a key's tags (Tencent Cloud keeps them in its tag service, not in KMS)."""
    return {
        "KeyId": p["KeyId"],
        "Tags": [{"TagKey": t.key, "TagValue": t.value} for t in services.keys.tags(caller, p["KeyId"])],
    }


def describe_keys(services: Services, caller: Caller, p: Params) -> Response:
    return {"KeyMetadatas": [key_metadata(k) for k in services.keys.describe_many(caller, p["KeyIds"])]}


def list_keys(services: Services, caller: Caller, p: Params) -> Response:
    offset, limit = page(p)
    if not role_has_keys(p):
        return {"Keys": [], "TotalCount": 0}
    total, keys = services.keys.list(
        KeyQuery(caller.account, caller.region, offset, limit, states=LISTKEYS_STATES, newest_first=False)
    )
    return {"Keys": [{"KeyId": k.key_id} for k in keys], "TotalCount": total}


def list_key_detail(services: Services, caller: Caller, p: Params) -> Response:
    offset, limit = page(p)
    state_filter = p.get("KeyState", 0)
    if state_filter not in (0, *KEY_STATE_FILTER):
        raise InvalidParameterValue(f"KeyState must be 0 (all) to 5; got {state_filter}.")
    usage = p.get("KeyUsage", "")
    if usage not in ("", "ALL", *KeyUsage.__members__.values()):
        raise InvalidKeyUsage(f"KeyUsage must be ALL or a key usage; got {usage[:64]!r}.")
    origin = origin_filter(p)
    newest = newest_first(p)
    if not role_has_keys(p):
        return {"TotalCount": 0, "KeyMetadatas": []}
    query = KeyQuery(
        caller.account,
        caller.region,
        offset,
        limit,
        states=frozenset({KEY_STATE_FILTER[state_filter]}) if state_filter else None,
        usages=None if usage == "ALL" else frozenset({KeyUsage(usage or KeyUsage.ENCRYPT_DECRYPT)}),
        origin=origin,
        search=p.get("SearchKeyAlias", ""),
        tag_filters=tag_filters(p),
        newest_first=newest,
    )
    total, keys = services.keys.list(query)
    return {"TotalCount": total, "KeyMetadatas": [key_metadata(k) for k in keys]}


def update_alias(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.update_alias(caller, p["KeyId"], p["Alias"])
    return {}


def update_key_description(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.update_description(caller, p["KeyId"], p["Description"])
    return {}


def enable_key(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.enable(caller, [p["KeyId"]])
    return {}


def disable_key(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.disable(caller, [p["KeyId"]])
    return {}


def enable_keys(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.enable(caller, p["KeyIds"])
    return {}


def disable_keys(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.disable(caller, p["KeyIds"])
    return {}


def schedule_key_deletion(services: Services, caller: Caller, p: Params) -> Response:
    deletion_date = services.keys.schedule_deletion(caller, p["KeyId"], p["PendingWindowInDays"])
    return {"KeyId": p["KeyId"], "DeletionDate": deletion_date}


def cancel_key_deletion(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.cancel_deletion(caller, p["KeyId"])
    return {"KeyId": p["KeyId"]}


def archive_key(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.archive(caller, p["KeyId"])
    return {}


def cancel_key_archive(services: Services, caller: Caller, p: Params) -> Response:
    services.keys.cancel_archive(caller, p["KeyId"])
    return {}
