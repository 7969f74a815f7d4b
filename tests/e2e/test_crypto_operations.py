"""Encrypt, Decrypt, ReEncrypt, GenerateDataKey and GenerateRandom through the official SDK."""

import base64
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.sdk import call, code_of
from tests.serverproc import Server


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def key_id(server: Server) -> str:
    key: str = call(server.client(), "CreateKey", Alias=f"crypto-{uuid.uuid4().hex[:12]}")["KeyId"]
    return key


def test_round_trip_without_key_id_on_decrypt(server: Server, key_id: str) -> None:
    client = server.client()
    for plaintext in (b"x", b"secret database password", bytes(range(256)) * 16):
        encrypted = call(client, "Encrypt", KeyId=key_id, Plaintext=b64(plaintext))
        assert encrypted["KeyId"] == key_id
        decrypted = call(client, "Decrypt", CiphertextBlob=encrypted["CiphertextBlob"])
        assert decrypted == {"KeyId": key_id, "Plaintext": b64(plaintext), "RequestId": decrypted["RequestId"]}


def test_each_encryption_is_fresh(server: Server, key_id: str) -> None:
    client = server.client()
    blobs = {call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"same"))["CiphertextBlob"] for _ in range(5)}
    assert len(blobs) == 5


def test_plaintext_limits(server: Server, key_id: str) -> None:
    client = server.client()
    call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"a" * 4096))
    assert (
        code_of(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"a" * 4097)) == "InvalidParameterValue.InvalidPlaintext"
    )
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="not base64!") == "InvalidParameterValue.InvalidPlaintext"
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext="") in (
        "InvalidParameterValue.InvalidPlaintext",
        "MissingParameter",
    )


def test_encryption_context_binds_the_ciphertext(server: Server, key_id: str) -> None:
    client = server.client()
    context = '{"tenant":"acme","purpose":"backup"}'
    blob = call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"data"), EncryptionContext=context)["CiphertextBlob"]
    reordered = '{ "purpose": "backup", "tenant": "acme" }'
    assert call(client, "Decrypt", CiphertextBlob=blob, EncryptionContext=reordered)["Plaintext"] == b64(b"data")
    for wrong in (None, "{}", '{"tenant":"acme"}', '{"tenant":"acme","purpose":"backupx"}'):
        fields = {"CiphertextBlob": blob} | ({"EncryptionContext": wrong} if wrong is not None else {})
        assert code_of(client, "Decrypt", **fields) == "InvalidParameterValue.InvalidCiphertext"

    plain = call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"data"))["CiphertextBlob"]
    assert call(client, "Decrypt", CiphertextBlob=plain, EncryptionContext="{}")["Plaintext"] == b64(b"data")


def test_encryption_context_must_be_a_small_json_object_of_strings(server: Server, key_id: str) -> None:
    client = server.client()
    for bad in ("not json", "[1,2]", '{"a":1}', '{"a":"b","a":"c"}', '{"k":"' + "v" * 1020 + '"}'):
        assert code_of(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"x"), EncryptionContext=bad) == (
            "InvalidParameter"
        ), bad


def test_tampered_ciphertext_gets_one_opaque_error(server: Server, key_id: str) -> None:
    client = server.client()
    blob = base64.b64decode(call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"data"))["CiphertextBlob"])
    for position in (0, 20, 30, 45, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[position] ^= 1
        code = code_of(client, "Decrypt", CiphertextBlob=b64(bytes(tampered)))
        assert code in ("InvalidParameterValue.InvalidCiphertext", "ResourceUnavailable.CmkNotFound"), position
    for garbage in (b64(b"short"), b64(blob[:-1]), "!!!not base64", b64(b"\x02" + blob[1:])):
        assert code_of(client, "Decrypt", CiphertextBlob=garbage) == "InvalidParameterValue.InvalidCiphertext"


def test_state_rules_for_crypto(server: Server, key_id: str) -> None:
    client = server.client()
    blob = call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"data"))["CiphertextBlob"]

    call(client, "DisableKey", KeyId=key_id)
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"x")) == "ResourceUnavailable.CmkDisabled"
    assert code_of(client, "Decrypt", CiphertextBlob=blob) == "ResourceUnavailable.CmkDisabled"
    assert code_of(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256") == "ResourceUnavailable.CmkDisabled"

    call(client, "EnableKey", KeyId=key_id)
    call(client, "ArchiveKey", KeyId=key_id)
    assert code_of(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"x")) == "ResourceUnavailable.CmkArchived"
    assert call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"] == b64(b"data")

    call(client, "CancelKeyArchive", KeyId=key_id)
    call(client, "DisableKey", KeyId=key_id)
    call(client, "ScheduleKeyDeletion", KeyId=key_id, PendingWindowInDays=7)
    assert code_of(client, "Decrypt", CiphertextBlob=blob) == "ResourceUnavailable.CmkStateNotSupport"
    call(client, "CancelKeyDeletion", KeyId=key_id)
    call(client, "EnableKey", KeyId=key_id)
    assert call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"] == b64(b"data")


