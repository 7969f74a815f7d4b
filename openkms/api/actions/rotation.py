"""Key rotation actions."""

from openkms.api.actions.registry import Params, Response, Services
from openkms.domain.models import Caller


def enable_key_rotation(services: Services, caller: Caller, p: Params) -> Response:
    services.rotation.enable(caller, p["KeyId"], p.get("RotateDays"))
    return {}


def disable_key_rotation(services: Services, caller: Caller, p: Params) -> Response:
    services.rotation.disable(caller, p["KeyId"])
    return {}


def get_key_rotation_status(services: Services, caller: Caller, p: Params) -> Response:
    key = services.rotation.status(caller, p["KeyId"])
    # Beyond the SDK's KeyRotationEnabled: newer API versions report the schedule too, and older SDKs
    # ignore fields they do not know.
    return {
        "KeyRotationEnabled": key.rotation_enabled,
        "RotateDays": key.rotate_days,
        "NextRotateTime": key.next_rotate_time,
        "LastRotateTime": key.last_rotate_time,
    }


def rotate_key(services: Services, caller: Caller, p: Params) -> Response:
    return {"TaskId": services.rotation.rotate_now(caller, p["KeyId"])}
