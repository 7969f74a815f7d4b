"""Grants through boto3: a credential whose policies do not allow a key may use it for what a grant
names, within the grant's constraints, through either protocol, until the grant is retired or revoked;
an explicit deny still wins, and a grantee cannot give more than it was given."""

import base64
import json
from pathlib import Path

from tests.e2e.test_accounts_and_credentials import create_credential
from tests.e2e.test_authorization import attach, key_resource
from tests.e2e.test_aws_protocol import aws, error_code
from tests.sdk import call
from tests.serverproc import Server

LIST_KEYS_ONLY = {"effect": "allow", "action": ["kms:ListKeys"], "resource": "*"}


def restricted_credential(server: Server, tmp_path: Path, *statements: dict[str, object]) -> dict[str, str]:
    """A credential with policies (so not its account's administrator) that allow nothing on keys."""
    secret = create_credential(server)
    attach(server, secret["SecretId"], "restricted", [LIST_KEYS_ONLY, *statements], tmp_path)
    return secret


def test_a_grant_allows_its_operations_within_its_constraints_until_it_is_retired(
    fresh_server: Server, tmp_path: Path
) -> None:
    admin = aws(fresh_server)
    key_id = admin.create_key()["KeyMetadata"]["KeyId"]
    secret = restricted_credential(fresh_server, tmp_path)
    grantee = aws(fresh_server, secret, retries=1)
    acme = {"tenant": "acme"}
    assert error_code(grantee.encrypt, KeyId=key_id, Plaintext=b"x", EncryptionContext=acme) == "AccessDeniedException"

    grant = admin.create_grant(
        KeyId=key_id,
        GranteePrincipal=secret["SecretId"],
        RetiringPrincipal=secret["SecretId"],
        Operations=["Encrypt", "Decrypt"],
        Constraints={"EncryptionContextSubset": acme},
        Name="acme-app",
    )
    token = grant["GrantToken"]
    sealed = grantee.encrypt(
        KeyId=key_id, Plaintext=b"granted", EncryptionContext={**acme, "row": "7"}, GrantTokens=[token]
    )["CiphertextBlob"]
    assert grantee.decrypt(CiphertextBlob=sealed, EncryptionContext={**acme, "row": "7"})["Plaintext"] == b"granted"
    tencent = fresh_server.client(secret)
    through_tencent = call(
        tencent, "Encrypt", KeyId=key_id, Plaintext=base64.b64encode(b"t").decode(), EncryptionContext=json.dumps(acme)
    )
    assert through_tencent["KeyId"] == key_id

    refusals = {
        "other context": error_code(
            grantee.encrypt, KeyId=key_id, Plaintext=b"x", EncryptionContext={"tenant": "other"}
        ),
        "no context": error_code(grantee.encrypt, KeyId=key_id, Plaintext=b"x"),
        "not granted": error_code(grantee.generate_data_key, KeyId=key_id, KeySpec="AES_256", EncryptionContext=acme),
        "foreign token": error_code(
            grantee.encrypt, KeyId=key_id, Plaintext=b"x", EncryptionContext=acme, GrantTokens=["not-a-token"]
        ),
    }
    assert refusals == {
        "other context": "AccessDeniedException",
        "no context": "AccessDeniedException",
        "not granted": "AccessDeniedException",
        "foreign token": "InvalidGrantTokenException",
    }

    again = admin.create_grant(
        KeyId=key_id,
        GranteePrincipal=secret["SecretId"],
        RetiringPrincipal=secret["SecretId"],
        Operations=["Decrypt", "Encrypt"],
        Constraints={"EncryptionContextSubset": acme},
        Name="acme-app",
    )
    assert again["GrantId"] == grant["GrantId"]  # idempotent by name and terms
    [listed] = admin.list_grants(KeyId=key_id)["Grants"]
    assert (listed["GrantId"], listed["GranteePrincipal"], listed["Name"]) == (
        grant["GrantId"],
        secret["SecretId"],
        "acme-app",
    )
    assert sorted(listed["Operations"]) == ["Decrypt", "Encrypt"]
    assert listed["Constraints"] == {"EncryptionContextSubset": acme}
    retirable = admin.list_retirable_grants(RetiringPrincipal=secret["SecretId"])["Grants"]
    assert [g["GrantId"] for g in retirable] == [grant["GrantId"]]

    grantee.retire_grant(GrantToken=token)  # the retiring principal retires it
    assert error_code(grantee.encrypt, KeyId=key_id, Plaintext=b"x", EncryptionContext=acme) == "AccessDeniedException"
    assert admin.list_grants(KeyId=key_id)["Grants"] == []


