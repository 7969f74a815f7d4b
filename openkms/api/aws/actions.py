"""The AWS KMS actions OpenKMS serves, in one table: for each, the Tencent action whose policy name and
resources it shares (so one policy governs both protocols), how its request is read (KeyId as a key id,
key ARN, alias/<name> or alias ARN; blobs and EncryptionContext maps as Tencent carries them), and the
handler that calls the same services as the Tencent actions and answers in AWS's shapes."""

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from openkms.api.actions.registry import Services
from openkms.api.errors import ApiError
from openkms.domain.errors import InvalidParameterValue, KeyNotFound, MissingParameter
from openkms.domain.models import Caller, Key, KeyQuery, KeyState, Origin, Tag

Params = dict[str, Any]
Response = dict[str, Any]
SYMMETRIC_DEFAULT = "SYMMETRIC_DEFAULT"
LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT = 100, 1000
KEY_STATES = {
    KeyState.ENABLED: "Enabled",
    KeyState.DISABLED: "Disabled",
    KeyState.ARCHIVED: "Disabled",  # decrypts only: AWS has no such state
    KeyState.PENDING_DELETE: "PendingDeletion",
    KeyState.PENDING_IMPORT: "PendingImport",
}
DATA_KEY_SPECS = {"AES_256": 32, "AES_128": 16}


def arn(caller: Caller, key_id: str) -> str:
    return f"arn:aws:kms:{caller.region}:{caller.account}:key/{key_id}"


def _blob(params: Params, field: str, required: bool = True) -> bytes:
    value = params.get(field)
    if value is None:
        if required:
            raise MissingParameter(f"{field} is required.")
        return b""
    if not isinstance(value, str):
        raise InvalidParameterValue(f"{field} must be Base64 text.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValue(f"{field} is not valid Base64.") from None


def _context(params: Params, field: str = "EncryptionContext") -> str | None:
    context = params.get(field)
    if context is None:
        return None
    if not isinstance(context, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in context.items()):
        raise InvalidParameterValue(f"{field} must be a map of strings to strings.")
    return json.dumps(context, separators=(",", ":")) if context else None


def resolve_key_id(services: Services, caller: Caller, given: Any) -> str:
    """A key id from any of AWS's ways to name a key; NotFoundException for an alias that names none."""
    if not isinstance(given, str) or not given:
        raise MissingParameter("KeyId is required.")
    name = given
    prefix = f"arn:aws:kms:{caller.region}:{caller.account}:"
    if name.startswith("arn:"):
        if not name.startswith(prefix):
            raise KeyNotFound(f"{given[:200]} is not a key of this account in {caller.region}.")
        name = name[len(prefix) :]
        if name.startswith("key/"):
            return name[len("key/") :]
    if name.startswith("alias/"):
        found = services.keys.key_id_of_alias(caller, name[len("alias/") :])
        if found is None:
            raise KeyNotFound(f"Alias {name[:200]} is not found.")
        return found
    return name


def _with_key(services: Services, caller: Caller, p: Params) -> Params:
    return {**p, "KeyId": resolve_key_id(services, caller, p.get("KeyId"))}


def _with_context(services: Services, caller: Caller, p: Params) -> Params:
    translated = _with_key(services, caller, p) if "KeyId" in p else dict(p)
    translated["EncryptionContext"] = _context(p)
    return translated


def key_metadata(caller: Caller, key: Key) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "AWSAccountId": key.account,
        "KeyId": key.key_id,
        "Arn": arn(caller, key.key_id),
        "CreationDate": key.create_time,
        "Enabled": key.state == KeyState.ENABLED,
        "Description": key.description,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": KEY_STATES[key.state],
        "Origin": "EXTERNAL" if key.origin == Origin.EXTERNAL else "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": SYMMETRIC_DEFAULT,
        "KeySpec": SYMMETRIC_DEFAULT,
        "EncryptionAlgorithms": [SYMMETRIC_DEFAULT],
        "MultiRegion": False,
    }
    if key.state == KeyState.PENDING_DELETE:
        metadata["DeletionDate"] = key.deletion_date
    return metadata


