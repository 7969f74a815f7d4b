"""Asymmetric keys, proved against an independent implementation (pyca/cryptography on the client)."""

import base64
import hashlib
import os
import uuid

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from tests.sdk import call, code_of, error_of
from tests.serverproc import Server

OAEP256 = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)
PADDINGS = {
    "RSAES_PKCS1_V1_5": padding.PKCS1v15(),
    "RSAES_OAEP_SHA_1": padding.OAEP(padding.MGF1(hashes.SHA1()), hashes.SHA1(), None),
    "RSAES_OAEP_SHA_256": OAEP256,
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def create(server: Server, usage: str) -> str:
    key_id: str = call(server.client(), "CreateKey", Alias=f"a-{uuid.uuid4().hex[:10]}", KeyUsage=usage)["KeyId"]
    return key_id


def public_key_of(server: Server, key_id: str):  # type: ignore[no-untyped-def]
    reply = call(server.client(), "GetPublicKey", KeyId=key_id)
    from_der = serialization.load_der_public_key(base64.b64decode(reply["PublicKey"]))
    from_pem = serialization.load_pem_public_key(reply["PublicKeyPem"].encode())
    assert from_der.public_numbers() == from_pem.public_numbers()  # type: ignore[union-attr]
    return from_pem


def test_rsa_decryption_of_what_the_client_encrypted(server: Server) -> None:
    client = server.client()
    key_id = create(server, "ASYMMETRIC_DECRYPT_RSA_2048")
    metadata = call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]
    assert metadata["KeyUsage"] == "ASYMMETRIC_DECRYPT_RSA_2048"
    public = public_key_of(server, key_id)
    assert isinstance(public, rsa.RSAPublicKey) and public.key_size == 2048
    for algorithm, scheme in PADDINGS.items():
        secret = os.urandom(64)
        opened = call(
            client,
            "AsymmetricRsaDecrypt",
            KeyId=key_id,
            Algorithm=algorithm,
            Ciphertext=b64(public.encrypt(secret, scheme)),
        )
        assert base64.b64decode(opened["Plaintext"]) == secret
    assert (
        code_of(
            client,
            "AsymmetricRsaDecrypt",
            KeyId=key_id,
            Algorithm="RSAES_OAEP_SHA_256",
            Ciphertext=b64(os.urandom(256)),
        )
        == "FailedOperation.DecryptError"
    )
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "InvalidParameterValue.InvalidKeyUsage"
    assert (
        code_of(client, "SignByAsymmetricKey", KeyId=key_id, Algorithm="RSA_PSS_SHA_256", Message=b64(b"m"))
        == "InvalidParameterValue.InvalidKeyUsage"
    )


@pytest.mark.parametrize(
    ("usage", "algorithm", "digest"),
    [
        ("ASYMMETRIC_SIGN_VERIFY_RSA_2048", "RSA_PSS_SHA_256", hashes.SHA256),
        ("ASYMMETRIC_SIGN_VERIFY_RSA_2048", "RSA_PKCS1_SHA_256", hashes.SHA256),
        ("ASYMMETRIC_SIGN_VERIFY_ECC", "ECC_P256_R1", hashes.SHA256),
        ("ASYMMETRIC_SIGN_VERIFY_ECDSA384", "ECC_P384_R1", hashes.SHA384),
    ],
)
def test_signatures_interoperate(
    server: Server, usage: str, algorithm: str, digest: type[hashes.HashAlgorithm]
) -> None:
    client = server.client()
    key_id = create(server, usage)
    public = public_key_of(server, key_id)
    message = os.urandom(1000)
    hashed = hashlib.new(digest.name, message).digest()

    def local_verify(signature: bytes, data: bytes, prehashed: bool) -> None:
        chosen = utils.Prehashed(digest()) if prehashed else digest()
        if isinstance(public, rsa.RSAPublicKey):
            scheme = (
                padding.PSS(padding.MGF1(digest()), padding.PSS.DIGEST_LENGTH)
                if "PSS" in algorithm
                else padding.PKCS1v15()
            )
            public.verify(signature, data, scheme, chosen)
        else:
            public.verify(signature, data, ec.ECDSA(chosen))

    raw = base64.b64decode(
        call(client, "SignByAsymmetricKey", KeyId=key_id, Algorithm=algorithm, Message=b64(message))["Signature"]
    )
    local_verify(raw, message, prehashed=False)
    of_digest = base64.b64decode(
        call(
            client, "SignByAsymmetricKey", KeyId=key_id, Algorithm=algorithm, Message=b64(hashed), MessageType="DIGEST"
        )["Signature"]
    )
    local_verify(of_digest, hashed, prehashed=True)
    with pytest.raises(InvalidSignature):
        local_verify(raw, message + b"x", prehashed=False)

    for signature, data, kind in ((raw, message, "RAW"), (of_digest, hashed, "DIGEST")):
        assert (
            call(
                client,
                "VerifyByAsymmetricKey",
                KeyId=key_id,
                Algorithm=algorithm,
                Message=b64(data),
                SignatureValue=b64(signature),
                MessageType=kind,
            )["SignatureValid"]
            is True
        )
    assert (
        call(
            client,
            "VerifyByAsymmetricKey",
            KeyId=key_id,
            Algorithm=algorithm,
            Message=b64(message + b"x"),
            SignatureValue=b64(raw),
        )["SignatureValid"]
        is False
    )
    assert (
        code_of(
            client,
            "SignByAsymmetricKey",
            KeyId=key_id,
            Algorithm=algorithm,
            Message=b64(b"short"),
            MessageType="DIGEST",
        )
        == "InvalidParameterValue"
    )
    assert code_of(client, "SignByAsymmetricKey", KeyId=key_id, Algorithm=algorithm, Message=b64(os.urandom(4097))) == (
        "InvalidParameterValue"
    )
    call(client, "DisableKey", KeyId=key_id)
    refused = error_of(client, "SignByAsymmetricKey", KeyId=key_id, Algorithm=algorithm, Message=b64(message))
    assert refused.get_code() == "ResourceUnavailable.CmkDisabled"
    assert f"Cannot use key {key_id}" in refused.get_message(), "signing is not encrypting"


