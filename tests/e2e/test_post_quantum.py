"""Post-quantum keys: ML-KEM-768 encryption and ML-DSA-65 signatures, checked with pyca/cryptography and
with PQClean (the pqcrypto package), an implementation independent of the server's."""

import base64
import hmac
import os
import uuid

import pqcrypto
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pqcrypto.kem import ml_kem_768 as pqclean_kem
from pqcrypto.sign import ml_dsa_65 as pqclean_dsa

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


def new_key_and_public_key(server: Server, usage: str) -> tuple[str, object]:
    """A new key of `usage`, and its public key as GetPublicKey's DER gives it."""
    client = server.client()
    key_id: str = call(client, "CreateKey", Alias=f"pq-{uuid.uuid4().hex[:8]}", KeyUsage=usage)["KeyId"]
    der = base64.b64decode(call(client, "GetPublicKey", KeyId=key_id)["PublicKey"])
    return key_id, serialization.load_der_public_key(der)


def test_ml_kem_interoperates_with_pqclean(server: Server) -> None:
    """A client encapsulates to the key's public key with PQClean (pqcrypto, an implementation independent
    of the server's pyca/cryptography), seals a blob in the documented PQ format, and KMS opens it."""
    client = server.client()
    key_id, public = new_key_and_public_key(server, "PQC_ENCRYPT_DECRYPT_ML_KEM_768")
    assert isinstance(public, mlkem.MLKEM768PublicKey)
    kem_ciphertext, shared = pqclean_kem.encaps(public.public_bytes_raw())
    nonce = os.urandom(12)
    head = b"\x51" + uuid.UUID(key_id).bytes + (1).to_bytes(4, "big") + kem_ciphertext + nonce
    aead_key = hmac.digest(shared, b"OpenKMS ML-KEM-768 AES-256-GCM v1\x00", "sha256")
    blob = head + AESGCM(aead_key).encrypt(nonce, b"sealed by PQClean", head)
    opened = call(client, "PostQuantumCryptoDecrypt", CiphertextBlob=b64(blob))
    assert base64.b64decode(opened["PlainText"]) == b"sealed by PQClean"


def test_ml_dsa_signatures_verify_with_pqclean(server: Server) -> None:
    client = server.client()
    key_id, public = new_key_and_public_key(server, "PQC_SIGN_VERIFY_ML_DSA_65")
    assert isinstance(public, mldsa.MLDSA65PublicKey)
    message = os.urandom(300)
    signature = base64.b64decode(call(client, "PostQuantumCryptoSign", KeyId=key_id, Message=b64(message))["Signature"])
    pqclean_dsa.verify(public.public_bytes_raw(), message, signature)  # raises unless the signature verifies
    with pytest.raises(pqcrypto.InvalidSignatureError):
        pqclean_dsa.verify(public.public_bytes_raw(), message + b"!", signature)
