"""`openkms whitebox encrypt|decrypt`: a white-box key's tables applied to a file or stream, offline.

The key file holds an EncryptKey (to encrypt) or a DecryptKey (to decrypt) as KMS returns it, Base64
text, or the tables' raw bytes. The mode is CBC with PKCS#7 padding, as EncryptByWhiteBox's.
"""

import argparse
import base64
import binascii
import sys
from pathlib import Path
from typing import Any

from openkms import whitebox


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("whitebox", help="encrypt or decrypt with a white-box key's tables, offline")
    verbs = parser.add_subparsers(dest="whitebox_command", required=True)
    for verb, run, which in (("encrypt", run_encrypt, "EncryptKey"), ("decrypt", run_decrypt, "DecryptKey")):
        command = verbs.add_parser(verb, help=f"{verb} with a white-box key's {which}")
        command.add_argument("--key-file", type=Path, required=True, help=f"a file holding the key's {which}")
        command.add_argument("--iv", required=True, help="the 16-byte InitializationVector, Base64")
        command.add_argument("--in", dest="source", default="-", help="input file (default: standard input)")
        command.add_argument("--out", dest="target", default="-", help="output file (default: standard output)")
        command.set_defaults(run=run)


def _tables(path: Path) -> bytes:
    raw = path.read_bytes()
    try:
        return base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        return raw  # the tables' own bytes


def _iv(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("--iv must be Base64") from None


def _read(source: str) -> bytes:
    return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()


def _write(target: str, data: bytes) -> None:
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(target).write_bytes(data)


def run_encrypt(args: argparse.Namespace) -> int:
    _write(args.target, whitebox.encrypt(_tables(args.key_file), _iv(args.iv), _read(args.source)))
    return 0


def run_decrypt(args: argparse.Namespace) -> int:
    _write(args.target, whitebox.decrypt(_tables(args.key_file), _iv(args.iv), _read(args.source)))
    return 0