def test_signatures_made_elsewhere_verify_in_kms_only_with_its_key(server: Server) -> None:
    client = server.client()
    key_id = create(server, "ASYMMETRIC_SIGN_VERIFY_ECC")
    stranger = ec.generate_private_key(ec.SECP256R1())
    signature = stranger.sign(b"message", ec.ECDSA(hashes.SHA256()))
    assert (
        call(
            client,
            "VerifyByAsymmetricKey",
            KeyId=key_id,
            Algorithm="ECC_P256_R1",
            Message=b64(b"message"),
            SignatureValue=b64(signature),
        )["SignatureValid"]
        is False
    )
    assert (
        code_of(client, "SignByAsymmetricKey", KeyId=key_id, Algorithm="RSA_PSS_SHA_256", Message=b64(b"m"))
        == "InvalidParameterValue.InvalidKeyUsage"
    )


def test_plaintext_returned_encrypted_to_the_callers_key(server: Server) -> None:
    client = server.client()
    own = rsa.generate_private_key(65537, 2048)
    pem = own.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    key_id = call(client, "CreateKey", Alias=f"s-{uuid.uuid4().hex[:10]}")["KeyId"]
    blob = call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"to be re-encrypted"))["CiphertextBlob"]
    reply = call(
        client,
        "Decrypt",
        CiphertextBlob=blob,
        EncryptionPublicKey=pem.decode(),
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
    )
    assert own.decrypt(base64.b64decode(reply["Plaintext"]), OAEP256) == b"to be re-encrypted"

    data_key = call(
        client,
        "GenerateDataKey",
        KeyId=key_id,
        KeySpec="AES_256",
        EncryptionPublicKey=pem.decode(),
        EncryptionAlgorithm="RSAES_PKCS1_V1_5",
    )
    plaintext_key = own.decrypt(base64.b64decode(data_key["Plaintext"]), padding.PKCS1v15())
    assert len(plaintext_key) == 32
    assert base64.b64decode(call(client, "Decrypt", CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]) == (
        plaintext_key
    )
    assert (
        code_of(client, "Decrypt", CiphertextBlob=blob, EncryptionPublicKey=pem.decode()) == "InvalidParameterValue"
    ), "SM2 is the default algorithm, and an RSA key is not an SM2 key: refused, not returned in clear"
    assert code_of(
        client,
        "GenerateDataKey",
        KeyId=key_id,
        NumberOfBytes=512,
        EncryptionPublicKey=pem.decode(),
        EncryptionAlgorithm="RSAES_OAEP_SHA_256",
        IsHostedByKms=1,
        DataKeyName="too-long",
    ) == ("InvalidParameterValue")
    assert call(client, "ListDataKeyDetail", SearchKeyAlias="too-long")["TotalCount"] == 0, "nothing was stored"


def test_list_algorithms_reports_what_works(server: Server) -> None:
    algorithms = call(server.client(), "ListAlgorithms")
    assert {a["KeyUsage"] for a in algorithms["AsymmetricAlgorithms"]} == {
        "ASYMMETRIC_DECRYPT_RSA_2048",
        "ASYMMETRIC_DECRYPT_SM2",
        "PQC_ENCRYPT_DECRYPT_ML_KEM_768",
    }
    assert {a["KeyUsage"] for a in algorithms["AsymmetricSignVerifyAlgorithms"]} == {
        "ASYMMETRIC_SIGN_VERIFY_RSA_2048",
        "ASYMMETRIC_SIGN_VERIFY_ECC",
        "ASYMMETRIC_SIGN_VERIFY_ECDSA384",
        "ASYMMETRIC_SIGN_VERIFY_SM2",
        "PQC_SIGN_VERIFY_ML_DSA_65",
    }
