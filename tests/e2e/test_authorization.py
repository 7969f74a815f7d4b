"""Access policies attached to credentials decide who may call what on which key."""

import json
import uuid
from pathlib import Path

from tests.e2e.test_accounts_and_credentials import create_credential
from tests.sdk import call, code_of
from tests.serverproc import Server, run_cli

ACCOUNT = "100000000001"


def attach(server: Server, secret_id: str, name: str, statements: list[dict[str, object]], tmp: Path) -> None:
    document = tmp / f"{name}-{uuid.uuid4().hex[:6]}.json"
    document.write_text(json.dumps({"version": "2.0", "statement": statements}))
    result = run_cli(
        "policy", "attach", "--data-dir", str(server.data_dir), secret_id, "--name", name, "--file", str(document)
    )
    assert result.returncode == 0, result.stderr


def key_resource(key_id: str, region: str = "ap-guangzhou") -> str:
    return f"qcs::kms:{region}:uin/{ACCOUNT}:key/{key_id}"


def test_a_credential_without_policies_is_the_administrator(fresh_server: Server) -> None:
    client = fresh_server.client(create_credential(fresh_server))
    key_id = call(client, "CreateKey", Alias="admin-made")["KeyId"]
    call(client, "DisableKey", KeyId=key_id)


def test_allow_only_what_is_listed(fresh_server: Server, tmp_path: Path) -> None:
    admin = fresh_server.client()
    allowed_key = call(admin, "CreateKey", Alias="allowed")["KeyId"]
    other_key = call(admin, "CreateKey", Alias="other")["KeyId"]
    secret = create_credential(fresh_server)
    attach(
        fresh_server,
        secret["SecretId"],
        "encrypt-one-key",
        [
            {"effect": "allow", "action": ["kms:Encrypt", "kms:Decrypt"], "resource": key_resource(allowed_key)},
        ],
        tmp_path,
    )
    client = fresh_server.client(secret)

    blob = call(client, "Encrypt", KeyId=allowed_key, Plaintext="aGk=")["CiphertextBlob"]
    assert call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aGk="
    assert code_of(client, "Encrypt", KeyId=other_key, Plaintext="aGk=") == "UnauthorizedOperation"
    assert code_of(client, "DisableKey", KeyId=allowed_key) == "UnauthorizedOperation"
    assert code_of(client, "CreateKey", Alias="nope") == "UnauthorizedOperation"
    assert code_of(client, "GenerateRandom", NumberOfBytes=8) == "UnauthorizedOperation"
    assert call(admin, "DescribeKey", KeyId=allowed_key)["KeyMetadata"]["KeyState"] == "Enabled"
    assert call(admin, "ListKeyDetail", SearchKeyAlias="nope")["TotalCount"] == 0, "a denied call changes nothing"

    other_blob = call(admin, "Encrypt", KeyId=other_key, Plaintext="aGk=")["CiphertextBlob"]
    assert code_of(client, "Decrypt", CiphertextBlob=other_blob) == "UnauthorizedOperation"


def test_wildcards_and_explicit_deny(fresh_server: Server, tmp_path: Path) -> None:
    admin = fresh_server.client()
    keys = [call(admin, "CreateKey", Alias=f"w{i}")["KeyId"] for i in range(3)]
    secret = create_credential(fresh_server)
    attach(
        fresh_server,
        secret["SecretId"],
        "everything",
        [
            {"effect": "allow", "action": "kms:*", "resource": "*"},
        ],
        tmp_path,
    )
    attach(
        fresh_server,
        secret["SecretId"],
        "but-not-disabling-k0",
        [
            {
                "effect": "deny",
                "action": ["kms:Disable*", "kms:ScheduleKeyDeletion"],
                "resource": key_resource(keys[0]),
            },
        ],
        tmp_path,
    )
    client = fresh_server.client(secret)
    call(client, "DisableKey", KeyId=keys[1])
    assert code_of(client, "DisableKey", KeyId=keys[0]) == "UnauthorizedOperation"
    assert call(client, "CreateKey", Alias="allowed-by-wildcard")["KeyState"] == "Enabled"

    # a batch is refused whole when any key in it is denied, and changes nothing
    assert code_of(client, "DisableKeys", KeyIds=[keys[2], keys[0]]) == "UnauthorizedOperation"
    assert call(admin, "DescribeKey", KeyId=keys[2])["KeyMetadata"]["KeyState"] == "Enabled"


def test_a_detached_deny_policy_no_longer_applies(fresh_server: Server, tmp_path: Path) -> None:
    admin = fresh_server.client()
    keys = [call(admin, "CreateKey", Alias=f"d{i}")["KeyId"] for i in range(3)]
    secret = create_credential(fresh_server)
    attach(
        fresh_server,
        secret["SecretId"],
        "everything",
        [{"effect": "allow", "action": "kms:*", "resource": "*"}],
        tmp_path,
    )
    deny = {"effect": "deny", "action": ["kms:Disable*"], "resource": key_resource(keys[0])}
    attach(fresh_server, secret["SecretId"], "but-not-disabling-k0", [deny], tmp_path)
    client = fresh_server.client(secret)
    call(client, "DisableKey", KeyId=keys[1])
    assert call(client, "CreateKey", Alias="made-before-the-detach")["KeyState"] == "Enabled"
    assert code_of(client, "DisableKeys", KeyIds=[keys[2], keys[0]]) == "UnauthorizedOperation"
    result = run_cli(
        "policy",
        "detach",
        "--data-dir",
        str(fresh_server.data_dir),
        secret["SecretId"],
        "--name",
        "but-not-disabling-k0",
    )
    assert result.returncode == 0, result.stderr
    call(client, "DisableKeys", KeyIds=[keys[2], keys[0]])


