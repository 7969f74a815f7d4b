"""White-box keys: table sizes, generation time, client-side speed beside the plain cipher, and the size of
DescribeWhiteBoxKeyDetails for a full account, in one run: `python bench/whitebox.py [--keys 50]`.

The client side (openkms.whitebox, tables only, pure Python) is compared with the same CBC done by
pyca/cryptography with the key: the ratio is what hiding the key in tables costs. The listing is
measured on a real server (rate limits off) holding `--keys` keys of each algorithm in turn, through
the official SDK, as the bytes of the HTTP response.
"""

import argparse
import base64
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import PYTHON, Server, free_port

from openkms import whitebox
from openkms.crypto.whitebox import keys

ALGORITHMS = ("AES_256", "SM4")
PLAINTEXT_BYTES = 4096


def timed(action: object, repeat: int) -> float:
    """Seconds per call, the best of `repeat`."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        best = min(best, time.perf_counter() - started)
    return best


def offline_rows(repeat: int) -> list[tuple[str, ...]]:
    rows = []
    for algorithm in ALGORITHMS:
        key = keys.new_key(algorithm)
        generation = timed(lambda a=algorithm, k=key: keys.tables(a, k), 1)
        encrypt_key, decrypt_key = keys.tables(algorithm, key)
        iv, plaintext = os.urandom(16), os.urandom(PLAINTEXT_BYTES)
        ciphertext = keys.encrypt(algorithm, key, iv, plaintext)
        assert whitebox.decrypt(decrypt_key, iv, ciphertext) == plaintext  # and the tables are loaded
        tables_time = timed(lambda d=decrypt_key, c=ciphertext, v=iv: whitebox.decrypt(d, v, c), repeat)
        plain_time = timed(lambda a=algorithm, k=key, v=iv, p=plaintext: keys.encrypt(a, k, v, p), repeat * 20)
        rows.append(
            (
                algorithm,
                f"{len(encrypt_key):,}",
                f"{len(base64.b64encode(encrypt_key)):,}",
                f"{generation:.2f}",
                f"{tables_time * 1000:.1f}",
                f"{PLAINTEXT_BYTES / 1024 / tables_time:.1f}",
                f"{plain_time * 1e6:.0f}",
                f"{tables_time / plain_time:,.0f}",
            )
        )
    return rows


def listing_rows(count: int) -> list[tuple[str, ...]]:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.kms.v20190118 import kms_client, models

    rows = []
    sizes: dict[str, int] = {}
    original = requests.Session.request

    def measuring(self: requests.Session, *args: object, **kwargs: object) -> requests.Response:
        response = original(self, *args, **kwargs)  # type: ignore[arg-type]
        sizes["bytes"] = len(response.content)
        return response

    for algorithm in ALGORITHMS:
        work = Path(tempfile.mkdtemp(prefix="openkms-whitebox-bench-"))
        port = free_port()
        command = [PYTHON, "-m", "openkms.cli.main", "serve", "--data-dir", str(work / "data"), "--port", str(port)]
        server = Server("openkms", [*command, "--rate-limit", "off", "--log-level", "warning"], port)
        server.start(work)
        try:
            secret = json.loads((work / "data" / "credentials.json").read_text())
            client = kms_client.KmsClient(
                credential.Credential(secret["SecretId"], secret["SecretKey"]),
                "ap-guangzhou",
                ClientProfile(httpProfile=HttpProfile(endpoint=f"127.0.0.1:{port}", protocol="http", reqTimeout=600)),
            )
            started = time.perf_counter()
            for n in range(count):
                request = models.CreateWhiteBoxKeyRequest()
                request.from_json_string(json.dumps({"Alias": f"bench-{n}", "Algorithm": algorithm}))
                client.CreateWhiteBoxKey(request)
            created = (time.perf_counter() - started) / count
            requests.Session.request = measuring  # type: ignore[method-assign]
            try:
                started = time.perf_counter()
                listed = client.DescribeWhiteBoxKeyDetails(models.DescribeWhiteBoxKeyDetailsRequest())
                listing = time.perf_counter() - started
            finally:
                requests.Session.request = original  # type: ignore[method-assign]
            assert listed.TotalCount == count
            rows.append((algorithm, str(count), f"{created:.2f}", f"{sizes['bytes'] / 1e6:.1f}", f"{listing:.2f}"))
        finally:
            server.stop()
    return rows


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=50, help="white-box keys per account for the listing (max 50)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        table(
            (
                "algorithm",
                "table set (bytes)",
                "Base64",
                "generate both (s)",
                "client decrypt 4 KB (ms)",
                "client KB/s",
                "with the key (µs)",
                "tables / key",
            ),
            offline_rows(args.repeat),
        )
    )
    print()
    print(
        table(
            ("algorithm", "keys", "CreateWhiteBoxKey (s each)", "DescribeWhiteBoxKeyDetails (MB)", "listing (s)"),
            listing_rows(args.keys),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