def test_generate_data_key_for_local_envelope_encryption(server: Server, key_id: str) -> None:
    client = server.client()
    context = '{"file":"report.pdf"}'
    data_key = call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
    plaintext_key = base64.b64decode(data_key["Plaintext"])
    assert len(plaintext_key) == 32
    local = AESGCM(plaintext_key).encrypt(b"\x00" * 12, b"application data", None)

    recovered = call(client, "Decrypt", CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext=context)
    assert AESGCM(base64.b64decode(recovered["Plaintext"])).decrypt(b"\x00" * 12, local, None) == b"application data"

    assert len(base64.b64decode(call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_128")["Plaintext"])) == 16
    sized = call(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_128", NumberOfBytes=1024)
    assert len(base64.b64decode(sized["Plaintext"])) == 1024, "NumberOfBytes wins over KeySpec"
    assert code_of(client, "GenerateDataKey", KeyId=key_id) == "MissingParameter"
    assert code_of(client, "GenerateDataKey", KeyId=key_id, NumberOfBytes=1025) == "InvalidParameterValue"
    assert code_of(client, "GenerateDataKey", KeyId=key_id, NumberOfBytes=0) == "InvalidParameterValue"
    assert code_of(client, "GenerateDataKey", KeyId=key_id, KeySpec="AES_512") == "InvalidParameterValue"


def test_plaintext_is_never_returned_in_clear_when_asked_to_encrypt_it(server: Server, key_id: str) -> None:
    client = server.client()
    code = code_of(
        client,
        "GenerateDataKey",
        KeyId=key_id,
        KeySpec="AES_256",
        EncryptionPublicKey="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    )
    assert code == "InvalidParameterValue", "a key that is no public key is refused; nothing is returned in clear"


def test_re_encrypt(server: Server, key_id: str) -> None:
    client = server.client()
    other = call(client, "CreateKey", Alias=f"dest-{uuid.uuid4().hex[:12]}")["KeyId"]
    blob = call(client, "Encrypt", KeyId=key_id, Plaintext=b64(b"move me"), EncryptionContext='{"a":"1"}')[
        "CiphertextBlob"
    ]

    same = call(
        client,
        "ReEncrypt",
        CiphertextBlob=blob,
        SourceEncryptionContext='{"a":"1"}',
        DestinationEncryptionContext='{"a":"1"}',
    )
    assert same["ReEncrypted"] is False
    assert same["CiphertextBlob"] == blob

    moved = call(
        client,
        "ReEncrypt",
        CiphertextBlob=blob,
        DestinationKeyId=other,
        SourceEncryptionContext='{"a":"1"}',
        DestinationEncryptionContext='{"b":"2"}',
    )
    assert (moved["SourceKeyId"], moved["KeyId"], moved["ReEncrypted"]) == (key_id, other, True)
    assert "Plaintext" not in moved or moved["Plaintext"] is None
    opened = call(client, "Decrypt", CiphertextBlob=moved["CiphertextBlob"], EncryptionContext='{"b":"2"}')
    assert (opened["KeyId"], opened["Plaintext"]) == (other, b64(b"move me"))

    assert code_of(client, "ReEncrypt", CiphertextBlob=blob) == "InvalidParameterValue.InvalidCiphertext"
    call(client, "DisableKey", KeyId=other)
    assert (
        code_of(client, "ReEncrypt", CiphertextBlob=blob, DestinationKeyId=other, SourceEncryptionContext='{"a":"1"}')
        == "ResourceUnavailable.CmkDisabled"
    )


def test_generate_random(server: Server) -> None:
    client = server.client()
    for size in (1, 32, 1024):
        assert len(base64.b64decode(call(client, "GenerateRandom", NumberOfBytes=size)["Plaintext"])) == size
    assert call(client, "GenerateRandom", NumberOfBytes=32) != call(client, "GenerateRandom", NumberOfBytes=32)
    for size in (0, 1025):
        assert code_of(client, "GenerateRandom", NumberOfBytes=size) == "InvalidParameterValue"


def test_service_actions(server: Server) -> None:
    client = server.client()
    assert call(client, "GetRegions")["Regions"] == ["ap-guangzhou", "ap-shanghai"]
    status = call(client, "GetServiceStatus")
    assert status["ServiceEnabled"] is True
    assert status["CmkUserCount"] >= 0
    algorithms = call(client, "ListAlgorithms")
    assert algorithms["SymmetricAlgorithms"] == [{"KeyUsage": "ENCRYPT_DECRYPT", "Algorithm": "AES_256"}]
