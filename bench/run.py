"""OpenKMS throughput, side by side with its peers, in one run: `python bench/run.py`.

Starts every contender on 127.0.0.1, drives each with wrk (TC3-signed per request by tc3.lua for the
Tencent Cloud API), runs the scenarios interleaved for several rounds, and prints medians with min and
max, the server's and the load generator's CPU per request, and the ratios the targets speak of.
Rewrites bench/RESULTS.md with `--record`.

Peers: a bare endpoint (bench/bare.py, the practical Python limit on the same ASGI server and worker
count) and moto's KMS server (installed into bench/.venv-peers, never into the project).
"""

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pybase64

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = sys.executable
PEERS = BENCH / ".venv-peers"
TICKS = os.sysconf("SC_CLK_TCK")
ACCOUNT, REGION = "100000000001", "ap-guangzhou"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


def wait_until_ready(port: int, workers: int, seconds: float = 600) -> None:
    """Until /readyz answers 200 often enough in a row that every worker has said so."""
    import urllib.error
    import urllib.request

    deadline, in_a_row = time.monotonic() + seconds, 0
    while in_a_row < 10 * workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server on port {port} did not become ready")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10):
                in_a_row += 1
        except urllib.error.HTTPError:
            in_a_row = 0
            time.sleep(0.5)


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, stack = [], [pid]
    while stack:
        current = stack.pop()
        tree.append(current)
        stack.extend(children.get(current, []))
    return tree


def cpu_seconds(pid: int) -> float:
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def memory_bytes(pid: int) -> tuple[int, int]:
    """Resident and proportional set size of a process tree. RSS counts pages the processes share (the
    database's memory map, the interpreter) once per process; PSS divides them among the sharers."""
    rss = pss = 0
    for member in process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except OSError:
            continue
    return rss, pss


@dataclass
class Server:
    name: str
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, log_dir: Path) -> None:
        log = (log_dir / f"{self.name}.log").open("wb")
        self.process = subprocess.Popen(
            self.command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **self.env}, start_new_session=True
        )
        wait_for_port(self.port, self.process)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Scenario:
    name: str
    server: Server
    script: str
    env: dict[str, str]
    payload: str


@dataclass
class Sample:
    rps: float
    p50: float
    p99: float
    errors: int
    requests: int
    server_cpu_us: float
    client_cpu_us: float


def run_wrk(scenario: Scenario, seconds: int, connections: int) -> Sample:
    assert scenario.server.process is not None
    server_before = cpu_seconds(scenario.server.process.pid)
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(BENCH / scenario.script),
            f"http://127.0.0.1:{scenario.server.port}/",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **scenario.env},
        check=True,
    )
    client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_used = cpu_seconds(scenario.server.process.pid) - server_before
    for complaint in result.stderr.splitlines()[:3]:
        print(f"  {scenario.name}: {complaint[:300]}", flush=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("BENCH "))
    values = dict(item.split("=") for item in line.split()[1:])
    rps = float(next(ln for ln in result.stdout.splitlines() if ln.startswith("Requests/sec:")).split()[1])
    requests = int(values["requests"]) or 1
    client_used = (client_after.ru_utime - client_before.ru_utime) + (client_after.ru_stime - client_before.ru_stime)
    return Sample(
        rps,
        float(values["p50_ms"]),
        float(values["p99_ms"]),
        int(values["errors"]),
        requests,
        server_used / requests * 1e6,
        client_used / requests * 1e6,
    )


def ensure_wrk() -> None:
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


def ensure_peers() -> Path | None:
    moto_server = PEERS / "bin" / "moto_server"
    if not moto_server.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
        installed = subprocess.run([str(PEERS / "bin" / "pip"), "install", "-q", "moto[server]"], check=False)
        if installed.returncode != 0:
            return None
    return moto_server


