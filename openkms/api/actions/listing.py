"""What the list actions share: paging, the creator role, ordering and the origin filter."""

from openkms.api.actions.registry import Params
from openkms.domain.errors import InvalidParameterValue
from openkms.domain.limits import LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT
from openkms.domain.models import Origin

ROLE_USER, ROLE_CLOUD_PRODUCT = 0, 1
ORIGIN_ALL = "ALL"


def page(p: Params) -> tuple[int, int]:
    limit: int = p.get("Limit", LIST_DEFAULT_LIMIT)
    if not 1 <= limit <= LIST_MAX_LIMIT:
        raise InvalidParameterValue(f"Limit must be between 1 and {LIST_MAX_LIMIT}; got {limit}.")
    return p.get("Offset", 0), limit


def role_has_keys(p: Params) -> bool:
    role: int = p.get("Role", ROLE_USER)
    if role not in (ROLE_USER, ROLE_CLOUD_PRODUCT):
        raise InvalidParameterValue(f"Role must be {ROLE_USER} or {ROLE_CLOUD_PRODUCT}; got {role}.")
    return role == ROLE_USER  # OpenKMS has no cloud products creating keys on a user's behalf.


def newest_first(p: Params) -> bool:
    order = p.get("OrderType", 0)
    if order not in (0, 1):
        raise InvalidParameterValue(f"OrderType must be 0 (newest first) or 1 (oldest first); got {order}.")
    return bool(order == 0)


def origin_filter(p: Params) -> Origin | None:
    origin = p.get("Origin", "")
    if origin not in ("", ORIGIN_ALL, *Origin.__members__.values()):
        raise InvalidParameterValue(f"Origin must be TENCENT_KMS, EXTERNAL or ALL; got {origin[:64]!r}.")
    return Origin(origin) if origin not in ("", ORIGIN_ALL) else None


def tag_filters(p: Params) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((f["TagKey"], tuple(f.get("TagValue", []))) for f in p.get("TagFilters", []))
