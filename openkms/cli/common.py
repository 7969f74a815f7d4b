"""What the openkms subcommands share."""

import argparse
import os
import sys
from pathlib import Path

from openkms.config.settings import PASSWORD_ON_COMMAND_LINE, has_password
from openkms.config.values import DEFAULT_DATA_DIR, Config, DataFolderError


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """--data-dir and --store, as `openkms serve` takes them, for the commands that open the store."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"folder holding the master key and the database (default: $OPENKMS_DATA_DIR or {DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--store",
        default=os.environ.get("OPENKMS_STORE", ""),
        help="PostgreSQL URL of the store (default: $OPENKMS_STORE, else SQLite in the data folder)",
    )
    parser.add_argument("--trust", choices=["keyfile", "pkcs11"], default=os.environ.get("OPENKMS_TRUST", "keyfile"))
    parser.add_argument("--pkcs11-module", default=os.environ.get("OPENKMS_PKCS11_MODULE", ""))
    parser.add_argument("--pkcs11-token", default=os.environ.get("OPENKMS_PKCS11_TOKEN", ""))
    parser.add_argument("--pkcs11-pin-file", default=os.environ.get("OPENKMS_PKCS11_PIN_FILE", ""))


def config_of(args: argparse.Namespace, create: bool = False) -> Config:
    """The configuration a command runs with. Only `serve`, `init` and `restore` (`create`) may make a
    data folder: any other command on a folder that does not exist (a typo) is refused, instead of
    minting a master key and a database there."""
    if not create and not args.data_dir.is_dir():
        raise DataFolderError(
            f"there is no OpenKMS data folder at {args.data_dir.resolve()}: check --data-dir (or $OPENKMS_DATA_DIR); "
            "`openkms init` or `openkms serve` makes one"
        )
    if args.store and args.store != os.environ.get("OPENKMS_STORE") and has_password(args.store):
        print(f"openkms: warning: {PASSWORD_ON_COMMAND_LINE}", file=sys.stderr)
    return Config(
        data_dir=args.data_dir.resolve(),
        store=args.store,
        trust=args.trust,
        pkcs11_module=args.pkcs11_module,
        pkcs11_token=args.pkcs11_token,
        pkcs11_pin_file=args.pkcs11_pin_file,
    )