def seed_openkms(data_dir: Path, extra_keys: int, work: Path) -> dict[str, object]:
    """A data folder with a credential, one hot key, `extra_keys` more keys, and request files."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert

    from openkms.config.values import Config
    from openkms.crypto.aead import new_key
    from openkms.domain.models import Caller
    from openkms.server.runtime import build_runtime
    from openkms.store.schema import key_versions, keys
    from openkms.trust.bindings import key_material

    runtime = build_runtime(Config(data_dir=data_dir))
    caller = Caller(ACCOUNT, REGION)
    credential, secret_key = runtime.credentials.create(ACCOUNT)
    hot = runtime.keys.create(caller, "hot").key_id
    plaintext_4k, plaintext_32 = os.urandom(4096), os.urandom(32)
    blobs = [runtime.crypto.encrypt(caller, hot, plaintext_4k).blob for _ in range(64)]
    key_ids = [hot]
    now = int(time.time())
    batch_keys, batch_versions = [], []
    engine = runtime.store._engine  # seeding a million keys one durable transaction each would take hours
    for i in range(extra_keys):
        key_id = str(uuid.uuid4())
        key_ids.append(key_id)
        batch_keys.append(
            {
                "key_id": key_id,
                "account": ACCOUNT,
                "region": REGION,
                "alias": f"seed-{i}",
                "description": "",
                "key_usage": "ENCRYPT_DECRYPT",
                "origin": "TENCENT_KMS",
                "state": "Enabled",
                "create_time": now,
                "deletion_date": 0,
                "current_version": 1,
                "rotation_enabled": False,
                "rotate_days": 0,
                "next_rotate_time": 0,
                "last_rotate_time": 0,
                "valid_to": 0,
                "wrapped_material_digest": None,
                "revision": 0,
            }
        )
        batch_versions.append(
            {
                "key_id": key_id,
                "version": 1,
                "create_time": now,
                "bound_material": runtime.trust.wrap(new_key(), key_material(key_id, 1, ACCOUNT, REGION)),
            }
        )
        if len(batch_keys) == 20_000 or i == extra_keys - 1:
            with engine.connect().execution_options(openkms_write=True) as conn, conn.begin():
                conn.execute(insert(keys), batch_keys)
                conn.execute(insert(key_versions), batch_versions)
            batch_keys, batch_versions = [], []
    runtime.close()

    def body_file(name: str, bodies: list[dict[str, object]]) -> str:
        path = work / name
        path.write_text("".join(json.dumps(b) + "\n" for b in bodies))
        return str(path)

    b64 = pybase64.b64encode_as_string
    (work / "keys.txt").write_text("\n".join(key_ids) + "\n")
    return {
        "secret_id": credential.secret_id,
        "secret_key": secret_key,
        "plaintext_4k": b64(plaintext_4k),
        "keys_file": str(work / "keys.txt"),
        "encrypt_4k": body_file("encrypt4k.txt", [{"KeyId": hot, "Plaintext": b64(plaintext_4k)}]),
        "encrypt_32": body_file("encrypt32.txt", [{"KeyId": hot, "Plaintext": b64(plaintext_32)}]),
        "decrypt_4k": body_file("decrypt4k.txt", [{"CiphertextBlob": b64(b)} for b in blobs]),
        "generate_data_key": body_file("gdk.txt", [{"KeyId": hot, "KeySpec": "AES_256"}]),
        "create_key": body_file("createkey.txt", [{"Alias": "bench-@UNIQUE@"}]),
    }


def bare_server(secret_key: str, workers: int) -> Server:
    """The bare endpoint (bench/bare.py): the inherent work of an Encrypt on the same ASGI server."""
    command = [PYTHON, "-m", "uvicorn", "--app-dir", str(BENCH), "bare:app", "--port", str(port := free_port())]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-server-header", "--no-date-header"]
    command += ["--no-proxy-headers"]  # as OpenKMS serves by default
    return Server("bare", command, port, {"BENCH_SECRET_KEY": secret_key})


def tc3_env(seeded: dict[str, object], server: Server, action: str, **files: str) -> dict[str, str]:
    """What tc3.lua (and fixed_rate.lua) need to sign `action` requests to `server` as the seeded credential."""
    return {
        "BENCH_SECRET_ID": str(seeded["secret_id"]),
        "BENCH_SECRET_KEY": str(seeded["secret_key"]),
        "BENCH_HOST": f"127.0.0.1:{server.port}",
        "BENCH_ACTION": action,
        **files,
    }


BASELINE_KEYS = 1000


def baseline_server(ref: str, work: Path, workers: int) -> tuple[Server, Path]:
    """OpenKMS as it was at git `ref`, from a worktree of its own on a data folder of its own (older
    code may not open a newer store), to run beside the current build: before and after in one run."""
    tree = work / "baseline-src"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(tree), ref], check=True)
    data = work / "baseline-data"
    port = free_port()
    # -P: `python -m` would put the working directory (this checkout) first on sys.path, ahead of
    # PYTHONPATH, and the "baseline" would be the current build.
    command = [PYTHON, "-P", "-m", "openkms.cli.main", "serve", "--data-dir", str(data), "--rate-limit", "off"]
    # The same flags as the server of record it is compared with (a preloaded key cache).
    command += ["--log-level", "warning", "--port", str(port), "--workers", str(workers), "--key-cache-preload"]
    if _knows_setting(tree, "cmk_limit"):  # no quota: CreateKey runs thousands of times
        command += ["--cmk-limit", "0"]
    return Server(f"openkms@{ref}", command, port, {"PYTHONPATH": str(tree)}), tree


def _knows_setting(tree: Path, name: str) -> bool:
    """Whether the OpenKMS in `tree` has the setting (older commits lack newer ones)."""
    return any(f'"{name}"' in path.read_text() for path in (tree / "openkms").rglob("settings.py"))


def baseline_bodies(server: Server, data: Path, work: Path, plaintext: str) -> dict[str, str]:
    """The baseline's credential and Encrypt/CreateKey bodies, made through the SDK."""
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.kms.v20190118 import kms_client, models

    secret = json.loads((data / "credentials.json").read_text())
    profile = ClientProfile(httpProfile=HttpProfile(endpoint=f"127.0.0.1:{server.port}", protocol="http"))
    client = kms_client.KmsClient(credential.Credential(secret["SecretId"], secret["SecretKey"]), REGION, profile)
    request = models.CreateKeyRequest()
    request.Alias = "hot"
    hot = client.CreateKey(request).KeyId
    encrypt = work / "baseline-encrypt4k.txt"
    encrypt.write_text(json.dumps({"KeyId": hot, "Plaintext": plaintext}) + "\n")
    create = work / "baseline-createkey.txt"
    create.write_text(json.dumps({"Alias": "bench-@UNIQUE@"}) + "\n")
    return {
        "BENCH_SECRET_ID": secret["SecretId"],
        "BENCH_SECRET_KEY": secret["SecretKey"],
        "BENCH_HOST": f"127.0.0.1:{server.port}",
        "encrypt": str(encrypt),
        "create": str(create),
    }


