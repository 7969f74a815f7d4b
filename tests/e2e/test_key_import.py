"""Bring your own key, played as a user would: wrap material locally, import it, use it."""

import base64
import os
import time
import uuid

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.sdk import call, code_of
from tests.serverproc import Server

PADDINGS = {
    "RSAES_PKCS1_V1_5": padding.PKCS1v15(),
    "RSAES_OAEP_SHA_1": padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
    "RSAES_OAEP_SHA_256": padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None),
}


def external_key(server: Server) -> str:
    key_id: str = call(server.client(), "CreateKey", Alias=f"byok-{uuid.uuid4().hex[:12]}", Type=2)["KeyId"]
    return key_id


def wrap_for(server: Server, key_id: str, material: bytes, algorithm: str = "RSAES_OAEP_SHA_256") -> tuple[str, str]:
    """(ImportToken, EncryptedKeyMaterial) as a user makes them with the returned public key."""
    parameters = call(
        server.client(), "GetParametersForImport", KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec="RSA_2048"
    )
    assert parameters["KeyId"] == key_id
    assert abs(parameters["ParametersValidTo"] - time.time() - 86400) < 60
    public = serialization.load_der_public_key(base64.b64decode(parameters["PublicKey"]))
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    wrapped = public.encrypt(material, PADDINGS[algorithm])
    return parameters["ImportToken"], base64.b64encode(wrapped).decode()


@pytest.mark.parametrize("algorithm", list(PADDINGS))
def test_import_use_delete_and_reimport(server: Server, algorithm: str) -> None:
    client = server.client()
    key_id = external_key(server)
    metadata = call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert (metadata["KeyState"], metadata["Origin"]) == ("PendingImport", "EXTERNAL")
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "ResourceUnavailable.CmkStateNotSupport"

    material = os.urandom(32)
    token, wrapped = wrap_for(server, key_id, material, algorithm)
    call(client, "ImportKeyMaterial", KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    blob = call(client, "Encrypt", KeyId=key_id, Plaintext="aGk=")["CiphertextBlob"]

    call(client, "DeleteImportedKeyMaterial", KeyId=key_id)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    assert code_of(client, "Decrypt", CiphertextBlob=blob) == "ResourceUnavailable.CmkStateNotSupport"

    token, wrapped = wrap_for(server, key_id, material, algorithm)
    call(client, "ImportKeyMaterial", KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped)
    assert call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="


def test_only_the_same_material_can_be_imported_again(server: Server) -> None:
    client = server.client()
    key_id = external_key(server)
    material = os.urandom(32)
    token, wrapped = wrap_for(server, key_id, material)
    call(client, "ImportKeyMaterial", KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped)

    token, wrapped = wrap_for(server, key_id, os.urandom(32))
    code = code_of(client, "ImportKeyMaterial", KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped)
    assert code == "InvalidParameterValue.MaterialNotMatch"

    valid_to = int(time.time()) + 3600
    token, wrapped = wrap_for(server, key_id, material)
    call(client, "ImportKeyMaterial", KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped, ValidTo=valid_to)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["ValidTo"] == valid_to


def test_import_refusals(server: Server) -> None:
    client = server.client()
    key_id = external_key(server)
    other = external_key(server)
    material = os.urandom(32)

    token, wrapped = wrap_for(server, key_id, material)
    call(client, "ImportKeyMaterial", KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped)
    assert code_of(client, "ImportKeyMaterial", KeyId=key_id, ImportToken=token, EncryptedKeyMaterial=wrapped) == (
        "ResourceUnavailable.TokenExpired"
    ), "an import token is used once"

    token, wrapped = wrap_for(server, key_id, material)
    assert code_of(client, "ImportKeyMaterial", KeyId=other, ImportToken=token, EncryptedKeyMaterial=wrapped) == (
        "InvalidParameter"
    ), "a token works only for the key it was issued for"
    assert code_of(client, "ImportKeyMaterial", KeyId=other, ImportToken="made-up", EncryptedKeyMaterial=wrapped) == (
        "InvalidParameter"
    )

    token, _ = wrap_for(server, other, material)
    garbage = base64.b64encode(os.urandom(256)).decode()
    assert code_of(client, "ImportKeyMaterial", KeyId=other, ImportToken=token, EncryptedKeyMaterial=garbage) == (
        "InvalidParameter.DecryptMaterialError"
    )
    token, short = wrap_for(server, other, os.urandom(16))
    assert code_of(client, "ImportKeyMaterial", KeyId=other, ImportToken=token, EncryptedKeyMaterial=short) == (
        "InvalidParameterValue.InvalidImportKeyMaterial"
    )
    token, wrapped = wrap_for(server, other, material)
    past = int(time.time()) - 10
    assert (
        code_of(client, "ImportKeyMaterial", KeyId=other, ImportToken=token, EncryptedKeyMaterial=wrapped, ValidTo=past)
        == "InvalidParameterValue"
    )
    assert call(client, "DescribeKey", KeyId=other)["KeyMetadata"]["KeyState"] == "PendingImport"

    assert (
        code_of(
            client,
            "GetParametersForImport",
            KeyId=other,
            WrappingAlgorithm="RSAES_OAEP_SHA_256",
            WrappingKeySpec="RSA_4096",
        )
        == "InvalidParameterValue"
    )
    assert (
        code_of(client, "GetParametersForImport", KeyId=other, WrappingAlgorithm="AES_KW", WrappingKeySpec="RSA_2048")
        == "InvalidParameterValue"
    )

    native = call(client, "CreateKey", Alias=f"native-{uuid.uuid4().hex[:8]}")["KeyId"]
    assert (
        code_of(
            client,
            "GetParametersForImport",
            KeyId=native,
            WrappingAlgorithm="RSAES_OAEP_SHA_256",
            WrappingKeySpec="RSA_2048",
        )
        == "UnsupportedOperation.NotExternalCmk"
    )
    assert code_of(client, "DeleteImportedKeyMaterial", KeyId=native) == "UnsupportedOperation.NotExternalCmk"


def test_a_never_imported_key_can_be_deleted_and_restored(server: Server) -> None:
    client = server.client()
    key_id = external_key(server)
    call(client, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    call(client, "CancelKeyDeletion", KeyId=key_id)
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
