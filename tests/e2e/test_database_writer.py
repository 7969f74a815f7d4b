"""Someone who can write the database but holds no root of trust cannot widen anyone's access: the
rows that decide access are bound to the wrapped secrets or sealed under a key the root of trust holds."""

import sqlite3
from pathlib import Path

from tests.e2e.test_accounts_and_credentials import create_credential
from tests.e2e.test_authorization import attach, key_resource
from tests.sdk import call, code_of
from tests.serverproc import Server

VICTIM = "100000000002"
ATTACKER = "100000000003"


def edit_database(server: Server, *statements: tuple[str, tuple[object, ...]]) -> None:
    """Change rows with the server stopped, as a database writer would, then start it again."""
    server.stop()
    with sqlite3.connect(server.data_dir / "openkms.db") as db:
        for sql, values in statements:
            assert db.execute(sql, values).rowcount >= 1, sql
    server.start()


def test_moving_a_credential_to_another_account_does_not_open_that_accounts_keys(fresh_server: Server) -> None:
    victim = fresh_server.client(create_credential(fresh_server, VICTIM))
    key_id = call(victim, "CreateKey", Alias="victims")["KeyId"]
    blob = call(victim, "Encrypt", KeyId=key_id, Plaintext="c2VjcmV0")["CiphertextBlob"]
    attacker_secret = create_credential(fresh_server, ATTACKER)
    edit_database(
        fresh_server,
        ("UPDATE credentials SET account = ? WHERE secret_id = ?", (VICTIM, attacker_secret["SecretId"])),
    )
    attacker = fresh_server.client(attacker_secret)
    assert code_of(attacker, "Decrypt", CiphertextBlob=blob) == "UnauthorizedOperation"
    assert call(victim, "Decrypt", CiphertextBlob=blob)["Plaintext"] == "c2VjcmV0"


def test_moving_a_key_to_another_account_does_not_open_its_material(fresh_server: Server) -> None:
    victim = fresh_server.client(create_credential(fresh_server, VICTIM))
    key_id = call(victim, "CreateKey", Alias="victims")["KeyId"]
    blob = call(victim, "Encrypt", KeyId=key_id, Plaintext="c2VjcmV0")["CiphertextBlob"]
    attacker = fresh_server.client(create_credential(fresh_server, ATTACKER))
    edit_database(fresh_server, ("UPDATE keys SET account = ? WHERE key_id = ?", (ATTACKER, key_id)))
    assert code_of(attacker, "Decrypt", CiphertextBlob=blob) == "InternalError"
    assert code_of(attacker, "Encrypt", KeyId=key_id, Plaintext="aGk=") == "InternalError"
    assert "material does not open for its stored owner" in fresh_server.log()


def test_deleting_a_credentials_policies_does_not_make_it_an_administrator(
    fresh_server: Server, tmp_path: Path
) -> None:
    admin = fresh_server.client()
    key_id = call(admin, "CreateKey", Alias="guarded")["KeyId"]
    reader_secret = create_credential(fresh_server)
    attach(
        fresh_server,
        reader_secret["SecretId"],
        "read-only",
        [{"effect": "allow", "action": "kms:Describe*", "resource": key_resource(key_id)}],
        tmp_path,
    )
    reader = fresh_server.client(reader_secret)
    assert code_of(reader, "DisableKey", KeyId=key_id) == "UnauthorizedOperation"
    edit_database(fresh_server, ("DELETE FROM policies WHERE secret_id = ?", (reader_secret["SecretId"],)))
    assert code_of(reader, "DisableKey", KeyId=key_id) == "UnauthorizedOperation"
    assert code_of(reader, "DescribeKey", KeyId=key_id) == "UnauthorizedOperation", "refused whole, not widened"
    assert call(admin, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"


def test_adding_a_policy_row_or_policies_to_an_unrestricted_credential_is_refused(
    fresh_server: Server, tmp_path: Path
) -> None:
    admin_secret = create_credential(fresh_server)
    edit_database(
        fresh_server,
        (
            "INSERT INTO policies (secret_id, name, document, create_time) VALUES (?, 'sneaky', '{}', 0)",
            (admin_secret["SecretId"],),
        ),
    )
    assert code_of(fresh_server.client(admin_secret), "GetRegions") == "UnauthorizedOperation"
