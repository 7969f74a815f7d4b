"""MB/s of envelope encryption of a large file, beside openssl and raw AES-GCM, in one run:
`python bench/envelope_throughput.py [--megabytes 512]`.

openssl's `enc` has no GCM (it refuses AEAD ciphers), so `aes-256-ctr` stands for the AES class of
throughput; "AES-GCM, 64 KiB chunks" is the same primitive OpenKMS uses, without the file format.
"""

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PYTHON, Server, free_port

from openkms.envelope.client import Envelope


def timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="openkms-envelope-bench-"))
    server = Server(
        "openkms",
        [
            PYTHON,
            "-m",
            "openkms.cli.main",
            "serve",
            "--data-dir",
            str(work / "data"),
            "--port",
            str(port := free_port()),
            "--log-level",
            "warning",
        ],
        port,
    )
    try:
        server.start(work)
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.kms.v20190118 import kms_client, models

        secret = json.loads((work / "data" / "credentials.json").read_text())
        client = kms_client.KmsClient(
            credential.Credential(secret["SecretId"], secret["SecretKey"]),
            "ap-guangzhou",
            ClientProfile(httpProfile=HttpProfile(endpoint=f"127.0.0.1:{port}", protocol="http")),
        )
        request = models.CreateKeyRequest()
        request.Alias = "envelope-bench"
        key_id = client.CreateKey(request).KeyId

        plain, sealed, opened = work / "plain.bin", work / "plain.okms", work / "opened.bin"
        with plain.open("wb") as file:
            block = os.urandom(1 << 20)
            for _ in range(args.megabytes):
                file.write(block)
        size = plain.stat().st_size

        def envelope_encrypt() -> None:
            with plain.open("rb") as source, sealed.open("wb") as target:
                Envelope(client, key_id, {"bench": "1"}).encrypt_stream(source, target)

        def envelope_decrypt() -> None:
            with sealed.open("rb") as source, opened.open("wb") as target:
                Envelope.decrypt_stream(client, source, target)

        def openssl() -> None:
            subprocess.run(
                [
                    "openssl",
                    "enc",
                    "-aes-256-ctr",
                    "-K",
                    "00" * 32,
                    "-iv",
                    "00" * 16,
                    "-in",
                    str(plain),
                    "-out",
                    str(work / "openssl.bin"),
                ],
                check=True,
            )

        def raw_gcm() -> None:
            aead = AESGCM(os.urandom(32))
            with plain.open("rb") as source, (work / "raw.bin").open("wb") as target:
                index = 0
                while chunk := source.read(64 * 1024):
                    target.write(aead.encrypt(index.to_bytes(12, "big"), chunk, None))
                    index += 1

        contenders = {
            "openkms encrypt (envelope)": envelope_encrypt,
            "openkms decrypt (envelope)": envelope_decrypt,
            "openssl enc -aes-256-ctr": openssl,
            "AES-GCM in Python, 64 KiB chunks": raw_gcm,
        }
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, action in contenders.items():
                times[name].append(timed(action))
        assert hashlib.sha256(opened.read_bytes()).digest() == hashlib.sha256(plain.read_bytes()).digest()
        print(f"| operation ({args.megabytes} MiB file, {args.rounds} rounds) | MB/s median (min-max) |")
        print("|---|---|")
        for name, values in times.items():
            rates = [size / t / 1e6 for t in values]
            print(f"| {name} | {statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f}) |")
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
