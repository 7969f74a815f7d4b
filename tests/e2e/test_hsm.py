"""A server whose root of trust is a PKCS#11 token: keys survive restarts and no master key file exists."""

import os
from pathlib import Path

from tests.sdk import call
from tests.serverproc import Server
from tests.softhsm import make_token


def test_serving_with_an_hsm_root_of_trust(tmp_path: Path, monkeypatch: object) -> None:
    token = make_token(tmp_path / "hsm")
    os.environ.update(token.env)  # the server process inherits SOFTHSM2_CONF
    try:
        server = Server(tmp_path / "data", token.args()).start()
        client = server.client()
        key_id = call(client, "CreateKey", Alias="in-the-hsm")["KeyId"]
        blob = call(client, "Encrypt", KeyId=key_id, Plaintext="aHNt")["CiphertextBlob"]
        server.stop()
        assert not (tmp_path / "data" / "master.key").exists()
        server.start()
        assert call(server.client(), "Decrypt", CiphertextBlob=blob)["Plaintext"] == "aHNt"
        server.stop()
    finally:
        for name in token.env:
            os.environ.pop(name, None)


def test_a_token_without_the_master_key_never_gets_a_new_one_beside_a_store(tmp_path: Path) -> None:
    """The HSM holding the master key was replaced by an empty one (or the key deleted): a new key
    would open nothing stored, and hide the loss. Start-up refuses, in one line."""
    token = make_token(tmp_path / "hsm")
    os.environ.update(token.env)
    try:
        server = Server(tmp_path / "data", token.args()).start()
        call(server.client(), "CreateKey", Alias="in-the-lost-hsm")
        server.stop()
    finally:
        for name in token.env:
            os.environ.pop(name, None)
    empty = make_token(tmp_path / "empty-hsm")
    os.environ.update(empty.env)
    try:
        try:
            server.start()
        except RuntimeError as refused:
            refusal = str(refused)
        else:
            server.stop()
            raise AssertionError("the server started with an empty token")
        assert "has no key labelled 'openkms-master'" in refusal and "Traceback" not in refusal
    finally:
        for name in empty.env:
            os.environ.pop(name, None)
