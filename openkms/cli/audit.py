"""`openkms audit`: verify the audit log's chain, and read it."""

import argparse
import contextlib
import datetime
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openkms.audit.events import AuditEvent
from openkms.cli.common import add_data_dir, config_of


def add_parser(commands: Any) -> None:
    audit = commands.add_parser("audit", help="verify and read the audit log")
    verbs = audit.add_subparsers(dest="audit_command", required=True)
    verify = verbs.add_parser("verify", help="check that no event was altered or removed; exit 1 if one was")
    add_data_dir(verify)
    verify.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="also check against the checkpoints in FILE (lines of `openkms audit checkpoint`); repeatable. "
        "DATA_DIR/audit-checkpoints.jsonl is always checked",
    )
    verify.set_defaults(run=verify_log)
    checkpoint = verbs.add_parser(
        "checkpoint", help="print a checkpoint of the log's end (one line) to keep elsewhere and verify against later"
    )
    add_data_dir(checkpoint)
    checkpoint.set_defaults(run=checkpoint_log)
    reanchor = verbs.add_parser(
        "reanchor",
        help="accept the log as it now ends (after losing events or the whole log) so that a fail-closed "
        "server serves again; the loss stays visible against older checkpoints",
    )
    add_data_dir(reanchor)
    reanchor.set_defaults(run=reanchor_log)
    tail = verbs.add_parser("tail", help="print the last events")
    add_data_dir(tail)
    tail.add_argument("-n", type=int, default=20, help="how many (default 20)")
    tail.add_argument("--json", action="store_true", help="one JSON object a line")
    tail.set_defaults(run=tail_log)
    search = verbs.add_parser("search", help="print the events that match every filter given")
    add_data_dir(search)
    search.add_argument("--key-id", help="events touching this key or data key")
    search.add_argument("--account", help="events of this account")
    search.add_argument("--action", help="events of this action, e.g. Decrypt")
    search.add_argument("--code", help="events with this result code, e.g. UnauthorizedOperation or Success")
    search.add_argument("--since", help="from this time (ISO 8601, or Unix seconds)")
    search.add_argument("--until", help="up to this time (ISO 8601, or Unix seconds)")
    search.add_argument("--json", action="store_true", help="one JSON object a line")
    search.set_defaults(run=search_log)


@contextlib.contextmanager
def _opened(args: argparse.Namespace) -> Iterator[tuple[Any, Any]]:
    """The runtime and the audit log of the data folder the command names, closed afterwards."""
    from openkms.server.runtime import build_runtime, open_audit_log

    runtime = build_runtime(config_of(args))
    log = open_audit_log(runtime)
    try:
        yield runtime, log
    finally:
        log.close()
        runtime.close()


def _time(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        moment = datetime.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return moment.timestamp()


def printable(text: str) -> str:
    """`text` with every character that could move the cursor or start a new line escaped, so that no
    field can pass for another line (events written before identifiers were checked included)."""
    return "".join(c if c.isprintable() and c != "\\" else c.encode("unicode_escape").decode() for c in text)


def _print(seq: int, event: AuditEvent, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"seq": seq, **json.loads(event.canonical())}))
        return
    when = datetime.datetime.fromtimestamp(event.time, datetime.UTC).isoformat(timespec="milliseconds")
    keys = ",".join(event.key_ids) or "-"
    line = (
        f"{seq:>8} {when} {event.action:<24} {event.code:<40} account={event.account or '-'} "
        f"secret_id={event.secret_id or '-'} source={event.source or '-'} keys={keys} "
        f"{event.latency_ms:.1f}ms request={event.request_id}"
    )
    print(printable(line))


def verify_log(args: argparse.Namespace) -> int:
    with _opened(args) as (runtime, log):
        files = [runtime.config.audit_checkpoints_path, *args.checkpoint]
        lines = [line for path in files if path.exists() for line in path.read_bytes().splitlines() if line.strip()]
        report = log.verify(lines)
    if report.intact:
        print(
            f"The audit log is intact: {report.events} events, each chained to the one before, ending where its "
            "head and the key store's anchor say."
        )
        return 0
    print(
        f"The audit log was tampered with: {report.problem} (first bad event: {report.first_bad_seq}; "
        f"{report.events} events before it are intact).",
        file=sys.stderr,
    )
    return 1


def checkpoint_log(args: argparse.Namespace) -> int:
    with _opened(args) as (_, log):
        print(log.checkpoint(time.time()).decode())
    return 0


def reanchor_log(args: argparse.Namespace) -> int:
    with _opened(args) as (_, log):
        seq, problem = log.reanchor()
    print(
        f"The audit log is anchored at event {seq}." + (f" It had been refused because {problem}." if problem else "")
    )
    return 0


def tail_log(args: argparse.Namespace) -> int:
    with _opened(args) as (_, log):
        for seq, event in log.events(last=args.n):
            _print(seq, event, args.json)
    return 0


def search_log(args: argparse.Namespace) -> int:
    with _opened(args) as (_, log):
        for seq, event in log.events(since=_time(args.since), until=_time(args.until)):
            if args.key_id and args.key_id not in event.key_ids:
                continue
            if args.account and event.account != args.account:
                continue
            if args.action and event.action != args.action:
                continue
            if args.code and event.code != args.code:
                continue
            _print(seq, event, args.json)
    return 0
