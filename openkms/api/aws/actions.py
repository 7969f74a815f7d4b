"""The AWS KMS actions OpenKMS serves, in one table: for each, the Tencent action whose policy name and
resources it shares (so one policy governs both protocols), how its request is read (KeyId as a key id,
key ARN, alias/<name> or alias ARN; blobs and EncryptionContext maps as Tencent carries them), and the
handler that calls the same services as the Tencent actions and answers in AWS's shapes."""

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from openkms.api.actions.registry import Services
from openkms.api.errors import ApiError
from openkms.domain.errors import InvalidParameterValue, KeyNotFound, MissingParameter
from openkms.domain.models import Caller, Key, KeyQuery, KeyState, KeyUsage, Origin, Rotation, Tag
from openkms.service.keys import CREATE_TYPE_DEFAULT, CREATE_TYPE_EXTERNAL

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


@dataclass(frozen=True)
class AwsKeySpec:
    """How AWS names an OpenKMS key usage: KeySpec, KeyUsage, and the algorithms AWS lists for it."""

    key_spec: str
    key_usage: str
    signing: tuple[str, ...] = ()
    encryption: tuple[str, ...] = ()
    mac: tuple[str, ...] = ()


AWS_KEY_SPECS: Mapping[KeyUsage, AwsKeySpec] = MappingProxyType(
    {
        KeyUsage.ENCRYPT_DECRYPT: AwsKeySpec(SYMMETRIC_DEFAULT, "ENCRYPT_DECRYPT", encryption=(SYMMETRIC_DEFAULT,)),
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_RSA_2048: AwsKeySpec(
            "RSA_2048", "SIGN_VERIFY", signing=("RSASSA_PSS_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256")
        ),
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_ECC: AwsKeySpec("ECC_NIST_P256", "SIGN_VERIFY", signing=("ECDSA_SHA_256",)),
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_ECDSA384: AwsKeySpec(
            "ECC_NIST_P384", "SIGN_VERIFY", signing=("ECDSA_SHA_384",)
        ),
        KeyUsage.ASYMMETRIC_SIGN_VERIFY_SM2: AwsKeySpec("SM2", "SIGN_VERIFY", signing=("SM2DSA",)),
        KeyUsage.ASYMMETRIC_DECRYPT_RSA_2048: AwsKeySpec(
            "RSA_2048", "ENCRYPT_DECRYPT", encryption=("RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256")
        ),
        KeyUsage.ASYMMETRIC_DECRYPT_SM2: AwsKeySpec("SM2", "ENCRYPT_DECRYPT", encryption=("SM2PKE",)),
        KeyUsage.HMAC_256: AwsKeySpec("HMAC_256", "GENERATE_VERIFY_MAC", mac=("HMAC_SHA_256",)),
    }
)
"""The usages AWS can name (post-quantum keys have no AWS KeySpec here yet)."""
SIGNING_ALGORITHMS = {
    "RSASSA_PSS_SHA_256": "RSA_PSS_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_256": "RSA_PKCS1_SHA_256",
    "ECDSA_SHA_256": "ECC_P256_R1",
    "ECDSA_SHA_384": "ECC_P384_R1",
    "SM2DSA": "SM2DSA",
}
"""AWS SigningAlgorithm -> the Tencent Algorithm of SignByAsymmetricKey (the same signatures)."""
SM2_PKE = "SM2PKE"
PUBLIC_KEY_ALGORITHMS = {
    "RSAES_OAEP_SHA_1": "RSAES_OAEP_SHA_1",
    "RSAES_OAEP_SHA_256": "RSAES_OAEP_SHA_256",
    SM2_PKE: "SM2_C1C3C2_ASN1",
}
"""AWS EncryptionAlgorithm of an asymmetric key -> the Tencent name of the same ciphertext's form."""
PUBLIC_KEY_DECRYPT_POLICIES = {
    "RSAES_OAEP_SHA_1": "AsymmetricRsaDecrypt",
    "RSAES_OAEP_SHA_256": "AsymmetricRsaDecrypt",
    SM2_PKE: "AsymmetricSm2Decrypt",
}
"""An asymmetric Decrypt is the Tencent action that decrypts with that key pair, for policies and limits."""