def create_key(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    usage = p.get("KeyUsage", "ENCRYPT_DECRYPT")
    spec = p.get("KeySpec") or p.get("CustomerMasterKeySpec") or SYMMETRIC_DEFAULT
    if usage != "ENCRYPT_DECRYPT" or spec != SYMMETRIC_DEFAULT:
        raise InvalidParameterValue("OpenKMS serves AWS CreateKey for SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys so far.")
    key_id = str(uuid.uuid4())
    tags = [Tag(str(t["TagKey"]), str(t["TagValue"])) for t in p.get("Tags", [])]
    # A Tencent key has one alias, required: an AWS-made key is named by its id until CreateAlias names it.
    key = services.keys.create(caller, key_id, str(p.get("Description", "")), tags=tags, key_id=key_id)
    return {"KeyMetadata": key_metadata(caller, key)}


def describe_key(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    return {"KeyMetadata": key_metadata(caller, services.keys.describe(caller, t["KeyId"]))}


def list_keys(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    limit = p.get("Limit", LIST_DEFAULT_LIMIT)
    if not isinstance(limit, int) or not 1 <= limit <= LIST_MAX_LIMIT:
        raise InvalidParameterValue(f"Limit must be 1-{LIST_MAX_LIMIT}.")
    marker = p.get("Marker", "0")
    if not isinstance(marker, str) or not marker.isdigit():
        raise InvalidParameterValue("Marker must be a NextMarker of an earlier ListKeys.")
    offset = int(marker)
    total, keys = services.keys.list(KeyQuery(caller.account, caller.region, offset=offset, limit=limit))
    truncated = offset + len(keys) < total
    response: Response = {"Keys": [{"KeyId": k.key_id, "KeyArn": arn(caller, k.key_id)} for k in keys]}
    response["Truncated"] = truncated
    if truncated:
        response["NextMarker"] = str(offset + len(keys))
    return response


def encrypt(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    _symmetric_default(p)
    sealed = services.crypto.encrypt(caller, t["KeyId"], _blob(p, "Plaintext"), t["EncryptionContext"])
    return {
        "CiphertextBlob": base64.b64encode(sealed.blob).decode(),
        "KeyId": arn(caller, sealed.key_id),
        "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
    }


def decrypt(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    _symmetric_default(p)
    opened = services.crypto.decrypt(caller, _blob(p, "CiphertextBlob"), t["EncryptionContext"])
    if "KeyId" in p and t["KeyId"] != opened.key_id:
        raise ApiError(
            "IncorrectKeyException", "The key ID in the request does not identify the key that encrypted it."
        )
    return {
        "KeyId": arn(caller, opened.key_id),
        "Plaintext": base64.b64encode(opened.plaintext).decode(),
        "EncryptionAlgorithm": SYMMETRIC_DEFAULT,
    }


def _data_key(services: Services, caller: Caller, p: Params, t: Params) -> tuple[str, bytes, bytes]:
    spec, size = p.get("KeySpec"), p.get("NumberOfBytes")
    if (spec is None) == (size is None):
        raise InvalidParameterValue("Give either KeySpec (AES_256, AES_128) or NumberOfBytes.")
    if spec is not None and spec not in DATA_KEY_SPECS:
        raise InvalidParameterValue("KeySpec must be AES_256 or AES_128.")
    generated = services.crypto.generate_data_key(caller, t["KeyId"], spec, size, t["EncryptionContext"])
    return generated.key_id, generated.plaintext, generated.blob


def generate_data_key(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    key_id, plaintext, blob = _data_key(services, caller, p, t)
    return {
        "CiphertextBlob": base64.b64encode(blob).decode(),
        "Plaintext": base64.b64encode(plaintext).decode(),
        "KeyId": arn(caller, key_id),
    }


def generate_data_key_without_plaintext(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    key_id, _, blob = _data_key(services, caller, p, t)
    return {"CiphertextBlob": base64.b64encode(blob).decode(), "KeyId": arn(caller, key_id)}


def generate_random(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    size = p.get("NumberOfBytes")
    if not isinstance(size, int):
        raise MissingParameter("NumberOfBytes is required.")
    return {"Plaintext": base64.b64encode(services.crypto.generate_random(size)).decode()}


def enable_key(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.keys.enable(caller, [t["KeyId"]])
    return {}


def disable_key(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.keys.disable(caller, [t["KeyId"]])
    return {}


def _symmetric_default(p: Params) -> None:
    if p.get("EncryptionAlgorithm", SYMMETRIC_DEFAULT) != SYMMETRIC_DEFAULT:
        raise InvalidParameterValue("EncryptionAlgorithm must be SYMMETRIC_DEFAULT for a symmetric key.")


Translate = Callable[[Services, Caller, Params], Params]
Handler = Callable[[Services, Caller, Params, Params], Response]


def _as_is(services: Services, caller: Caller, p: Params) -> Params:
    return dict(p)


@dataclass(frozen=True)
class AwsAction:
    policy: str
    """The Tencent action a policy names (kms:<policy>), whose resources this action touches."""
    translate: Translate
    handler: Handler
    runs_on_loop: bool = False


AWS_ACTIONS: Mapping[str, AwsAction] = MappingProxyType(
    {
        "CreateKey": AwsAction("CreateKey", _as_is, create_key),
        "DescribeKey": AwsAction("DescribeKey", _with_key, describe_key, runs_on_loop=True),
        "ListKeys": AwsAction("ListKeys", _as_is, list_keys),
        "Encrypt": AwsAction("Encrypt", _with_context, encrypt, runs_on_loop=True),
        "Decrypt": AwsAction("Decrypt", _with_context, decrypt, runs_on_loop=True),
        "GenerateDataKey": AwsAction("GenerateDataKey", _with_context, generate_data_key, runs_on_loop=True),
        "GenerateDataKeyWithoutPlaintext": AwsAction(
            "GenerateDataKey", _with_context, generate_data_key_without_plaintext, runs_on_loop=True
        ),
        "GenerateRandom": AwsAction("GenerateRandom", _as_is, generate_random, runs_on_loop=True),
        "EnableKey": AwsAction("EnableKey", _with_key, enable_key),
        "DisableKey": AwsAction("DisableKey", _with_key, disable_key),
    }
)
