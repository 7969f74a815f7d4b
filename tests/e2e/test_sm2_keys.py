"""SM2 keys, proved against an independent implementation: the OpenSSL command line (and hashlib's SM3)."""

import base64
import hashlib
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.sdk import call, code_of
from tests.serverproc import Server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command line is needed")

STANDARD_USER_ID = b"1234567812345678"
# The SM2 recommended curve (GB/T 32918.5): a, b and the base point, as Z takes them.
CURVE_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
CURVE_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
BASE_X = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
BASE_Y = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout


def create(server: Server, usage: str) -> str:
    key_id: str = call(server.client(), "CreateKey", Alias=f"g-{uuid.uuid4().hex[:10]}", KeyUsage=usage)["KeyId"]
    return key_id


def public_pem_file(server: Server, key_id: str, folder: Path) -> Path:
    reply = call(server.client(), "GetPublicKey", KeyId=key_id)
    path = folder / f"{key_id}.pem"
    path.write_text(reply["PublicKeyPem"])
    text = openssl("pkey", "-pubin", "-in", str(path), "-text", "-noout").decode()
    assert "SM2" in text, "GetPublicKey returns a key on the SM2 curve"
    der = openssl("pkey", "-pubin", "-in", str(path), "-outform", "DER")
    assert base64.b64decode(reply["PublicKey"]) == der, "PublicKey is the DER of PublicKeyPem"
    return path


def sm3_with_z(public_pem: Path, message: bytes) -> bytes:
    """SM3(Z || M) with Z over the standard user id: what Tencent calls an SM2 DIGEST message."""
    point = openssl("pkey", "-pubin", "-in", str(public_pem), "-outform", "DER")[-64:]
    fields = b"".join(value.to_bytes(32, "big") for value in (CURVE_A, CURVE_B, BASE_X, BASE_Y)) + point
    z = hashlib.new("sm3", (len(STANDARD_USER_ID) * 8).to_bytes(2, "big") + STANDARD_USER_ID + fields).digest()
    return hashlib.new("sm3", z + message).digest()


