"""From the master key file to an HSM, while serving: servers read both, then only the HSM."""

import base64
import os
from pathlib import Path

from tests.sdk import call
from tests.serverproc import Server, run_cli
from tests.softhsm import make_token


def test_migrate_from_the_key_file_to_pkcs11(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = Server(data).start()
    client = server.client()
    keys = [call(client, "CreateKey", Alias=f"m{i}")["KeyId"] for i in range(5)]
    blobs = []
    for key_id in keys:
        plaintext = os.urandom(24)
        blobs.append(
            (
                call(client, "Encrypt", KeyId=key_id, Plaintext=base64.b64encode(plaintext).decode())["CiphertextBlob"],
                plaintext,
            )
        )
    server.stop()

    token = make_token(tmp_path / "hsm")
    os.environ.update(token.env)
    try:
        both = Server(data, token.args()).start()  # reads the key file's blobs, wraps new ones in the HSM
        client = both.client()
        new_key = call(client, "CreateKey", Alias="after-switch")["KeyId"]
        new_blob = call(client, "Encrypt", KeyId=new_key, Plaintext="bmV3")["CiphertextBlob"]
        for blob, plaintext in blobs:
            assert base64.b64decode(call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"]) == plaintext

        result = run_cli("master-key", "migrate", "--to", "pkcs11", "--data-dir", str(data), *token.args())
        assert result.returncode == 0, result.stderr
        assert not (data / "master.key").exists() and list(data.glob("master-retired-*.key"))
        both.stop()

        hsm_only = Server(data, token.args()).start()
        client = hsm_only.client()
        for blob, plaintext in blobs:
            assert base64.b64decode(call(client, "Decrypt", CiphertextBlob=blob)["Plaintext"]) == plaintext
        assert call(client, "Decrypt", CiphertextBlob=new_blob)["Plaintext"] == "bmV3"
        hsm_only.stop()
        forgot = run_cli("credentials", "list", "--data-dir", str(data))
        assert forgot.returncode == 2 and "--trust pkcs11" in forgot.stderr, "no new key file is made by mistake"
        assert run_cli("audit", "verify", "--data-dir", str(data), *token.args()).returncode == 0
    finally:
        for name in token.env:
            os.environ.pop(name, None)
