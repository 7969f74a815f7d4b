"""Post-quantum keys: ML-KEM-768 encryption and ML-DSA-65 signatures, checked with pyca/cryptography."""

import base64
import os
import uuid

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mldsa

from tests.sdk import call, code_of
from tests.serverproc import Server


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_ml_kem_encryption_round_trip(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateKey", Alias=f"pq-{uuid.uuid4().hex[:8]}", KeyUsage="PQC_ENCRYPT_DECRYPT_ML_KEM_768")[
        "KeyId"
    ]
    plaintext = os.urandom(4096)
    sealed = call(client, "PostQuantumCryptoEncrypt", KeyId=key_id, PlainText=b64(plaintext))
    assert sealed["KeyId"] == key_id
    opened = call(client, "PostQuantumCryptoDecrypt", CiphertextBlob=sealed["CiphertextBlob"])
    assert (opened["KeyId"], base64.b64decode(opened["PlainText"])) == (key_id, plaintext)
    tampered = bytearray(base64.b64decode(sealed["CiphertextBlob"]))
    tampered[100] ^= 1
    assert code_of(client, "PostQuantumCryptoDecrypt", CiphertextBlob=b64(bytes(tampered))) == (
        "InvalidParameterValue.InvalidCiphertext"
    )
    assert code_of(client, "PostQuantumCryptoEncrypt", KeyId=key_id, PlainText=b64(os.urandom(4097))) == (
        "InvalidParameterValue.InvalidPlaintext"
    )
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "InvalidParameterValue.InvalidKeyUsage"
    public = call(client, "GetPublicKey", KeyId=key_id)["PublicKeyPem"]
    assert public.startswith("-----BEGIN PUBLIC KEY-----")


def test_ml_dsa_signatures_interoperate(server: Server) -> None:
    client = server.client()
    key_id = call(client, "CreateKey", Alias=f"pqs-{uuid.uuid4().hex[:8]}", KeyUsage="PQC_SIGN_VERIFY_ML_DSA_65")[
        "KeyId"
    ]
    public = serialization.load_pem_public_key(call(client, "GetPublicKey", KeyId=key_id)["PublicKeyPem"].encode())
    assert isinstance(public, mldsa.MLDSA65PublicKey)
    message = os.urandom(500)
    signature = base64.b64decode(call(client, "PostQuantumCryptoSign", KeyId=key_id, Message=b64(message))["Signature"])
    public.verify(signature, message)
    try:
        public.verify(signature, message + b"!")
        raise AssertionError("a changed message verified")
    except InvalidSignature:
        pass
    assert (
        call(client, "PostQuantumCryptoVerify", KeyId=key_id, Message=b64(message), SignatureValue=b64(signature))[
            "SignatureValid"
        ]
        is True
    )
    elsewhere = mldsa.MLDSA65PrivateKey.generate().sign(message)
    assert (
        call(client, "PostQuantumCryptoVerify", KeyId=key_id, Message=b64(message), SignatureValue=b64(elsewhere))[
            "SignatureValid"
        ]
        is False
    )
    algorithms = call(client, "ListAlgorithms")
    assert {"KeyUsage": "PQC_SIGN_VERIFY_ML_DSA_65", "Algorithm": "ML_DSA_65"} in algorithms[
        "AsymmetricSignVerifyAlgorithms"
    ]
