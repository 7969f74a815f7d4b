"""`openkms master-key rotate`."""

import argparse
from typing import Any

from openkms.cli.common import add_data_dir, config_of


def add_parser(commands: Any) -> None:
    master_key = commands.add_parser("master-key", help="rotate the master key (key-file root of trust)")
    verbs = master_key.add_subparsers(dest="master_key_command", required=True)
    rotate = verbs.add_parser("rotate", help="rewrap every key under a new master key, online and resumable")
    add_data_dir(rotate)
    rotate.set_defaults(run=run_rotate)


def run_rotate(args: argparse.Namespace) -> int:
    from openkms.app import build_runtime, open_audit_log
    from openkms.master_key import rotate

    runtime = build_runtime(config_of(args))
    audit = open_audit_log(runtime)
    try:
        old_id, new_id, count = rotate(runtime, audit)
    finally:
        audit.close()
        runtime.close()
    print(f"Master key {old_id} retired; {count} secrets now wrapped under {new_id}.")
    return 0