def test_batch_reads_check_every_key(fresh_server: Server, tmp_path: Path) -> None:
    admin = fresh_server.client()
    mine = call(admin, "CreateKey", Alias="mine")["KeyId"]
    theirs = call(admin, "CreateKey", Alias="theirs")["KeyId"]
    secret = create_credential(fresh_server)
    attach(
        fresh_server,
        secret["SecretId"],
        "describe-mine",
        [
            {"effect": "allow", "action": "kms:Describe*", "resource": key_resource(mine)},
        ],
        tmp_path,
    )
    client = fresh_server.client(secret)
    assert call(client, "DescribeKeys", KeyIds=[mine])["KeyMetadatas"][0]["KeyId"] == mine
    assert code_of(client, "DescribeKeys", KeyIds=[mine, theirs]) == "UnauthorizedOperation"
    assert code_of(client, "EnableKeys", KeyIds=[mine]) == "UnauthorizedOperation"


def test_encryption_context_condition_confines_a_tenant(fresh_server: Server, tmp_path: Path) -> None:
    admin = fresh_server.client()
    key_id = call(admin, "CreateKey", Alias="shared-tenant-key")["KeyId"]
    acme_blob = call(admin, "Encrypt", KeyId=key_id, Plaintext="YWNtZQ==", EncryptionContext='{"tenant":"acme"}')[
        "CiphertextBlob"
    ]
    globex_blob = call(admin, "Encrypt", KeyId=key_id, Plaintext="Z2xvYmV4", EncryptionContext='{"tenant":"globex"}')[
        "CiphertextBlob"
    ]
    secret = create_credential(fresh_server)
    attach(
        fresh_server,
        secret["SecretId"],
        "acme-only",
        [
            {
                "effect": "allow",
                "action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                "resource": f"qcs::kms:*:uin/{ACCOUNT}:key/*",
                "condition": {"string_equal": {"kms:EncryptionContext/tenant": "acme"}},
            },
        ],
        tmp_path,
    )
    acme = fresh_server.client(secret)

    assert call(acme, "Decrypt", CiphertextBlob=acme_blob, EncryptionContext='{"tenant":"acme"}')["Plaintext"] == (
        "YWNtZQ=="
    )
    assert code_of(acme, "Decrypt", CiphertextBlob=globex_blob, EncryptionContext='{"tenant":"globex"}') == (
        "UnauthorizedOperation"
    )
    assert code_of(acme, "Decrypt", CiphertextBlob=acme_blob) == "UnauthorizedOperation", "no context, no match"
    call(acme, "GenerateDataKey", KeyId=key_id, KeySpec="AES_256", EncryptionContext='{"tenant":"acme"}')
    assert code_of(acme, "Encrypt", KeyId=key_id, Plaintext="eA==", EncryptionContext='{"tenant":"globex"}') == (
        "UnauthorizedOperation"
    )


def test_re_encrypt_needs_both_keys(fresh_server: Server, tmp_path: Path) -> None:
    admin = fresh_server.client()
    source = call(admin, "CreateKey", Alias="source")["KeyId"]
    destination = call(admin, "CreateKey", Alias="destination")["KeyId"]
    blob = call(admin, "Encrypt", KeyId=source, Plaintext="aGk=")["CiphertextBlob"]
    secret = create_credential(fresh_server)
    attach(
        fresh_server,
        secret["SecretId"],
        "source-only",
        [
            {"effect": "allow", "action": "kms:ReEncrypt", "resource": key_resource(source)},
        ],
        tmp_path,
    )
    client = fresh_server.client(secret)
    assert code_of(client, "ReEncrypt", CiphertextBlob=blob, DestinationKeyId=destination) == "UnauthorizedOperation"
    attach(
        fresh_server,
        secret["SecretId"],
        "destination-too",
        [
            {"effect": "allow", "action": "kms:ReEncrypt", "resource": key_resource(destination)},
        ],
        tmp_path,
    )
    assert call(client, "ReEncrypt", CiphertextBlob=blob, DestinationKeyId=destination)["KeyId"] == destination


def test_policy_commands(fresh_server: Server, tmp_path: Path) -> None:
    secret = create_credential(fresh_server)
    bad = tmp_path / "bad.json"
    for document in (
        '{"statement": []}',
        '{"statement": [{"effect": "maybe", "action": "kms:*", "resource": "*"}]}',
        '{"statement": [{"effect": "allow", "action": "cvm:*", "resource": "*"}]}',
        "not json",
        '{"statement": [{"effect": "allow", "action": "kms:*", "resource": "*", '
        '"condition": {"string_equal": {"qcs:ip": "1.2.3.4"}}}]}',
    ):
        bad.write_text(document)
        result = run_cli(
            "policy",
            "attach",
            "--data-dir",
            str(fresh_server.data_dir),
            secret["SecretId"],
            "--name",
            "bad",
            "--file",
            str(bad),
        )
        assert result.returncode == 2, document
    attach(
        fresh_server,
        secret["SecretId"],
        "reader",
        [
            {"effect": "allow", "action": "kms:Describe*", "resource": "*"},
        ],
        tmp_path,
    )
    shown = json.loads(run_cli("policy", "show", "--data-dir", str(fresh_server.data_dir), secret["SecretId"]).stdout)
    assert [p["name"] for p in shown] == ["reader"]
    assert shown[0]["document"]["statement"][0]["action"] == "kms:Describe*"
    missing = run_cli("policy", "detach", "--data-dir", str(fresh_server.data_dir), secret["SecretId"], "--name", "x")
    assert missing.returncode == 2


def test_a_key_denied_keeps_its_post_quantum_ciphertexts_closed(fresh_server: Server, tmp_path: Path) -> None:
    """PostQuantumCryptoDecrypt names no KeyId: the key comes from the ciphertext, as for Decrypt."""
    admin = fresh_server.client()
    key_id = call(admin, "CreateKey", Alias="pq-secret", KeyUsage="PQC_ENCRYPT_DECRYPT_ML_KEM_768")["KeyId"]
    blob = call(admin, "PostQuantumCryptoEncrypt", KeyId=key_id, PlainText="aGk=")["CiphertextBlob"]
    secret = create_credential(fresh_server)
    attach(
        fresh_server,
        secret["SecretId"],
        "all-but-one-key",
        [
            {"effect": "allow", "action": "kms:*", "resource": "*"},
            {"effect": "deny", "action": "kms:*", "resource": key_resource(key_id)},
        ],
        tmp_path,
    )
    client = fresh_server.client(secret)
    assert code_of(client, "PostQuantumCryptoDecrypt", CiphertextBlob=blob) == "UnauthorizedOperation"
    assert call(admin, "PostQuantumCryptoDecrypt", CiphertextBlob=blob)["PlainText"] == "aGk="


def test_a_key_denied_keeps_the_data_keys_hosted_under_it_closed(fresh_server: Server, tmp_path: Path) -> None:
    """A hosted data key opens with its CMK: every data-key action needs the CMK allowed too, with the
    EncryptionContext the data key was stored with for context conditions."""
    admin = fresh_server.client()
    key_id = call(admin, "CreateKey", Alias="hosting")["KeyId"]
    hosted = call(
        admin,
        "GenerateDataKey",
        KeyId=key_id,
        KeySpec="AES_256",
        IsHostedByKms=1,
        DataKeyName="under-denied-key",
        EncryptionContext=json.dumps({"tenant": "acme"}),
    )
    data_key_id = hosted["DataKeyId"]
    denied = create_credential(fresh_server)
    attach(
        fresh_server,
        denied["SecretId"],
        "all-but-the-cmk",
        [
            {"effect": "allow", "action": "kms:*", "resource": "*"},
            {"effect": "deny", "action": "kms:*", "resource": key_resource(key_id)},
        ],
        tmp_path,
    )
    client = fresh_server.client(denied)
    for action in ("GetDataKeyPlaintext", "GetDataKeyCiphertextBlob", "DescribeDataKey", "DisableDataKey"):
        assert code_of(client, action, DataKeyId=data_key_id) == "UnauthorizedOperation", action
    assert code_of(client, "DescribeDataKeys", DataKeyIds=[data_key_id]) == "UnauthorizedOperation"

    tenant_only = create_credential(fresh_server)
    data_key_resource = f"qcs::kms:ap-guangzhou:uin/{ACCOUNT}:datakey/*"
    attach(
        fresh_server,
        tenant_only["SecretId"],
        "other-tenant",
        [
            {
                "effect": "allow",
                "action": "kms:GetDataKeyPlaintext",
                "resource": [key_resource(key_id), data_key_resource],
                "condition": {"string_equal": {"kms:EncryptionContext/tenant": "other"}},
            }
        ],
        tmp_path,
    )
    other_tenant = fresh_server.client(tenant_only)
    assert code_of(other_tenant, "GetDataKeyPlaintext", DataKeyId=data_key_id) == "UnauthorizedOperation"
    attach(
        fresh_server,
        tenant_only["SecretId"],
        "acme",
        [
            {
                "effect": "allow",
                "action": "kms:GetDataKeyPlaintext",
                "resource": [key_resource(key_id), data_key_resource],
                "condition": {"string_equal": {"kms:EncryptionContext/tenant": "acme"}},
            }
        ],
        tmp_path,
    )
    assert call(other_tenant, "GetDataKeyPlaintext", DataKeyId=data_key_id)["Plaintext"] == hosted["Plaintext"]
    assert call(admin, "DescribeDataKey", DataKeyId=data_key_id)["DataKeyMetadata"]["KeyState"] == "Enabled"
