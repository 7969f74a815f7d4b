"""What the openkms subcommands share."""

import argparse
from pathlib import Path

from openkms.config import DEFAULT_DATA_DIR


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"folder holding the master key and the database (default: $OPENKMS_DATA_DIR or {DEFAULT_DATA_DIR})",
    )
