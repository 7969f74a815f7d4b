"""Symmetric cryptographic actions."""

from openkms.api.actions.registry import Params, Response, Services
from openkms.api.encoding import b64decode, b64encode
from openkms.domain.errors import (
    InvalidCiphertext,
    InvalidParameterValue,
    InvalidPlaintext,
    MissingParameter,
)
from openkms.domain.models import Caller, Tag
from openkms.service.crypto_ops import data_key_size


def returned_plaintext(services: Services, p: Params, plaintext: bytes) -> str:
    """The Plaintext field: Base64 of the plaintext, or of it encrypted to EncryptionPublicKey if given."""
    if p.get("EncryptionPublicKey"):
        plaintext = services.asymmetric.encrypt_for_caller(
            p["EncryptionPublicKey"], p.get("EncryptionAlgorithm"), plaintext
        )
    return b64encode(plaintext)


def _plaintext(p: Params) -> bytes:
    plaintext = b64decode(p["Plaintext"], InvalidPlaintext, "Plaintext")
    if not plaintext:
        raise InvalidPlaintext("Plaintext must not be empty.")
    return plaintext


def encrypt(services: Services, caller: Caller, p: Params) -> Response:
    sealed = services.crypto.encrypt(caller, p["KeyId"], _plaintext(p), p.get("EncryptionContext"))
    return {"CiphertextBlob": b64encode(sealed.blob), "KeyId": sealed.key_id}


def decrypt(services: Services, caller: Caller, p: Params) -> Response:
    blob = b64decode(p["CiphertextBlob"], InvalidCiphertext, "CiphertextBlob")
    opened = services.crypto.decrypt(caller, blob, p.get("EncryptionContext"))
    return {"KeyId": opened.key_id, "Plaintext": returned_plaintext(services, p, opened.plaintext)}


def re_encrypt(services: Services, caller: Caller, p: Params) -> Response:
    blob = b64decode(p["CiphertextBlob"], InvalidCiphertext, "CiphertextBlob")
    resealed = services.crypto.re_encrypt(
        caller,
        blob,
        destination_key_id=p.get("DestinationKeyId") or None,
        source_context=p.get("SourceEncryptionContext"),
        destination_context=p.get("DestinationEncryptionContext"),
    )
    return {
        "CiphertextBlob": b64encode(resealed.blob),
        "KeyId": resealed.key_id,
        "SourceKeyId": resealed.source_key_id,
        "ReEncrypted": resealed.re_encrypted,
    }


def generate_data_key(services: Services, caller: Caller, p: Params) -> Response:
    hosted = p.get("IsHostedByKms", 0)
    if hosted not in (0, 1):
        raise InvalidParameterValue(f"IsHostedByKms must be 0 or 1; got {hosted}.")
    if hosted:
        if not p.get("DataKeyName"):
            raise MissingParameter("DataKeyName is required when IsHostedByKms is 1.")
        if p.get("EncryptionPublicKey"):
            # Refuse an unusable public key before the data key is stored, not after.
            returned_plaintext(services, p, bytes(data_key_size(p.get("KeySpec"), p.get("NumberOfBytes"))))
        record, plaintext = services.data_keys.generate(
            caller,
            p["KeyId"],
            p.get("KeySpec"),
            p.get("NumberOfBytes"),
            p.get("EncryptionContext"),
            p["DataKeyName"],
            p.get("Description", ""),
            [Tag(t["TagKey"], t["TagValue"]) for t in p.get("Tags", [])],
        )
        return {
            "KeyId": record.key_id,
            "Plaintext": returned_plaintext(services, p, plaintext),
            "CiphertextBlob": b64encode(record.blob),
            "DataKeyId": record.data_key_id,
            "TagCode": 0,
            "TagMsg": "",
        }
    data_key = services.crypto.generate_data_key(
        caller, p["KeyId"], p.get("KeySpec"), p.get("NumberOfBytes"), p.get("EncryptionContext")
    )
    return {
        "KeyId": data_key.key_id,
        "Plaintext": returned_plaintext(services, p, data_key.plaintext),
        "CiphertextBlob": b64encode(data_key.blob),
    }


def generate_random(services: Services, caller: Caller, p: Params) -> Response:
    return {"Plaintext": b64encode(services.crypto.generate_random(p["NumberOfBytes"]))}
