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
    migrate = verbs.add_parser(
        "migrate", help="rewrap everything the master key file wrapped under the HSM, then retire the file"
    )
    add_data_dir(migrate)
    migrate.add_argument("--to", choices=["pkcs11"], required=True)
    migrate.set_defaults(run=run_migrate)


def run_rotate(args: argparse.Namespace) -> int:
    from openkms.admin.master_key import rotate
    from openkms.server.runtime import build_runtime, open_audit_log

    runtime = build_runtime(config_of(args))
    audit = open_audit_log(runtime)
    try:
        old_id, new_id, count = rotate(runtime.config.data_dir, runtime.store, runtime.trust, audit)
    finally:
        audit.close()
        runtime.close()
    print(f"Master key {old_id} retired; {count} secrets now wrapped under {new_id}.")
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    from openkms.admin.master_key import migrate_to_hsm
    from openkms.server.runtime import build_runtime, open_audit_log

    config = config_of(args)
    if config.trust != "pkcs11":
        raise ValueError(
            "give the HSM with --trust pkcs11 --pkcs11-module ... --pkcs11-token ... --pkcs11-pin-file ..."
        )
    runtime = build_runtime(config)
    audit = open_audit_log(runtime)
    try:
        old_id, count = migrate_to_hsm(runtime.config.data_dir, runtime.store, runtime.trust, audit)
    finally:
        audit.close()
        runtime.close()
    print(f"{count} secrets now wrapped by the HSM; master key file {old_id} retired.")
    return 0
