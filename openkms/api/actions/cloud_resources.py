"""Cloud-resource binding actions."""

from openkms.api.actions.registry import Params, Response, Services
from openkms.domain.models import Caller


def bind_cloud_resource(services: Services, caller: Caller, p: Params) -> Response:
    services.cloud_resources.bind(caller, p["KeyId"], p["ProductId"], p["ResourceId"])
    return {}


def unbind_cloud_resource(services: Services, caller: Caller, p: Params) -> Response:
    services.cloud_resources.unbind(caller, p["KeyId"], p["ProductId"], p["ResourceId"])
    return {}