def arn(caller: Caller, key_id: str) -> str:
    return f"{arn_prefix(caller)}key/{key_id}"


def arn_prefix(caller: Caller) -> str:
    """What every ARN of the caller's keys and aliases starts with."""
    return f"arn:aws:kms:{caller.region}:{caller.account}:"


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
    prefix = arn_prefix(caller)
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


def with_key(services: Services, caller: Caller, p: Params) -> Params:
    return {"KeyId": resolve_key_id(services, caller, p.get("KeyId"))}


def _with_context(services: Services, caller: Caller, p: Params) -> Params:
    """The key and the EncryptionContext (in Tencent's canonical text). A context binds only symmetric
    ciphertexts: given with an asymmetric algorithm it would be checked by policies and grant
    constraints yet bind nothing, so it is refused."""
    if p.get("EncryptionAlgorithm", SYMMETRIC_DEFAULT) != SYMMETRIC_DEFAULT and p.get("EncryptionContext"):
        raise InvalidParameterValue(
            "EncryptionContext applies to symmetric keys only (EncryptionAlgorithm SYMMETRIC_DEFAULT)."
        )
    translated = with_key(services, caller, p) if "KeyId" in p else {}
    translated["EncryptionContext"] = _context(p)
    return translated


def _spec(key: Key) -> AwsKeySpec:
    spec = AWS_KEY_SPECS.get(key.usage)
    if spec is None:
        raise ApiError("UnsupportedOperationException", f"Key {key.key_id} ({key.usage.value}) has no AWS KeySpec.")
    return spec


def key_metadata(caller: Caller, key: Key) -> dict[str, Any]:
    spec = _spec(key)
    metadata: dict[str, Any] = {
        "AWSAccountId": key.account,
        "KeyId": key.key_id,
        "Arn": arn(caller, key.key_id),
        "CreationDate": key.create_time,
        "Enabled": key.state == KeyState.ENABLED,
        "Description": key.description,
        "KeyUsage": spec.key_usage,
        "KeyState": KEY_STATES[key.state],
        "Origin": "EXTERNAL" if key.origin == Origin.EXTERNAL else "AWS_KMS",
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": spec.key_spec,
        "KeySpec": spec.key_spec,
        "MultiRegion": False,
    }
    if spec.encryption:
        metadata["EncryptionAlgorithms"] = list(spec.encryption)
    if spec.signing:
        metadata["SigningAlgorithms"] = list(spec.signing)
    if spec.mac:
        metadata["MacAlgorithms"] = list(spec.mac)
    if key.state == KeyState.PENDING_DELETE:
        metadata["DeletionDate"] = key.deletion_date
    if key.origin == Origin.EXTERNAL:
        metadata["ExpirationModel"] = "KEY_MATERIAL_EXPIRES" if key.valid_to else "KEY_MATERIAL_DOES_NOT_EXPIRE"
        if key.valid_to:
            metadata["ValidTo"] = key.valid_to
    return metadata