def moto_key(port: int) -> str:
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=b"{}",
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "TrentService.CreateKey",
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/kms/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return str(json.loads(reply.read())["KeyMetadata"]["KeyId"])


def summarise(samples: list[Sample]) -> dict[str, float]:
    rps = [s.rps for s in samples]
    return {
        "rps": statistics.median(rps),
        "min": min(rps),
        "max": max(rps),
        "p50": statistics.median(s.p50 for s in samples),
        "p99": statistics.median(s.p99 for s in samples),
        "errors": sum(s.errors for s in samples),
        "server_us": statistics.median(s.server_cpu_us for s in samples),
        "client_us": statistics.median(s.client_cpu_us for s in samples),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys to spread the random-key run over")
    parser.add_argument("--no-moto", action="store_true", help="skip the moto peer")
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    parser.add_argument("--only", action="append", default=[], help="run only scenarios whose name contains this")
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also run OpenKMS as of this git commit (Encrypt 4 KB and CreateKey), interleaved: before and after",
    )
    args = parser.parse_args()
    if args.baseline and args.keys > BASELINE_KEYS:
        # The baseline starts on a folder of its own with a handful of keys, and CreateKey into a store
        # of a million keys costs more (a deeper index, more pages per commit): before and after would
        # differ in their data, not only in their code.
        parser.error(f"--baseline compares on equal data: add --keys {BASELINE_KEYS} (or fewer)")
    ensure_wrk()
    moto_server = None if args.no_moto else ensure_peers()

    work = Path(tempfile.mkdtemp(prefix="openkms-bench-"))
    servers: list[Server] = []
    baseline_tree: Path | None = None
    try:
        started = time.monotonic()
        seeded = seed_openkms(work / "data", max(0, args.keys - 1), work)
        print(f"seeded {args.keys} keys in {time.monotonic() - started:.0f} s", flush=True)
        serve = [
            PYTHON,
            "-m",
            "openkms.cli.main",
            "serve",
            "--data-dir",
            str(work / "data"),
            "--rate-limit",
            "off",
            "--cmk-limit",  # no quota: the seeded keys are far more than Tencent's default of 200
            "0",
            "--log-level",
            "warning",
        ]
        # The server of record preloads its key cache (and is measured once ready); a second one starts
        # cold, to show what first uses cost when keys are read on demand.
        openkms = Server(
            "openkms",
            [*serve, "--port", str(port := free_port()), "--workers", str(args.workers), "--key-cache-preload"],
            port,
        )
        openkms_cold = Server(
            "openkms-cold", [*serve, "--port", str(port := free_port()), "--workers", str(args.workers)], port
        )
        openkms_1 = Server("openkms-1-worker", [*serve, "--port", str(port := free_port()), "--workers", "1"], port)
        bare = bare_server(str(seeded["secret_key"]), args.workers)
        servers = [openkms, openkms_cold, openkms_1, bare]
        baseline = None
        if args.baseline:
            baseline, baseline_tree = baseline_server(args.baseline, work, args.workers)
            servers.append(baseline)
        moto = None
        if moto_server is not None:
            moto = Server("moto", [str(moto_server), "-H", "127.0.0.1", "-p", str(port := free_port())], port)
            servers.append(moto)
        for server in servers:
            server.start(work)
        started = time.monotonic()
        wait_until_ready(openkms.port, args.workers)
        print(f"OpenKMS preloaded {args.keys:,} keys in {time.monotonic() - started:.0f} s", flush=True)

        def tc3(server: Server, action: str, **files: str) -> dict[str, str]:
            return tc3_env(seeded, server, action, **files)

        scenarios = [
            Scenario(
                "OpenKMS Encrypt",
                openkms,
                "tc3.lua",
                tc3(openkms, "Encrypt", BENCH_BODIES=str(seeded["encrypt_4k"])),
                "4 KB",
            ),
            Scenario(
                "OpenKMS AWS Encrypt",
                openkms,
                "sigv4.lua",
                tc3(openkms, "Encrypt", BENCH_BODIES=str(seeded["encrypt_4k"])),
                "4 KB",
            ),
            Scenario(
                "OpenKMS Encrypt",
                openkms,
                "tc3.lua",
                tc3(openkms, "Encrypt", BENCH_BODIES=str(seeded["encrypt_32"])),
                "32 B",
            ),
            Scenario(
                "OpenKMS Decrypt",
                openkms,
                "tc3.lua",
                tc3(openkms, "Decrypt", BENCH_BODIES=str(seeded["decrypt_4k"])),
                "4 KB",
            ),
            Scenario(
                "OpenKMS GenerateDataKey",
                openkms,
                "tc3.lua",
                tc3(openkms, "GenerateDataKey", BENCH_BODIES=str(seeded["generate_data_key"])),
                "AES_256",
            ),
            Scenario(
                "OpenKMS Encrypt, random keys",
                openkms,
                "tc3.lua",
                tc3(
                    openkms, "Encrypt", BENCH_KEYS=str(seeded["keys_file"]), BENCH_PLAINTEXT=str(seeded["plaintext_4k"])
                ),
                f"4 KB, {args.keys:,} keys",
            ),
            Scenario(
                "OpenKMS Encrypt, random keys, cold cache",
                openkms_cold,
                "tc3.lua",
                tc3(
                    openkms_cold,
                    "Encrypt",
                    BENCH_KEYS=str(seeded["keys_file"]),
                    BENCH_PLAINTEXT=str(seeded["plaintext_4k"]),
                ),
                f"4 KB, {args.keys:,} keys",
            ),
            Scenario(
                "OpenKMS CreateKey (durable)",
                openkms,
                "tc3.lua",
                tc3(openkms, "CreateKey", BENCH_BODIES=str(seeded["create_key"])),
                "-",
            ),
            Scenario(
                "OpenKMS Encrypt, 1 worker",
                openkms_1,
                "tc3.lua",
                tc3(openkms_1, "Encrypt", BENCH_BODIES=str(seeded["encrypt_4k"])),
                "4 KB",
            ),
            Scenario(
                "bare endpoint Encrypt",
                bare,
                "tc3.lua",
                tc3(bare, "Encrypt", BENCH_BODIES=str(seeded["encrypt_4k"])),
                "4 KB",
            ),
        ]
        if baseline is not None:
            made = baseline_bodies(baseline, work / "baseline-data", work, str(seeded["plaintext_4k"]))
            signing = {k: v for k, v in made.items() if k.startswith("BENCH_")}
            scenarios += [
                Scenario(
                    f"{baseline.name} Encrypt",
                    baseline,
                    "tc3.lua",
                    {**signing, "BENCH_ACTION": "Encrypt", "BENCH_BODIES": made["encrypt"]},
                    "4 KB",
                ),
                Scenario(
                    f"{baseline.name} CreateKey (durable)",
                    baseline,
                    "tc3.lua",
                    {**signing, "BENCH_ACTION": "CreateKey", "BENCH_BODIES": made["create"]},
                    "-",
                ),
            ]
        if moto is not None:
            moto_bodies = work / "moto.txt"
            moto_bodies.write_text(
                json.dumps({"KeyId": moto_key(moto.port), "Plaintext": seeded["plaintext_4k"]}) + "\n"
            )
            scenarios.append(Scenario("moto Encrypt", moto, "moto.lua", {"BENCH_BODIES": str(moto_bodies)}, "4 KB"))

        if args.only:
            if args.record:
                parser.error("--record needs every scenario")
            scenarios = [s for s in scenarios if any(part in f"{s.name} {s.payload}" for part in args.only)]
        samples: dict[int, list[Sample]] = {i: [] for i in range(len(scenarios))}
        peak_memory = (0, 0)
        for round_number in range(args.rounds):
            for index, scenario in enumerate(scenarios):
                sample = run_wrk(scenario, args.seconds, args.connections)
                samples[index].append(sample)
                if scenario.server is openkms:
                    assert openkms.process is not None
                    peak_memory = max(peak_memory, memory_bytes(openkms.process.pid))
                print(
                    f"round {round_number + 1} {scenario.name} {scenario.payload}: {sample.rps:,.0f} req/s, "
                    f"p99 {sample.p99:.1f} ms, {sample.errors} errors",
                    flush=True,
                )
        report = render(scenarios, {i: summarise(s) for i, s in samples.items()}, args, peak_memory)
        print(report)
        if args.record:
            analysis = BENCH / "ANALYSIS.md"
            (BENCH / "RESULTS.md").write_text(report + ("\n" + analysis.read_text() if analysis.exists() else ""))
    finally:
        for server in servers:
            server.stop()
        if baseline_tree is not None:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(baseline_tree)], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def render(
    scenarios: list[Scenario],
    results: dict[int, dict[str, float]],
    args: argparse.Namespace,
    peak_memory: tuple[int, int],
) -> str:
    def rps_of(name: str, payload: str = "4 KB") -> float:
        for index, scenario in enumerate(scenarios):
            if scenario.name == name and scenario.payload.startswith(payload):
                return results[index]["rps"]
        return float("nan")

    lines = [
        "# Benchmark results",
        "",
        f"Command: `.venv/bin/python bench/run.py --seconds {args.seconds} --rounds {args.rounds} "
        f"--connections {args.connections} --workers {args.workers} --keys {args.keys}`",
        "",
        f"Machine: {os.cpu_count()} cores; wrk (2 threads) runs on the same cores as the servers. "
        f"{args.rounds} rounds, contenders interleaved; medians with min-max.",
        "",
        "| contender | payload | connections | requests/s (min-max) | p50 ms | p99 ms | errors "
        "| server CPU µs/req | wrk CPU µs/req |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for index, scenario in enumerate(scenarios):
        r = results[index]
        lines.append(
            f"| {scenario.name} | {scenario.payload} | {args.connections} "
            f"| {r['rps']:,.0f} ({r['min']:,.0f}-{r['max']:,.0f}) | {r['p50']:.1f} | {r['p99']:.1f} "
            f"| {r['errors']:.0f} | {r['server_us']:.0f} | {r['client_us']:.0f} |"
        )
    encrypt = rps_of("OpenKMS Encrypt")
    aws_encrypt = rps_of("OpenKMS AWS Encrypt")
    lines += [
        "",
        "| ratio | value | target |",
        "|---|---|---|",
        f"| OpenKMS Encrypt 4 KB / bare endpoint | {encrypt / rps_of('bare endpoint Encrypt'):.2f} | ≥ 0.80 |",
        f"| OpenKMS Encrypt 4 KB / moto | {encrypt / rps_of('moto Encrypt'):.1f} | ≥ 10 |",
        f"| OpenKMS AWS Encrypt 4 KB / Tencent Encrypt 4 KB | {aws_encrypt / encrypt:.2f} | ≈ 1 |",
        f"| OpenKMS AWS Encrypt 4 KB / moto | {aws_encrypt / rps_of('moto Encrypt'):.1f} | reported |",
        f"| OpenKMS Decrypt / Encrypt | {rps_of('OpenKMS Decrypt') / encrypt:.2f} | ≈ 1 |",
        f"| GenerateDataKey / Encrypt | {rps_of('OpenKMS GenerateDataKey', 'AES') / encrypt:.2f} | ≥ 0.80 |",
        f"| Encrypt random keys / one key | {rps_of('OpenKMS Encrypt, random keys', '4 KB,') / encrypt:.2f} | ≥ 0.80 |",
        f"| Encrypt random keys, cold cache / one key "
        f"| {rps_of('OpenKMS Encrypt, random keys, cold cache', '4 KB,') / encrypt:.2f} | reported |",
        f"| {args.workers} workers / 1 worker | {encrypt / rps_of('OpenKMS Encrypt, 1 worker'):.2f} | ≥ 1.7 |",
        f"| CreateKey (durable) requests/s | {rps_of('OpenKMS CreateKey (durable)', '-'):,.0f} | ≥ 1,000 |",
        f"| OpenKMS resident memory, {args.keys:,} keys preloaded ({args.workers} workers): RSS; PSS "
        f"| {peak_memory[0] / 2**20:,.0f} MiB; {peak_memory[1] / 2**20:,.0f} MiB | reported |",
        "",
    ]
    if args.baseline:
        before = f"openkms@{args.baseline}"
        creates = rps_of("OpenKMS CreateKey (durable)", "-") / rps_of(f"{before} CreateKey (durable)", "-")
        lines[-1:-1] = [
            f"| Encrypt 4 KB / {before} | {encrypt / rps_of(f'{before} Encrypt'):.2f} | no regression beyond noise |",
            f"| CreateKey / {before} | {creates:.2f} | no regression beyond noise |",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
