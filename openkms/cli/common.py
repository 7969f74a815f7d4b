"""What the openkms subcommands share."""

import argparse
import os
from pathlib import Path

from openkms.config import DEFAULT_DATA_DIR, Config


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


def config_of(args: argparse.Namespace) -> Config:
    return Config(data_dir=args.data_dir.resolve(), store=args.store)
