"""Every response carries every field of the official SDK's response model, with the model's type.

The SDKs deserialize by name and silently leave a missing field empty, so a client that reads one we
forgot gets None (Python), undefined (Node.js) or a zero value (Go) instead of an error. This walks the
Python SDK's models (tencentcloud.kms.v20190118.models) over one successful raw response per action
OpenKMS implements."""

import base64
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from tencentcloud.kms.v20190118 import models

from openkms.api.actions.table import ACTIONS
from openkms.api.schema import SDK_ACTIONS
from tests.raw import raw_post, response_of
from tests.serverproc import Server

_TYPE = re.compile(r":type (\w+): (.+)")
_SCALARS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "bool": (bool,), "float": (float, int)}


_CLASS = re.compile(r":class:`[\w.]+\.(\w+)`")


def model_fields(model: type) -> dict[str, str]:
    """Field name -> declared type ("str", "list of KeyMetadata", ...) from the model's docstring
    (where a struct may be spelled :class:`tencentcloud.kms.v20190118.models.KeyMetadata`)."""
    return {name: _CLASS.sub(r"\1", declared) for name, declared in _TYPE.findall(model.__init__.__doc__ or "")}


def problems(value: Any, declared: str, where: str) -> Iterator[str]:
    if declared.startswith("list of "):
        if not isinstance(value, list):
            yield f"{where} is {type(value).__name__}, not a list"
            return
        for n, item in enumerate(value):
            yield from problems(item, declared.removeprefix("list of "), f"{where}[{n}]")
        return
    if declared in _SCALARS:
        wanted = _SCALARS[declared]
        if not isinstance(value, wanted) or (declared == "int" and isinstance(value, bool)):
            yield f"{where} is {type(value).__name__} {value!r:.40}, not {declared}"
        return
    struct = getattr(models, declared)
    if not isinstance(value, dict):
        yield f"{where} is {type(value).__name__}, not a {declared} object"
        return
    for name, field_type in model_fields(struct).items():
        if name not in value:
            yield f"{where}.{name} is missing"
        elif value[name] is not None:
            yield from problems(value[name], field_type, f"{where}.{name}")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Scenario:
    """One successful call of each action, each building on what the earlier ones made."""

    def __init__(self, server: Server, tmp: Path) -> None:
        self.server = server
        self.tmp = tmp
        self.responses: dict[str, dict[str, Any]] = {}

    def call(self, action: str, **params: Any) -> dict[str, Any]:
        response = response_of(raw_post(self.server, action, json.dumps(params).encode()))
        assert "Error" not in response, (action, response["Error"])
        self.responses[action] = response
        return response

    def key(self, usage: str = "ENCRYPT_DECRYPT", **extra: Any) -> str:
        alias = f"model-{uuid.uuid4().hex[:10]}"
        key_id: str = self.call("CreateKey", Alias=alias, KeyUsage=usage, **extra)["KeyId"]
        return key_id

    def run(self) -> dict[str, dict[str, Any]]:
        for step in self.steps():
            step()
        return self.responses

    def steps(self) -> list[Callable[[], None]]:
        return [
            self.service,
            self.lifecycle,
            self.symmetric,
            self.asymmetric,
            self.post_quantum,
            self.imported,
            self.data_keys,
            self.whitebox,
        ]

    def service(self) -> None:
        for action in ("GetServiceStatus", "GetRegions", "ListAlgorithms"):
            self.call(action)
        self.call("GenerateRandom", NumberOfBytes=16)

    def lifecycle(self) -> None:
        key_id = self.key(Description="walked", Tags=[{"TagKey": "team", "TagValue": "models"}])
        self.call("DescribeKey", KeyId=key_id)
        self.call("DescribeKeys", KeyIds=[key_id])
        self.call("ListKeys", Limit=2)
        self.call("ListKeyDetail", Limit=2, TagFilters=[{"TagKey": "team", "TagValue": ["models"]}])
        self.call("UpdateAlias", KeyId=key_id, Alias=f"renamed-{uuid.uuid4().hex[:8]}")
        self.call("UpdateKeyDescription", KeyId=key_id, Description="walked again")
        self.call("EnableKeyRotation", KeyId=key_id)
        self.call("GetKeyRotationStatus", KeyId=key_id)
        self.call("DisableKeyRotation", KeyId=key_id)
        self.call("RotateKey", KeyId=key_id)
        self.call("DisableKey", KeyId=key_id)
        self.call("EnableKey", KeyId=key_id)
        self.call("DisableKeys", KeyIds=[key_id])
        self.call("EnableKeys", KeyIds=[key_id])
        self.call("ArchiveKey", KeyId=key_id)
        self.call("CancelKeyArchive", KeyId=key_id)
        self.call("DisableKey", KeyId=key_id)
        self.call("ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
        self.call("CancelKeyDeletion", KeyId=key_id)
        self.call("BindCloudResource", KeyId=key_id, ProductId="ssm", ResourceId="walked")
        self.call("UnbindCloudResource", KeyId=key_id, ProductId="ssm", ResourceId="walked")

    def symmetric(self) -> None:
        key_id = self.key()
        other = self.key()
        blob = self.call("Encrypt", KeyId=key_id, Plaintext=b64(b"walk"), EncryptionContext='{"a":"b"}')
        self.call("Decrypt", CiphertextBlob=blob["CiphertextBlob"], EncryptionContext='{"a":"b"}')
        self.call(
            "ReEncrypt",
            CiphertextBlob=blob["CiphertextBlob"],
            SourceEncryptionContext='{"a":"b"}',
            DestinationKeyId=other,
        )
        self.call("GenerateDataKey", KeyId=key_id, KeySpec="AES_256")

    def asymmetric(self) -> None:
        rsa_key = self.key("ASYMMETRIC_DECRYPT_RSA_2048")
        pem = self.call("GetPublicKey", KeyId=rsa_key)["PublicKeyPem"]
        public = serialization.load_pem_public_key(pem.encode())
        assert isinstance(public, rsa.RSAPublicKey)
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        self.call(
            "AsymmetricRsaDecrypt",
            KeyId=rsa_key,
            Algorithm="RSAES_OAEP_SHA_256",
            Ciphertext=b64(public.encrypt(b"walk", oaep)),
        )
        sm2_key = self.key("ASYMMETRIC_DECRYPT_SM2")
        sealed = self.call("Encrypt", KeyId=self.key(), Plaintext=b64(b"walk"))["CiphertextBlob"]
        sm2_pem = self.call("GetPublicKey", KeyId=sm2_key)["PublicKeyPem"]
        to_sm2 = self.call(
            "Decrypt", CiphertextBlob=sealed, EncryptionPublicKey=sm2_pem, EncryptionAlgorithm="SM2_C1C3C2_ASN1"
        )["Plaintext"]
        self.call("AsymmetricSm2Decrypt", KeyId=sm2_key, Ciphertext=to_sm2)
        signer = self.key("ASYMMETRIC_SIGN_VERIFY_SM2")
        signature = self.call(
            "SignByAsymmetricKey", KeyId=signer, Algorithm="SM2DSA", Message=b64(b"walk"), MessageType="RAW"
        )["Signature"]
        self.call(
            "VerifyByAsymmetricKey",
            KeyId=signer,
            Algorithm="SM2DSA",
            Message=b64(b"walk"),
            MessageType="RAW",
            SignatureValue=signature,
        )

    def post_quantum(self) -> None:
        kem = self.key("PQC_ENCRYPT_DECRYPT_ML_KEM_768")
        sealed = self.call("PostQuantumCryptoEncrypt", KeyId=kem, PlainText=b64(b"walk"))["CiphertextBlob"]
        self.call("PostQuantumCryptoDecrypt", CiphertextBlob=sealed)
        signer = self.key("PQC_SIGN_VERIFY_ML_DSA_65")
        signature = self.call("PostQuantumCryptoSign", KeyId=signer, Message=b64(b"walk"))["Signature"]
        self.call("PostQuantumCryptoVerify", KeyId=signer, Message=b64(b"walk"), SignatureValue=signature)

    def imported(self) -> None:
        key_id = self.external_key()
        parameters = self.call(
            "GetParametersForImport", KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
        )
        public = serialization.load_der_public_key(base64.b64decode(parameters["PublicKey"]))
        assert isinstance(public, rsa.RSAPublicKey)
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        self.call(
            "ImportKeyMaterial",
            KeyId=key_id,
            ImportToken=parameters["ImportToken"],
            EncryptedKeyMaterial=b64(public.encrypt(os.urandom(32), oaep)),
            ValidTo=int(time.time()) + 86400,
        )
        self.call("DeleteImportedKeyMaterial", KeyId=key_id)

    def external_key(self) -> str:
        key_id: str = self.call("CreateKey", Alias=f"external-{uuid.uuid4().hex[:8]}", Type=2)["KeyId"]
        return key_id

    def data_keys(self) -> None:
        key_id = self.key()
        name = f"dk-{uuid.uuid4().hex[:10]}"
        generated = self.call("GenerateDataKey", KeyId=key_id, KeySpec="AES_256", IsHostedByKms=1, DataKeyName=name)
        data_key = generated["DataKeyId"]
        self.call(
            "ImportDataKey",
            DataKeyName=f"imported-{uuid.uuid4().hex[:8]}",
            ImportKeyMaterial=b64(os.urandom(32)),
            ImportType=2,
            KeyId=key_id,
        )
        self.call("DescribeDataKey", DataKeyId=data_key)
        self.call("DescribeDataKeys", DataKeyIds=[data_key])
        self.call("ListDataKeys", Limit=2)
        self.call("ListDataKeyDetail", Limit=2)
        self.call("GetDataKeyPlaintext", DataKeyId=data_key)
        self.call("GetDataKeyCiphertextBlob", DataKeyId=data_key)
        self.call("UpdateDataKeyName", DataKeyId=data_key, DataKeyName=f"{name}-2")
        self.call("UpdateDataKeyDescription", DataKeyId=data_key, Description="walked")
        self.call("DisableDataKey", DataKeyId=data_key)
        self.call("EnableDataKey", DataKeyId=data_key)
        self.call("DisableDataKeys", DataKeyIds=[data_key])
        self.call("EnableDataKeys", DataKeyIds=[data_key])
        self.call("DisableDataKey", DataKeyId=data_key)
        self.call("ScheduleDataKeyDeletion", DataKeyId=data_key, PendingWindowInDays=7)
        self.call("CancelDataKeyDeletion", DataKeyId=data_key)

    def whitebox(self) -> None:
        fingerprint = "0123abcd-0123456789abcd-0123456789abcd-0123456789abcd-0123456789abcdef"
        key_id = self.call("CreateWhiteBoxKey", Alias=f"wb-{uuid.uuid4().hex[:8]}", Algorithm="SM4")["KeyId"]
        self.call("DescribeWhiteBoxServiceStatus")
        self.call("DescribeWhiteBoxKey", KeyId=key_id)
        self.call("DescribeWhiteBoxKeyDetails", Limit=2)
        self.call("DescribeWhiteBoxDecryptKey", KeyId=key_id)
        self.call("EncryptByWhiteBox", KeyId=key_id, PlainText=b64(b"walk"))
        self.call("OverwriteWhiteBoxDeviceFingerprints", KeyId=key_id, DeviceFingerprints=[{"Identity": fingerprint}])
        self.call("DescribeWhiteBoxDeviceFingerprints", KeyId=key_id)
        self.call("DisableWhiteBoxKeys", KeyIds=[key_id])
        self.call("EnableWhiteBoxKeys", KeyIds=[key_id])
        self.call("DisableWhiteBoxKey", KeyId=key_id)
        self.call("EnableWhiteBoxKey", KeyId=key_id)
        self.call("DisableWhiteBoxKey", KeyId=key_id)
        self.call("DeleteWhiteBoxKey", KeyId=key_id)


@pytest.fixture(scope="module")
def responses(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    server = Server(tmp_path_factory.mktemp("models") / "data").start()
    try:
        yield Scenario(server, tmp_path_factory.mktemp("inputs")).run()
    finally:
        server.stop()


SDK_SERVED = sorted(set(ACTIONS) & set(SDK_ACTIONS))
"""The served actions the SDK has models for (OpenKMS's own extensions have none)."""


def test_the_walk_covers_every_implemented_action(responses: dict[str, dict[str, Any]]) -> None:
    assert sorted(set(SDK_SERVED) - set(responses)) == []


@pytest.mark.parametrize("action", SDK_SERVED)
def test_the_response_has_every_field_of_the_sdk_model_with_its_type(
    responses: dict[str, dict[str, Any]], action: str
) -> None:
    model = getattr(models, f"{action}Response")
    found = list(problems(responses[action], f"{action}Response", action))
    assert found == [], model.__name__