def test_an_explicit_deny_wins_over_a_grant_and_a_grantee_gives_no_more_than_it_has(
    fresh_server: Server, tmp_path: Path
) -> None:
    admin = aws(fresh_server)
    key_id = admin.create_key()["KeyMetadata"]["KeyId"]
    deny_decrypt = {"effect": "deny", "action": ["kms:Decrypt"], "resource": key_resource(key_id)}
    secret = restricted_credential(fresh_server, tmp_path, deny_decrypt)
    grantee = aws(fresh_server, secret, retries=1)
    grant = admin.create_grant(
        KeyId=key_id, GranteePrincipal=secret["SecretId"], Operations=["Encrypt", "Decrypt", "CreateGrant"]
    )
    sealed = grantee.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    assert error_code(grantee.decrypt, CiphertextBlob=sealed) == "AccessDeniedException"

    wider = error_code(
        grantee.create_grant, KeyId=key_id, GranteePrincipal=secret["SecretId"], Operations=["GenerateDataKey"]
    )
    assert wider == "AccessDeniedException"
    narrower = grantee.create_grant(KeyId=key_id, GranteePrincipal=secret["SecretId"], Operations=["Encrypt"])
    assert error_code(grantee.revoke_grant, KeyId=key_id, GrantId=narrower["GrantId"]) == "AccessDeniedException"

    admin.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    admin.revoke_grant(KeyId=key_id, GrantId=narrower["GrantId"])
    assert error_code(grantee.encrypt, KeyId=key_id, Plaintext=b"x") == "AccessDeniedException"
    assert error_code(admin.revoke_grant, KeyId=key_id, GrantId=grant["GrantId"]) == "NotFoundException"


def test_grants_are_checked_when_made(server: Server) -> None:
    admin = aws(server)
    key_id = admin.create_key()["KeyMetadata"]["KeyId"]
    secret_id = server.first_credential()["SecretId"]
    refusals = {
        "other account": error_code(
            admin.create_grant, KeyId=key_id, GranteePrincipal="arn:aws:iam::999999999999:root", Operations=["Encrypt"]
        ),
        "unknown operation": error_code(
            admin.create_grant, KeyId=key_id, GranteePrincipal=secret_id, Operations=["ScheduleKeyDeletion"]
        ),
        "context on DescribeKey": error_code(
            admin.create_grant,
            KeyId=key_id,
            GranteePrincipal=secret_id,
            Operations=["DescribeKey"],
            Constraints={"EncryptionContextEquals": {"a": "b"}},
        ),
        "no such key": error_code(
            admin.create_grant,
            KeyId="00000000-0000-0000-0000-000000000000",
            GranteePrincipal=secret_id,
            Operations=["Encrypt"],
        ),
        "dry run": error_code(
            admin.create_grant, KeyId=key_id, GranteePrincipal=secret_id, Operations=["Encrypt"], DryRun=True
        ),
        "context on an RSA key": error_code(
            admin.create_grant,
            KeyId=admin.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"],
            GranteePrincipal=secret_id,
            Operations=["Decrypt"],
            Constraints={"EncryptionContextSubset": {"tenant": "acme"}},
        ),
    }
    assert refusals == {
        "other account": "UnsupportedOperationException",
        "unknown operation": "ValidationException",
        "context on DescribeKey": "ValidationException",
        "no such key": "NotFoundException",
        "dry run": "DryRunOperationException",
        "context on an RSA key": "ValidationException",
    }
    assert admin.list_grants(KeyId=key_id)["Grants"] == []
