"""OpenKMS at a fixed request rate for a long run: p50, p99 and the longest stall, beside a shorter run
and beside the bare endpoint (the machine's floor) at the same rate, interleaved.

A closed-loop load (wrk as fast as it can) hides stalls: while the server stalls, nothing is sent.
Here each wrk thread sends on a schedule (bench/fixed_rate.lua), so a stall shows as latency.

    .venv/bin/python bench/steady_rate.py                 # 3,000 req/s, 60 s and 40 s, 2 workers
    .venv/bin/python bench/steady_rate.py --rate 2000 --long 90 --short 40 --rounds 2
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from run import BENCH, PYTHON, Server, bare_server, ensure_wrk, free_port, seed_openkms, tc3_env, wait_until_ready


@dataclass
class Run:
    contender: str
    seconds: int
    rps: float
    p50: float
    p99: float
    max: float
    errors: int


def fixed_rate(server: Server, env: dict[str, str], rate: int, seconds: int, connections: int) -> Run:
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(BENCH / "fixed_rate.lua"),
            f"http://127.0.0.1:{server.port}/",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "BENCH_RATE": str(rate), "BENCH_THREADS": "2"},
        check=True,
    )
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("BENCH "))
    values = dict(item.split("=") for item in line.split()[1:])
    rps = float(next(ln for ln in result.stdout.splitlines() if ln.startswith("Requests/sec:")).split()[1])
    return Run(
        server.name,
        seconds,
        rps,
        float(values["p50_ms"]),
        float(values["p99_ms"]),
        float(values["max_ms"]),
        int(values["errors"]),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=3000, help="requests per second offered")
    parser.add_argument("--long", type=int, default=60, help="seconds of the long run")
    parser.add_argument("--short", type=int, default=40, help="seconds of the short run it is compared with")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    ensure_wrk()
    work = Path(tempfile.mkdtemp(prefix="openkms-steady-"))
    seeded = seed_openkms(work / "data", 0, work)
    openkms = Server(
        "openkms",
        [
            PYTHON,
            "-m",
            "openkms.cli.main",
            "serve",
            "--data-dir",
            str(work / "data"),
            "--rate-limit",
            "off",
            "--log-level",
            "warning",
            "--port",
            str(port := free_port()),
            "--workers",
            str(args.workers),
        ],
        port,
    )
    bare = bare_server(str(seeded["secret_key"]), args.workers)
    runs: list[Run] = []
    try:
        for server in (openkms, bare):
            server.start(work)
        wait_until_ready(openkms.port, args.workers)
        time.sleep(1.0)

        def env(server: Server) -> dict[str, str]:
            return tc3_env(seeded, server, "Encrypt", BENCH_BODIES=str(seeded["encrypt_4k"]))

        for _ in range(args.rounds):
            for seconds in (args.long, args.short):
                for server in (openkms, bare):
                    run = fixed_rate(server, env(server), args.rate, seconds, args.connections)
                    print(f"  {run.contender} {seconds} s: p99 {run.p99:.1f} ms, max {run.max:.0f} ms", flush=True)
                    runs.append(run)
    finally:
        for server in (openkms, bare):
            server.stop()
    print(render(runs, args))
    return 0


def render(runs: list[Run], args: argparse.Namespace) -> str:
    lines = [
        f"Encrypt 4 KB at {args.rate:,} req/s offered, {args.workers} workers, {args.connections} connections",
        "",
        "| contender | run | req/s | p50 ms | p99 ms | longest ms | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        lines.append(
            f"| {run.contender} | {run.seconds} s | {run.rps:,.0f} | {run.p50:.1f} | {run.p99:.1f} | {run.max:.0f} |"
            f" {run.errors} |"
        )

    def worst(contender: str, seconds: int) -> float:
        return max(r.p99 for r in runs if r.contender == contender and r.seconds == seconds)

    lines += [
        "",
        f"p99 of the {args.long} s run / the {args.short} s run: "
        f"OpenKMS {worst('openkms', args.long) / worst('openkms', args.short):.2f}, "
        f"bare {worst('bare', args.long) / worst('bare', args.short):.2f}; "
        f"OpenKMS / bare over {args.long} s: {worst('openkms', args.long) / worst('bare', args.long):.2f}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
