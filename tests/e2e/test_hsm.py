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
