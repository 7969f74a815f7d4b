"""Imported key material (BYOK) actions."""

from openkms.api.actions.registry import Params, Response, Services
from openkms.api.encoding import b64decode, b64encode
from openkms.domain.errors import DecryptMaterialError
from openkms.domain.models import Caller


def get_parameters_for_import(services: Services, caller: Caller, p: Params) -> Response:
    parameters = services.imports.parameters(caller, p["KeyId"], p["WrappingAlgorithm"], p["WrappingKeySpec"])
    return {
        "KeyId": parameters.key_id,
        "ImportToken": parameters.token,
        "PublicKey": b64encode(parameters.public_key_der),
        "ParametersValidTo": parameters.valid_to,
    }


def import_key_material(services: Services, caller: Caller, p: Params) -> Response:
    wrapped = b64decode(p["EncryptedKeyMaterial"], DecryptMaterialError, "EncryptedKeyMaterial")
    services.imports.import_material(caller, p["KeyId"], wrapped, p["ImportToken"], p.get("ValidTo", 0))
    return {}


def delete_imported_key_material(services: Services, caller: Caller, p: Params) -> Response:
    services.imports.delete_material(caller, p["KeyId"])
    return {}
