"""`openkms init`: make a data folder (master key, database, first credential) without serving."""

import argparse
from typing import Any

from openkms.cli.common import add_data_dir, config_of
from openkms.config.values import DEFAULT_ACCOUNT


def add_parser(commands: Any) -> None:
    init = commands.add_parser("init", help="make a data folder: a master key, the database and a first credential")
    add_data_dir(init)
    init.add_argument(
        "--account", default=DEFAULT_ACCOUNT, help=f"account (UIN) of the first credential ({DEFAULT_ACCOUNT})"
    )
    init.set_defaults(run=run_init)


def run_init(args: argparse.Namespace) -> int:
    import dataclasses

    from openkms.server.runtime import build_runtime, ensure_first_credential

    config = dataclasses.replace(config_of(args, create=True), account=args.account)
    runtime = build_runtime(config)
    try:
        made = ensure_first_credential(runtime)
    finally:
        runtime.close()
    if made:
        print(f"Initialised {config.data_dir}; the first credential is in {config.first_credential_path} (mode 0600).")
    else:
        print(f"{config.data_dir} is initialised already; nothing changed.")
    return 0
