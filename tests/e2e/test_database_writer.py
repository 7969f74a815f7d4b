"""Someone who can write the database but holds no root of trust cannot widen anyone's access: the
rows that decide access are bound to the wrapped secrets or sealed under a key the root of trust holds."""

import json
import sqlite3
from pathlib import Path

from tests.e2e.test_accounts_and_credentials import create_credential
from tests.e2e.test_authorization import attach, key_resource
from tests.sdk import call, code_of
from tests.serverproc import Server, run_cli

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


def test_an_injected_policy_is_never_sealed_in_by_an_administrators_next_change(
    fresh_server: Server, tmp_path: Path
) -> None:
    """The refused credential's own message sends the administrator to change its policies: that change
    must not vouch for the rows the database writer added."""
    admin = fresh_server.client()
    key_id = call(admin, "CreateKey", Alias="guarded")["KeyId"]
    reader_secret = create_credential(fresh_server)
    secret_id = reader_secret["SecretId"]
    read_only = [{"effect": "allow", "action": "kms:Describe*", "resource": key_resource(key_id)}]
    attach(fresh_server, secret_id, "read-only", read_only, tmp_path)
    everything = json.dumps({"version": "2.0", "statement": [{"effect": "allow", "action": "kms:*", "resource": "*"}]})
    edit_database(
        fresh_server,
        (
            "INSERT INTO policies (secret_id, name, document, create_time) VALUES (?, 'everything', ?, 0)",
            (secret_id, everything),
        ),
    )
    reader = fresh_server.client(reader_secret)
    assert code_of(reader, "DescribeKey", KeyId=key_id) == "UnauthorizedOperation"
    data_dir = ("--data-dir", str(fresh_server.data_dir))

    document = tmp_path / "again.json"
    document.write_text(json.dumps({"version": "2.0", "statement": read_only}))
    refused = run_cli("policy", "attach", *data_dir, secret_id, "--name", "read-only-again", "--file", str(document))
    assert refused.returncode != 0 and "changed outside OpenKMS" in refused.stderr
    assert run_cli("policy", "detach", *data_dir, secret_id, "--name", "read-only").returncode != 0
    assert run_cli("policy", "show", *data_dir, secret_id).returncode != 0
    assert code_of(reader, "DescribeKey", KeyId=key_id) == "UnauthorizedOperation", "still refused whole"

    inspected = run_cli("policy", "show", "--unverified", *data_dir, secret_id)
    assert inspected.returncode == 1 and "NOT the set OpenKMS sealed" in inspected.stderr
    rows = json.loads(inspected.stdout)
    assert [row["name"] for row in rows] == ["everything", "read-only"]
    intended = tmp_path / "intended.json"
    intended.write_text(json.dumps([row for row in rows if row["name"] == "read-only"]))
    assert run_cli("policy", "replace", *data_dir, secret_id, "--file", str(intended)).returncode == 0
    assert call(reader, "DescribeKey", KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
    assert code_of(reader, "DisableKey", KeyId=key_id) == "UnauthorizedOperation"
    shown = run_cli("policy", "show", *data_dir, secret_id)
    assert shown.returncode == 0 and [row["name"] for row in json.loads(shown.stdout)] == ["read-only"]
