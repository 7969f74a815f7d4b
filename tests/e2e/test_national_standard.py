"""The national-standard mode: symmetric keys made in it are SM4 (KeyMetadata.Type 4), with the same
ciphertext format as AES keys, and every key keeps its cipher whichever mode the server runs in."""

import base64
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdk import call
from tests.serverproc import Server

HEADER_AND_TAG_BYTES = 65


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_national_mode_makes_sm4_keys_and_fips_mode_still_opens_them(data_dir: Path) -> None:
    national = Server(data_dir, ("--crypto-standard", "national")).start()
    try:
        client = national.client()
        assert call(client, "ListAlgorithms")["SymmetricAlgorithms"] == [
            {"KeyUsage": "ENCRYPT_DECRYPT", "Algorithm": "SM4"}
        ]
        sm4_key = call(client, "CreateKey", Alias=f"n-{uuid.uuid4().hex[:10]}")["KeyId"]
        assert call(client, "DescribeKey", KeyId=sm4_key)["KeyMetadata"]["Type"] == 4
        sm2_key = call(client, "CreateKey", Alias=f"n-{uuid.uuid4().hex[:10]}", KeyUsage="ASYMMETRIC_SIGN_VERIFY_SM2")[
            "KeyId"
        ]
        assert call(client, "DescribeKey", KeyId=sm2_key)["KeyMetadata"]["Type"] == 4

        blob = call(client, "Encrypt", KeyId=sm4_key, Plaintext=b64(b"sealed with SM4"))["CiphertextBlob"]
        raw = base64.b64decode(blob)
        assert raw[0] == 1 and len(raw) == HEADER_AND_TAG_BYTES + len(b"sealed with SM4"), "one ciphertext format"
        assert base64.b64decode(call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"]) == b"sealed with SM4"
        data_key = call(client, "GenerateDataKey", KeyId=sm4_key, KeySpec="AES_256", EncryptionContext='{"a":"b"}')
        opened = call(client, "Decrypt", CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext='{"a":"b"}')
        assert opened["Plaintext"] == data_key["Plaintext"]
    finally:
        national.stop()

    fips = Server(data_dir).start()
    try:
        client = fips.client()
        assert call(client, "ListAlgorithms")["SymmetricAlgorithms"] == [
            {"KeyUsage": "ENCRYPT_DECRYPT", "Algorithm": "AES_256"}
        ]
        assert call(client, "DescribeKey", KeyId=sm4_key)["KeyMetadata"]["Type"] == 4, "a key keeps its cipher"
        assert base64.b64decode(call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"]) == b"sealed with SM4"
        aes_key = call(client, "CreateKey", Alias=f"f-{uuid.uuid4().hex[:10]}")["KeyId"]
        assert call(client, "DescribeKey", KeyId=aes_key)["KeyMetadata"]["Type"] == 2
        call(client, "RotateKey", KeyId=sm4_key)  # the new version is SM4 too: the cipher is the key's
        again = call(client, "Encrypt", KeyId=sm4_key, Plaintext=b64(b"after rotation"))["CiphertextBlob"]
        assert base64.b64decode(call(client, "Decrypt", CiphertextBlob=again)["Plaintext"]) == b"after rotation"
    finally:
        fips.stop()
