"""Signatures and decryptions per second through OpenKMS, beside the raw library doing the same private-key
operation in-process, in one run: `python bench/asymmetric_throughput.py [--seconds 5] [--threads 4]`.

OpenKMS is driven through the official SDK by `--threads` client threads over keep-alive connections
(rate limits off), and, when wrk is installed, by wrk with every request TC3-signed (bench/tc3.lua),
which takes the Python client out of the measurement. "Raw" is the library OpenKMS calls
(pyca/cryptography for RSA and ECDSA, Tongsuo via tongsuopy for SM2) in one thread of this process.
The ratio is KMS / raw, from the wrk column when there is one: with `--workers 2` on two cores it could
exceed 1.0 if the private-key operation dominated, and falls well below it where HTTP, TC3 and JSON
dominate (the fast ECDSA operations). The first row, GenerateRandom, does no private-key work: the
ceiling of each harness.
"""

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PYTHON, Scenario, Server, free_port, run_wrk

from openkms.crypto import sm2

Row = tuple[str, str, dict[str, object], Callable[[], object]]
"""Name, API action, its request fields, and the raw library doing the same private-key operation."""
MESSAGE = b"a 64-byte message signed by every contender, always the same...."
OAEP = padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None)


def rate(action: Callable[[], object], seconds: float, threads: int = 1) -> float:
    """Operations per second of `action` run back to back by `threads` threads for `seconds`."""
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def loop(index: int) -> None:
        while time.perf_counter() < deadline:
            action()
            counts[index] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="server processes (bench/run.py uses 2 as well)")
    parser.add_argument("--no-wrk", action="store_true", help="only the SDK client, even when wrk is installed")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="openkms-asymmetric-bench-"))
    port = free_port()
    server = Server(
        "openkms",
        [
            *(PYTHON, "-m", "openkms.cli.main", "serve", "--data-dir", str(work / "data"), "--port", str(port)),
            *("--rate-limit", "off", "--log-level", "warning", "--workers", str(args.workers)),
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
        local = threading.local()

        def client() -> kms_client.KmsClient:
            if not hasattr(local, "client"):  # one client, and so one keep-alive connection, per thread
                local.client = kms_client.KmsClient(
                    credential.Credential(secret["SecretId"], secret["SecretKey"]),
                    "ap-guangzhou",
                    ClientProfile(httpProfile=HttpProfile(endpoint=f"127.0.0.1:{port}", protocol="http")),
                )
            return local.client

        def call(action: str, **fields: object) -> object:
            request = getattr(models, f"{action}Request")()
            request.from_json_string(json.dumps(fields))
            return getattr(client(), action)(request)

        def create(usage: str) -> tuple[str, bytes]:
            key_id: str = call("CreateKey", Alias=f"bench-{os.urandom(4).hex()}", KeyUsage=usage).KeyId  # type: ignore[attr-defined]
            pem: str = call("GetPublicKey", KeyId=key_id).PublicKeyPem  # type: ignore[attr-defined]
            return key_id, pem.encode()

        message = base64.b64encode(MESSAGE).decode()
        rows: list[Row] = []

        rsa_private = rsa.generate_private_key(65537, 2048)
        sign_key, _ = create("ASYMMETRIC_SIGN_VERIFY_RSA_2048")
        rows.append(
            (
                "RSA-2048 sign (RSA_PKCS1_SHA_256)",
                "SignByAsymmetricKey",
                {"KeyId": sign_key, "Algorithm": "RSA_PKCS1_SHA_256", "Message": message},
                lambda: rsa_private.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256()),
            )
        )
        decrypt_key, pem = create("ASYMMETRIC_DECRYPT_RSA_2048")
        public = serialization.load_pem_public_key(pem)
        assert isinstance(public, rsa.RSAPublicKey)
        rsa_ciphertext = base64.b64encode(public.encrypt(os.urandom(32), OAEP)).decode()
        raw_ciphertext = rsa_private.public_key().encrypt(os.urandom(32), OAEP)
        rows.append(
            (
                "RSA-2048 decrypt (RSAES_OAEP_SHA_256)",
                "AsymmetricRsaDecrypt",
                {"KeyId": decrypt_key, "Algorithm": "RSAES_OAEP_SHA_256", "Ciphertext": rsa_ciphertext},
                lambda: rsa_private.decrypt(raw_ciphertext, OAEP),
            )
        )
        for usage, algorithm, curve, digest in (
            ("ASYMMETRIC_SIGN_VERIFY_ECC", "ECC_P256_R1", ec.SECP256R1(), hashes.SHA256()),
            ("ASYMMETRIC_SIGN_VERIFY_ECDSA384", "ECC_P384_R1", ec.SECP384R1(), hashes.SHA384()),
        ):
            key_id, _ = create(usage)
            raw_key = ec.generate_private_key(curve)
            rows.append(
                (
                    f"{curve.name} sign ({algorithm})",
                    "SignByAsymmetricKey",
                    {"KeyId": key_id, "Algorithm": algorithm, "Message": message},
                    lambda raw_key=raw_key, digest=digest: raw_key.sign(MESSAGE, ec.ECDSA(digest)),
                )
            )

        sm2_private = sm2.new_private_key()
        sm2_sign_key, _ = create("ASYMMETRIC_SIGN_VERIFY_SM2")
        rows.append(
            (
                "SM2 sign (SM2DSA)",
                "SignByAsymmetricKey",
                {"KeyId": sm2_sign_key, "Algorithm": "SM2DSA", "Message": message},
                lambda: sm2.sign(sm2_private, MESSAGE, digest=False),
            )
        )
        sm2_decrypt_key, sm2_pem = create("ASYMMETRIC_DECRYPT_SM2")
        sm2_ciphertext = base64.b64encode(sm2.encrypt_to(sm2_pem, os.urandom(32), asn1=True)).decode()
        _, own_pem = sm2.public_key(sm2_private)
        raw_sm2_ciphertext = sm2.encrypt_to(own_pem.encode(), os.urandom(32), asn1=True)
        rows.append(
            (
                "SM2 decrypt (C1C3C2_ASN1)",
                "AsymmetricSm2Decrypt",
                {"KeyId": sm2_decrypt_key, "Ciphertext": sm2_ciphertext},
                lambda: sm2.decrypt(sm2_private, raw_sm2_ciphertext),
            )
        )

        wrk = shutil.which("wrk") is not None and not args.no_wrk
        through_wrk = f" | OpenKMS ops/s (wrk, {args.connections} connections)" if wrk else ""
        sdk = f"OpenKMS ops/s ({args.threads} SDK threads)"
        print(f"| operation | {sdk}{through_wrk} | raw library ops/s (1 thread) | ratio |")
        print("|---|---|---|---|" + ("---|" if wrk else ""))

        def measured(name: str, action: str, fields: dict[str, object], raw: Callable[[], object] | None) -> None:
            sdk_rate = rate(lambda: call(action, **fields), args.seconds, args.threads)
            cells = [f"{sdk_rate:,.0f}"]
            best = sdk_rate
            if wrk:
                bodies = work / f"{action}-{len(name)}.txt"
                bodies.write_text(json.dumps(fields) + "\n")
                environment = {
                    "BENCH_SECRET_ID": secret["SecretId"],
                    "BENCH_SECRET_KEY": secret["SecretKey"],
                    "BENCH_HOST": f"127.0.0.1:{port}",
                    "BENCH_ACTION": action,
                    "BENCH_BODIES": str(bodies),
                }
                sample = run_wrk(
                    Scenario(name, server, "tc3.lua", environment, ""), int(args.seconds), args.connections
                )
                assert sample.errors == 0, f"{name}: {sample.errors} errors under wrk"
                cells.append(f"{sample.rps:,.0f}")
                best = sample.rps
            if raw is None:
                print(f"| {name} | {' | '.join(cells)} | | |", flush=True)
                return
            raw_rate = rate(raw, args.seconds)
            print(f"| {name} | {' | '.join(cells)} | {raw_rate:,.0f} | {best / raw_rate:.2f} |", flush=True)

        measured("ceiling: GenerateRandom, no private key", "GenerateRandom", {"NumberOfBytes": 32}, None)
        for row in rows:
            measured(*row)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