def create_key(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    key_spec = str(p.get("KeySpec") or p.get("CustomerMasterKeySpec") or SYMMETRIC_DEFAULT)
    key_usage = p.get("KeyUsage", "ENCRYPT_DECRYPT" if key_spec == SYMMETRIC_DEFAULT else None)
    if key_usage is None:
        raise InvalidParameterValue(f"KeyUsage is required for KeySpec {key_spec[:32]}.")
    usages = [u for u, s in AWS_KEY_SPECS.items() if (s.key_spec, s.key_usage) == (key_spec, key_usage)]
    if not usages:
        raise ApiError(
            "UnsupportedOperationException",
            f"KeySpec {key_spec[:32]} with KeyUsage {str(key_usage)[:32]} is not a key OpenKMS makes.",
        )
    usage = usages[0]
    origin = p.get("Origin", "AWS_KMS")
    if origin not in ("AWS_KMS", "EXTERNAL") or (origin == "EXTERNAL" and key_spec != SYMMETRIC_DEFAULT):
        raise ApiError("UnsupportedOperationException", "Origin is AWS_KMS, or EXTERNAL for a symmetric key.")
    key_id = str(uuid.uuid4())
    tags = [Tag(str(t["TagKey"]), str(t["TagValue"])) for t in p.get("Tags", [])]
    # A Tencent key has one alias, required: an AWS-made key is named by its id until CreateAlias names it.
    key = services.keys.create(
        caller,
        key_id,
        str(p.get("Description", "")),
        usage=usage.value,
        key_type=CREATE_TYPE_EXTERNAL if origin == "EXTERNAL" else CREATE_TYPE_DEFAULT,
        tags=tags,
        key_id=key_id,
    )
    return {"KeyMetadata": key_metadata(caller, key)}


def describe_key(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    return {"KeyMetadata": key_metadata(caller, services.keys.describe(caller, t["KeyId"]))}


def page_request(p: Params, default: int = LIST_DEFAULT_LIMIT, most: int = LIST_MAX_LIMIT) -> tuple[int, int]:
    """(offset, limit) from AWS's Limit and Marker (a NextMarker OpenKMS gave: where to go on from)."""
    limit = p.get("Limit", default)
    if not isinstance(limit, int) or not 1 <= limit <= most:
        raise InvalidParameterValue(f"Limit must be 1-{most}.")
    marker = p.get("Marker", "0")
    if not isinstance(marker, str) or not marker.isdigit():
        raise InvalidParameterValue("Marker must be the NextMarker of an earlier call.")
    return int(marker), limit


def paged(response: Response, offset: int, shown: int, total: int) -> Response:
    """The response with AWS's Truncated, and NextMarker when more follow."""
    response["Truncated"] = offset + shown < total
    if response["Truncated"]:
        response["NextMarker"] = str(offset + shown)
    return response


def list_keys(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    offset, limit = page_request(p)
    total, keys = services.keys.list(KeyQuery(caller.account, caller.region, offset=offset, limit=limit))
    return paged(
        {"Keys": [{"KeyId": k.key_id, "KeyArn": arn(caller, k.key_id)} for k in keys]}, offset, len(keys), total
    )


def encrypt(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    algorithm = _encryption_algorithm(p)
    plaintext = _blob(p, "Plaintext")
    if algorithm == SYMMETRIC_DEFAULT:
        sealed = services.crypto.encrypt(caller, t["KeyId"], plaintext, t["EncryptionContext"])
        key_id, blob = sealed.key_id, sealed.blob
    else:
        key_id, blob = services.asymmetric.encrypt(caller, t["KeyId"], PUBLIC_KEY_ALGORITHMS[algorithm], plaintext)
    return {
        "CiphertextBlob": base64.b64encode(blob).decode(),
        "KeyId": arn(caller, key_id),
        "EncryptionAlgorithm": algorithm,
    }


def decrypt(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    algorithm = _encryption_algorithm(p)
    blob = _blob(p, "CiphertextBlob")
    if algorithm == SYMMETRIC_DEFAULT:
        opened = services.crypto.decrypt(caller, blob, t["EncryptionContext"])
        key_id, plaintext = opened.key_id, opened.plaintext
    elif algorithm == SM2_PKE:
        key_id, plaintext = services.asymmetric.sm2_decrypt(caller, t["KeyId"], blob)
    else:
        key_id, plaintext = services.asymmetric.rsa_decrypt(caller, t["KeyId"], blob, algorithm)
    if "KeyId" in p and t["KeyId"] != key_id:
        raise ApiError(
            "IncorrectKeyException", "The key ID in the request does not identify the key that encrypted it."
        )
    return {
        "KeyId": arn(caller, key_id),
        "Plaintext": base64.b64encode(plaintext).decode(),
        "EncryptionAlgorithm": algorithm,
    }


def _encryption_algorithm(p: Params) -> str:
    algorithm = p.get("EncryptionAlgorithm", SYMMETRIC_DEFAULT)
    if algorithm != SYMMETRIC_DEFAULT and algorithm not in PUBLIC_KEY_ALGORITHMS:
        known = ", ".join((SYMMETRIC_DEFAULT, *PUBLIC_KEY_ALGORITHMS))
        raise InvalidParameterValue(f"EncryptionAlgorithm must be one of {known}.")
    return str(algorithm)


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


def _data_key_pair(services: Services, caller: Caller, p: Params, t: Params) -> tuple[Response, bytes]:
    """The answer without the private key, and the private key (PKCS#8 DER)."""
    spec = p.get("KeyPairSpec")
    if not isinstance(spec, str):
        raise MissingParameter("KeyPairSpec is required.")
    private, public = services.crypto.generate_data_key_pair(caller, t["KeyId"], spec, t["EncryptionContext"])
    answer = {
        "PrivateKeyCiphertextBlob": base64.b64encode(private.blob).decode(),
        "PublicKey": base64.b64encode(public).decode(),
        "KeyId": arn(caller, private.key_id),
        "KeyPairSpec": spec,
    }
    return answer, private.plaintext


def generate_data_key_pair(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    answer, private = _data_key_pair(services, caller, p, t)
    return {**answer, "PrivateKeyPlaintext": base64.b64encode(private).decode()}


def generate_data_key_pair_without_plaintext(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    return _data_key_pair(services, caller, p, t)[0]


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


def update_key_description(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.keys.update_description(caller, t["KeyId"], str(p.get("Description", "")))
    return {}


def _alias_name(p: Params, field: str = "AliasName") -> str:
    name = p.get(field)
    if not isinstance(name, str) or not name.startswith("alias/") or name.startswith("alias/aws/"):
        raise InvalidParameterValue(f"{field} must be alias/<name> (alias/aws/ is reserved for AWS).")
    return name[len("alias/") :]


def _unnamed(services: Services, caller: Caller, key_id: str) -> None:
    """Give a key back its id as its alias: OpenKMS keys always have one (AWS's "no alias")."""
    services.keys.update_alias(caller, key_id, key_id)


def create_alias(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    name = _alias_name(p)
    key = services.keys.describe(caller, t["KeyId"])
    if services.keys.key_id_of_alias(caller, name) is not None:
        raise ApiError("AlreadyExistsException", f"An alias with the name alias/{name} already exists.")
    if key.alias != key.key_id:
        raise ApiError(
            "LimitExceededException",
            f"Key {key.key_id} already has the alias alias/{key.alias}: an OpenKMS key has one alias (the "
            "Tencent API's); UpdateAlias moves an alias, DeleteAlias removes it.",
        )
    services.keys.update_alias(caller, key.key_id, name)
    return {}


def _aliased(services: Services, caller: Caller, name: str) -> str:
    """The key alias/<name> names; NotFoundException if none does."""
    current = services.keys.key_id_of_alias(caller, name)
    if current is None:
        raise KeyNotFound(f"Alias alias/{name} is not found.")
    return current


def update_alias(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    name = _alias_name(p)
    current = _aliased(services, caller, name)
    target = services.keys.describe(caller, t["KeyId"])
    if target.key_id != current:
        if target.alias != target.key_id:
            raise ApiError("LimitExceededException", f"Key {target.key_id} already has an alias.")
        _unnamed(services, caller, current)
        services.keys.update_alias(caller, target.key_id, name)
    return {}


def delete_alias(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    _unnamed(services, caller, _aliased(services, caller, _alias_name(p)))
    return {}


def list_aliases(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    only = t.get("KeyId")
    found: list[Key] = []
    while True:  # every key of the region: aliases are few, and AWS lists them all by default
        total, page = services.keys.list(KeyQuery(caller.account, caller.region, offset=len(found), limit=200))
        found += page
        if not page or len(found) >= total:
            break
    aliases = [
        {
            "AliasName": f"alias/{key.alias}",
            "AliasArn": f"{arn_prefix(caller)}alias/{key.alias}",
            "TargetKeyId": key.key_id,
            "CreationDate": key.create_time,
        }
        for key in found
        if key.alias != key.key_id and (only is None or key.key_id == only)
    ]
    return {"Aliases": aliases, "Truncated": False}


def enable_key_rotation(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.rotation.enable(caller, t["KeyId"], p.get("RotationPeriodInDays"))
    return {}


def disable_key_rotation(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.rotation.disable(caller, t["KeyId"])
    return {}


def get_key_rotation_status(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    key = services.rotation.status(caller, t["KeyId"])
    status: Response = {"KeyRotationEnabled": key.rotation_enabled, "KeyId": arn(caller, key.key_id)}
    if key.rotation_enabled:
        status["RotationPeriodInDays"] = key.rotate_days
        status["NextRotationDate"] = key.next_rotate_time
    return status


def list_key_rotations(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    rotations = services.rotation.rotations(caller, t["KeyId"])
    offset, limit = page_request(p)
    page = rotations[offset : offset + limit]
    entries = []
    for rotation in page:
        entry: dict[str, Any] = {"KeyId": t["KeyId"], "RotationDate": rotation.create_time}
        if rotation.rotation != Rotation.UNRECORDED:
            entry["RotationType"] = rotation.rotation.value
        entries.append(entry)
    return paged({"Rotations": entries}, offset, len(page), len(rotations))


def rotate_key_on_demand(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.rotation.rotate_now(caller, t["KeyId"])
    return {"KeyId": arn(caller, t["KeyId"])}


def schedule_key_deletion(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    days = p.get("PendingWindowInDays", 30)
    key = services.keys.describe(caller, t["KeyId"])
    if key.state == KeyState.ENABLED:
        # AWS schedules an enabled key; Tencent wants it disabled first: disable it on the caller's behalf.
        services.keys.disable(caller, [key.key_id])
    deletion_date = services.keys.schedule_deletion(caller, key.key_id, days)
    return {
        "KeyId": arn(caller, key.key_id),
        "DeletionDate": deletion_date,
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": days,
    }


def cancel_key_deletion(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.keys.cancel_deletion(caller, t["KeyId"])
    return {"KeyId": arn(caller, t["KeyId"])}


def re_encrypt(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    for name in ("SourceEncryptionAlgorithm", "DestinationEncryptionAlgorithm"):
        if p.get(name, SYMMETRIC_DEFAULT) != SYMMETRIC_DEFAULT:
            raise InvalidParameterValue(f"{name} must be SYMMETRIC_DEFAULT for symmetric keys.")
    resealed = services.crypto.re_encrypt(
        caller,
        _blob(p, "CiphertextBlob"),
        t["DestinationKeyId"],
        _context(p, "SourceEncryptionContext"),
        _context(p, "DestinationEncryptionContext"),
    )
    if "SourceKeyId" in p and t["SourceKeyId"] != resealed.source_key_id:
        raise ApiError("IncorrectKeyException", "SourceKeyId does not identify the key that encrypted the ciphertext.")
    return {
        "CiphertextBlob": base64.b64encode(resealed.blob).decode(),
        "SourceKeyId": arn(caller, resealed.source_key_id),
        "KeyId": arn(caller, resealed.key_id),
        "SourceEncryptionAlgorithm": SYMMETRIC_DEFAULT,
        "DestinationEncryptionAlgorithm": SYMMETRIC_DEFAULT,
    }


def get_public_key(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    public = services.asymmetric.public_key(caller, t["KeyId"])
    spec = _spec(services.keys.describe(caller, public.key_id))
    response: Response = {
        "KeyId": arn(caller, public.key_id),
        "PublicKey": base64.b64encode(public.der).decode(),
        "CustomerMasterKeySpec": spec.key_spec,
        "KeySpec": spec.key_spec,
        "KeyUsage": spec.key_usage,
    }
    if spec.signing:
        response["SigningAlgorithms"] = list(spec.signing)
    if spec.encryption:
        response["EncryptionAlgorithms"] = list(spec.encryption)
    return response


def _signing(p: Params) -> tuple[str, str]:
    algorithm = p.get("SigningAlgorithm")
    if algorithm not in SIGNING_ALGORITHMS:
        raise InvalidParameterValue(f"SigningAlgorithm must be one of {', '.join(SIGNING_ALGORITHMS)}.")
    message_type = p.get("MessageType", "RAW")
    if message_type not in ("RAW", "DIGEST"):
        raise InvalidParameterValue("MessageType must be RAW or DIGEST.")
    return SIGNING_ALGORITHMS[algorithm], message_type


def sign(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    algorithm, message_type = _signing(p)
    signature = services.asymmetric.sign(caller, t["KeyId"], algorithm, _blob(p, "Message"), message_type)
    return {
        "KeyId": arn(caller, t["KeyId"]),
        "Signature": base64.b64encode(signature).decode(),
        "SigningAlgorithm": p["SigningAlgorithm"],
    }


def verify(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    algorithm, message_type = _signing(p)
    message, signature = _blob(p, "Message"), _blob(p, "Signature")
    if not services.asymmetric.verify(caller, t["KeyId"], algorithm, message, signature, message_type):
        raise ApiError("KMSInvalidSignatureException", "The signature does not verify with this key and algorithm.")
    return {"KeyId": arn(caller, t["KeyId"]), "SignatureValid": True, "SigningAlgorithm": p["SigningAlgorithm"]}


def _mac_request(p: Params) -> tuple[str, bytes]:
    algorithm = p.get("MacAlgorithm")
    if not isinstance(algorithm, str):
        raise MissingParameter("MacAlgorithm is required.")
    return algorithm, _blob(p, "Message")


def generate_mac(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    algorithm, message = _mac_request(p)
    key_id, tag = services.mac.generate(caller, t["KeyId"], algorithm, message)
    return {"Mac": base64.b64encode(tag).decode(), "MacAlgorithm": algorithm, "KeyId": arn(caller, key_id)}


def verify_mac(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    algorithm, message = _mac_request(p)
    key_id, valid = services.mac.verify(caller, t["KeyId"], algorithm, message, _blob(p, "Mac"))
    if not valid:
        raise ApiError("KMSInvalidMacException", "The MAC does not verify with this key, algorithm and message.")
    return {"KeyId": arn(caller, key_id), "MacValid": True, "MacAlgorithm": algorithm}


def _tags(p: Params) -> list[Tag]:
    given = p.get("Tags", [])
    if not isinstance(given, list) or not all(isinstance(t, dict) and "TagKey" in t for t in given):
        raise InvalidParameterValue("Tags must be a list of {TagKey, TagValue}.")
    return [Tag(str(t["TagKey"]), str(t.get("TagValue", ""))) for t in given]


def tag_resource(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.keys.retag(caller, t["KeyId"], add=_tags(p))
    return {}


def untag_resource(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    keys = p.get("TagKeys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise InvalidParameterValue("TagKeys must be a list of strings.")
    services.keys.retag(caller, t["KeyId"], remove=keys)
    return {}


def list_resource_tags(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    tags = services.keys.tags(caller, t["KeyId"])
    return {"Tags": [{"TagKey": tag.key, "TagValue": tag.value} for tag in tags], "Truncated": False}


def get_parameters_for_import(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    parameters = services.imports.parameters(
        caller, t["KeyId"], str(p.get("WrappingAlgorithm", "")), str(p.get("WrappingKeySpec", ""))
    )
    return {
        "KeyId": arn(caller, parameters.key_id),
        "ImportToken": base64.b64encode(parameters.token.encode()).decode(),
        "PublicKey": base64.b64encode(parameters.public_key_der).decode(),
        "ParametersValidTo": parameters.valid_to,
    }


def import_key_material(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    token = _blob(p, "ImportToken").decode("ascii", errors="replace")
    expires = p.get("ExpirationModel", "KEY_MATERIAL_EXPIRES" if "ValidTo" in p else "KEY_MATERIAL_DOES_NOT_EXPIRE")
    valid_to = int(p.get("ValidTo", 0)) if expires == "KEY_MATERIAL_EXPIRES" else 0
    if expires == "KEY_MATERIAL_EXPIRES" and not valid_to:
        raise InvalidParameterValue("ValidTo is required when the key material expires.")
    services.imports.import_material(caller, t["KeyId"], _blob(p, "EncryptedKeyMaterial"), token, valid_to)
    return {}


def delete_imported_key_material(services: Services, caller: Caller, p: Params, t: Params) -> Response:
    services.imports.delete_material(caller, t["KeyId"])
    return {}


Translate = Callable[[Services, Caller, Params], Params]
Handler = Callable[[Services, Caller, Params, Params], Response]


# A translation holds only what the policy check reads (api/resources.py) and the handler takes from
# it: never the client's fields wholesale, which could name contexts or keys nothing binds.


def as_is(services: Services, caller: Caller, p: Params) -> Params:
    return {}


def _target_key(services: Services, caller: Caller, p: Params) -> Params:
    return {"KeyId": resolve_key_id(services, caller, p.get("TargetKeyId"))}


def _alias_move(services: Services, caller: Caller, p: Params) -> Params:
    """UpdateAlias changes two keys, the alias's new key and the key it leaves: both are checked."""
    target = resolve_key_id(services, caller, p.get("TargetKeyId"))
    current = services.keys.key_id_of_alias(caller, _alias_name(p))
    return {"KeyId": target, "AliasKeyIds": [target] if current is None else [target, current]}


def _alias_key(services: Services, caller: Caller, p: Params) -> Params:
    return {"KeyId": resolve_key_id(services, caller, p.get("AliasName"))}


def _alias_listing(services: Services, caller: Caller, p: Params) -> Params:
    return with_key(services, caller, p) if "KeyId" in p else {}


def _decrypt_params(services: Services, caller: Caller, p: Params) -> Params:
    if p.get("EncryptionAlgorithm", SYMMETRIC_DEFAULT) != SYMMETRIC_DEFAULT and "KeyId" not in p:
        raise MissingParameter("KeyId is required to decrypt with an asymmetric key.")
    return {**_with_context(services, caller, p), "CiphertextBlob": p.get("CiphertextBlob", "")}


def _re_encrypt_keys(services: Services, caller: Caller, p: Params) -> Params:
    translated: Params = {"DestinationKeyId": resolve_key_id(services, caller, p.get("DestinationKeyId"))}
    if "SourceKeyId" in p:
        translated["SourceKeyId"] = resolve_key_id(services, caller, p["SourceKeyId"])
    translated["SourceEncryptionContext"] = _context(p, "SourceEncryptionContext")
    translated["DestinationEncryptionContext"] = _context(p, "DestinationEncryptionContext")
    translated["CiphertextBlob"] = p.get("CiphertextBlob", "")
    return translated


@dataclass(frozen=True)
class AwsAction:
    policy: str
    """The Tencent action a policy names (kms:<policy>), whose resources this action touches."""
    translate: Translate
    handler: Handler
    runs_on_loop: bool = False
    policy_by_algorithm: Mapping[str, str] = field(default_factory=dict)
    """Where the Tencent action depends on the request's EncryptionAlgorithm (asymmetric Decrypt)."""

    def policy_of(self, params: Params) -> str:
        algorithm = params.get("EncryptionAlgorithm")
        return self.policy_by_algorithm.get(algorithm, self.policy) if isinstance(algorithm, str) else self.policy


KEY_ACTIONS: Mapping[str, AwsAction] = MappingProxyType(
    {
        "CreateKey": AwsAction("CreateKey", as_is, create_key),
        "DescribeKey": AwsAction("DescribeKey", with_key, describe_key, runs_on_loop=True),
        "ListKeys": AwsAction("ListKeys", as_is, list_keys),
        "Encrypt": AwsAction("Encrypt", _with_context, encrypt, runs_on_loop=True),
        "Decrypt": AwsAction(
            "Decrypt", _decrypt_params, decrypt, runs_on_loop=True, policy_by_algorithm=PUBLIC_KEY_DECRYPT_POLICIES
        ),
        "GenerateDataKey": AwsAction("GenerateDataKey", _with_context, generate_data_key, runs_on_loop=True),
        "GenerateDataKeyWithoutPlaintext": AwsAction(
            "GenerateDataKey", _with_context, generate_data_key_without_plaintext, runs_on_loop=True
        ),
        "GenerateRandom": AwsAction("GenerateRandom", as_is, generate_random, runs_on_loop=True),
        "EnableKey": AwsAction("EnableKey", with_key, enable_key),
        "DisableKey": AwsAction("DisableKey", with_key, disable_key),
        "UpdateKeyDescription": AwsAction("UpdateKeyDescription", with_key, update_key_description),
        "CreateAlias": AwsAction("UpdateAlias", _target_key, create_alias),
        "UpdateAlias": AwsAction("UpdateAlias", _alias_move, update_alias),
        "DeleteAlias": AwsAction("UpdateAlias", _alias_key, delete_alias),
        "ListAliases": AwsAction("ListKeys", _alias_listing, list_aliases),
        "EnableKeyRotation": AwsAction("EnableKeyRotation", with_key, enable_key_rotation),
        "DisableKeyRotation": AwsAction("DisableKeyRotation", with_key, disable_key_rotation),
        "GetKeyRotationStatus": AwsAction("GetKeyRotationStatus", with_key, get_key_rotation_status),
        "ListKeyRotations": AwsAction("GetKeyRotationStatus", with_key, list_key_rotations),
        "RotateKeyOnDemand": AwsAction("RotateKey", with_key, rotate_key_on_demand),
        "ScheduleKeyDeletion": AwsAction("ScheduleKeyDeletion", with_key, schedule_key_deletion),
        "CancelKeyDeletion": AwsAction("CancelKeyDeletion", with_key, cancel_key_deletion),
        "ReEncrypt": AwsAction("ReEncrypt", _re_encrypt_keys, re_encrypt, runs_on_loop=True),
        "GetPublicKey": AwsAction("GetPublicKey", with_key, get_public_key, runs_on_loop=True),
        "Sign": AwsAction("SignByAsymmetricKey", with_key, sign, runs_on_loop=True),
        "Verify": AwsAction("VerifyByAsymmetricKey", with_key, verify, runs_on_loop=True),
        "GetParametersForImport": AwsAction("GetParametersForImport", with_key, get_parameters_for_import),
        "ImportKeyMaterial": AwsAction("ImportKeyMaterial", with_key, import_key_material),
        "DeleteImportedKeyMaterial": AwsAction("DeleteImportedKeyMaterial", with_key, delete_imported_key_material),
        # AWS-only actions, authorized under their own names (kms:TagResource ...)
        # Generating an RSA-4096 pair takes a while: on a worker thread, not the event loop.
        "GenerateDataKeyPair": AwsAction("GenerateDataKeyPair", _with_context, generate_data_key_pair),
        "GenerateDataKeyPairWithoutPlaintext": AwsAction(
            "GenerateDataKeyPair", _with_context, generate_data_key_pair_without_plaintext
        ),
        "TagResource": AwsAction("TagResource", with_key, tag_resource),
        "GenerateMac": AwsAction("GenerateMac", with_key, generate_mac, runs_on_loop=True),
        "VerifyMac": AwsAction("VerifyMac", with_key, verify_mac, runs_on_loop=True),
        "UntagResource": AwsAction("UntagResource", with_key, untag_resource),
        "ListResourceTags": AwsAction("ListResourceTags", with_key, list_resource_tags),
    }
)