def openssl_verifies(public_pem: Path, message: bytes, signature: bytes, folder: Path) -> bool:
    (folder / "message").write_bytes(message)
    (folder / "signature").write_bytes(signature)
    verified = subprocess.run(
        [
            *("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(public_pem), "-rawin", "-digest", "sm3"),
            *("-pkeyopt", f"distid:{STANDARD_USER_ID.decode()}", "-in", str(folder / "message")),
            *("-sigfile", str(folder / "signature")),
        ],
        capture_output=True,
    )
    return verified.returncode == 0


def test_sm2_decryption_of_what_openssl_encrypted(server: Server, tmp_path: Path) -> None:
    client = server.client()
    key_id = create(server, "ASYMMETRIC_DECRYPT_SM2")
    assert call(client, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyUsage"] == "ASYMMETRIC_DECRYPT_SM2"
    public = public_pem_file(server, key_id, tmp_path)
    secret = os.urandom(100)
    (tmp_path / "secret").write_bytes(secret)
    ciphertext = openssl("pkeyutl", "-encrypt", "-pubin", "-inkey", str(public), "-in", str(tmp_path / "secret"))
    opened = call(client, "AsymmetricSm2Decrypt", KeyId=key_id, Ciphertext=b64(ciphertext))
    assert opened["KeyId"] == key_id and base64.b64decode(opened["Plaintext"]) == secret

    tampered = ciphertext[:-1] + bytes([ciphertext[-1] ^ 1])
    assert code_of(client, "AsymmetricSm2Decrypt", KeyId=key_id, Ciphertext=b64(tampered)) == (
        "FailedOperation.DecryptError"
    )
    assert code_of(client, "AsymmetricSm2Decrypt", KeyId=key_id, Ciphertext=b64(os.urandom(257))) == (
        "InvalidParameterValue"
    ), "an SM2 ciphertext is at most 256 bytes"
    assert code_of(
        client, "AsymmetricRsaDecrypt", KeyId=key_id, Algorithm="RSAES_OAEP_SHA_256", Ciphertext=b64(ciphertext)
    ) == ("InvalidParameterValue.InvalidKeyUsage")
    rsa_key = create(server, "ASYMMETRIC_DECRYPT_RSA_2048")
    assert code_of(client, "AsymmetricSm2Decrypt", KeyId=rsa_key, Ciphertext=b64(ciphertext)) == (
        "InvalidParameterValue.InvalidKeyUsage"
    )
    call(client, "DisableKey", KeyId=key_id)
    assert code_of(client, "AsymmetricSm2Decrypt", KeyId=key_id, Ciphertext=b64(ciphertext)) == (
        "ResourceUnavailable.CmkDisabled"
    )


def test_sm2_signatures_verify_with_openssl(server: Server, tmp_path: Path) -> None:
    client = server.client()
    key_id = create(server, "ASYMMETRIC_SIGN_VERIFY_SM2")
    public = public_pem_file(server, key_id, tmp_path)
    message = b"an SM2 signature over a raw message, with SM3 and the standard user id"

    raw = base64.b64decode(
        call(client, "SignByAsymmetricKey", KeyId=key_id, Algorithm="SM2DSA", Message=b64(message))["Signature"]
    )
    assert openssl_verifies(public, message, raw, tmp_path)
    assert not openssl_verifies(public, message + b"!", raw, tmp_path)

    digest = sm3_with_z(public, message)
    signed_digest = call(
        client, "SignByAsymmetricKey", KeyId=key_id, Algorithm="SM2DSA", Message=b64(digest), MessageType="DIGEST"
    )["Signature"]
    assert openssl_verifies(public, message, base64.b64decode(signed_digest), tmp_path), "DIGEST is SM3(Z || M)"

    def verified(signature: str, data: bytes, message_type: str = "RAW") -> bool:
        reply = call(
            client,
            "VerifyByAsymmetricKey",
            KeyId=key_id,
            Algorithm="SM2DSA",
            Message=b64(data),
            SignatureValue=signature,
            MessageType=message_type,
        )
        return bool(reply["SignatureValid"])

    assert verified(signed_digest, message) and verified(b64(raw), digest, "DIGEST")
    assert not verified(b64(raw), message + b"!")
    for malformed in (b"garbage", b"\x30\x02\x02\x00", os.urandom(72)):
        assert not verified(b64(malformed), message), "a malformed signature is invalid, not a server error"
        assert not verified(b64(malformed), digest, "DIGEST")
    assert code_of(
        client, "SignByAsymmetricKey", KeyId=key_id, Algorithm="SM2DSA", Message=b64(b"short"), MessageType="DIGEST"
    ) == ("InvalidParameterValue"), "an SM3 digest is 32 bytes"
    assert code_of(client, "SignByAsymmetricKey", KeyId=key_id, Algorithm="ECC_P256_R1", Message=b64(message)) == (
        "InvalidParameterValue.InvalidKeyUsage"
    )


def _asn1_c1c3c2(raw: bytes) -> bytes:
    """The raw C1 || C3 || C2 re-encoded as the ASN.1 OpenSSL reads, to let OpenSSL decrypt it."""

    def tlv(tag: int, body: bytes) -> bytes:
        size = len(body)
        length = (
            bytes([size])
            if size < 0x80
            else bytes([0x81, size])
            if size < 0x100
            else bytes([0x82]) + size.to_bytes(2, "big")
        )
        return bytes([tag]) + length + body

    def integer(value: bytes) -> bytes:
        value = value.lstrip(b"\x00") or b"\x00"
        return tlv(0x02, b"\x00" + value if value[0] & 0x80 else value)

    assert raw[0] == 0x04, "C1 is an uncompressed point"
    x, y, c3, c2 = raw[1:33], raw[33:65], raw[65:97], raw[97:]
    return tlv(0x30, integer(x) + integer(y) + tlv(0x04, c3) + tlv(0x04, c2))


def test_plaintext_returned_encrypted_to_the_callers_sm2_key(server: Server, tmp_path: Path) -> None:
    client = server.client()
    private = tmp_path / "own.pem"
    openssl("genpkey", "-algorithm", "SM2", "-out", str(private))
    public_pem = openssl("pkey", "-in", str(private), "-pubout").decode()
    key_id = call(client, "CreateKey", Alias=f"g-{uuid.uuid4().hex[:10]}")["KeyId"]
    blob = call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"returned under SM2"))["CiphertextBlob"]

    def openssl_decrypts(ciphertext: bytes) -> bytes:
        (tmp_path / "ciphertext").write_bytes(ciphertext)
        return openssl("pkeyutl", "-decrypt", "-inkey", str(private), "-in", str(tmp_path / "ciphertext"))

    asn1 = call(
        client, "Decrypt", CiphertextBlob=blob, EncryptionPublicKey=public_pem, EncryptionAlgorithm="SM2_C1C3C2_ASN1"
    )["Plaintext"]
    assert openssl_decrypts(base64.b64decode(asn1)) == b"returned under SM2"

    raw = base64.b64decode(call(client, "Decrypt", CiphertextBlob=blob, EncryptionPublicKey=public_pem)["Plaintext"])
    assert len(raw) == 65 + 32 + len(b"returned under SM2"), "the default, SM2, is the raw C1 || C3 || C2"
    assert openssl_decrypts(_asn1_c1c3c2(raw)) == b"returned under SM2"

    data_key = call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", EncryptionPublicKey=public_pem)
    plaintext_key = openssl_decrypts(_asn1_c1c3c2(base64.b64decode(data_key["Plaintext"])))
    assert base64.b64decode(call(client, "Decrypt", CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]) == (
        plaintext_key
    )
    assert code_of(
        client, "Decrypt", CiphertextBlob=blob, EncryptionPublicKey=public_pem, EncryptionAlgorithm="RSAES_OAEP_SHA_256"
    ) == ("InvalidParameterValue"), "an SM2 key cannot take an RSA algorithm"
