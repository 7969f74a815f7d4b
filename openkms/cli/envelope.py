"""`openkms encrypt` and `openkms decrypt`: envelope encryption of files and streams against a KMS.

Exit codes: 0 done; 2 bad usage or configuration; 3 KMS refused (unknown or disabled key, no
permission, unreachable); 4 the file's EncryptionContext is not the expected one; 5 the file is
truncated; 6 the file is not an envelope, or was altered.
"""

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from openkms.config.values import DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_PORT, DEFAULT_REGION, FIRST_CREDENTIAL_FILE

EXIT_KMS, EXIT_CONTEXT, EXIT_TRUNCATED, EXIT_TAMPERED = 3, 4, 5, 6


def _client_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint",
        default=os.environ.get("OPENKMS_ENDPOINT", f"{DEFAULT_HOST}:{DEFAULT_PORT}"),
        help="KMS HOST:PORT (default $OPENKMS_ENDPOINT or 127.0.0.1:8300)",
    )
    parser.add_argument(
        "--credentials",
        type=Path,
        help="JSON file with SecretId and SecretKey (default: $TENCENTCLOUD_SECRET_ID and "
        f"$TENCENTCLOUD_SECRET_KEY, else {DEFAULT_DATA_DIR / FIRST_CREDENTIAL_FILE})",
    )
    parser.add_argument("--region", default=os.environ.get("TENCENTCLOUD_REGION", DEFAULT_REGION))
    parser.add_argument("--ca", type=Path, help="use HTTPS, trusting this CA bundle (PEM)")
    parser.add_argument("--in", dest="source", default="-", help="input file (default: standard input)")
    parser.add_argument("--out", dest="target", default="-", help="output file (default: standard output)")
    parser.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="EncryptionContext entry; repeat for several",
    )


def add_parsers(commands: Any) -> None:
    encrypt = commands.add_parser("encrypt", help="envelope-encrypt a file or stream with a data key from KMS")
    encrypt.add_argument("--key-id", required=True, help="the CMK that protects the data key")
    encrypt.add_argument("--chunk-size", type=int, default=64 * 1024, help="bytes per authenticated chunk")
    _client_options(encrypt)
    encrypt.set_defaults(run=run_encrypt)
    decrypt = commands.add_parser("decrypt", help="decrypt an envelope file or stream (the file names its key)")
    _client_options(decrypt)
    decrypt.set_defaults(run=run_decrypt)


def _kms_client(args: argparse.Namespace) -> Any:
    from tencentcloud.common import credential
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile
    from tencentcloud.kms.v20190118 import kms_client

    if args.credentials:
        secret = json.loads(args.credentials.read_text())
    elif os.environ.get("TENCENTCLOUD_SECRET_ID"):
        secret = {"SecretId": os.environ["TENCENTCLOUD_SECRET_ID"], "SecretKey": os.environ["TENCENTCLOUD_SECRET_KEY"]}
    else:
        secret = json.loads((DEFAULT_DATA_DIR / FIRST_CREDENTIAL_FILE).read_text())
    http = HttpProfile(endpoint=args.endpoint, protocol="https" if args.ca else "http")
    if args.ca:
        http.certification = str(args.ca)
    cred = credential.Credential(secret["SecretId"], secret["SecretKey"])
    return kms_client.KmsClient(cred, args.region, ClientProfile(httpProfile=http))


def _context(entries: list[str]) -> dict[str, str]:
    context = {}
    for entry in entries:
        key, separator, value = entry.partition("=")
        if not separator or not key:
            raise ValueError(f"--context {entry!r}: expected KEY=VALUE")
        context[key] = value
    return context


class _Progress:
    """A reader that shows how far it got on a terminal, for inputs of known size."""

    def __init__(self, source: BinaryIO, total: int, label: str) -> None:
        self._source, self._total, self._label = source, total, label
        self._done, self._shown = 0, -1
        self._visible = total > 0 and sys.stderr.isatty()

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._done += len(data)
        if self._visible:
            percent = self._done * 100 // self._total
            if percent != self._shown:
                self._shown = percent
                sys.stderr.write(f"\r{self._label} {percent:3d}%")
                if percent == 100:
                    sys.stderr.write("\n")
                sys.stderr.flush()
        return data


@contextmanager
def _opened(source: str, target: str) -> Iterator[tuple[BinaryIO, BinaryIO, int]]:
    """Input and output; a file output is written beside its final name and moved there only on success."""
    reader = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115
    size = 0 if source == "-" else os.fstat(reader.fileno()).st_size
    if target == "-":
        try:
            yield reader, sys.stdout.buffer, size
        finally:
            sys.stdout.buffer.flush()
            if reader is not sys.stdin.buffer:
                reader.close()
        return
    final = Path(target)
    fd, temporary = tempfile.mkstemp(prefix=f".{final.name}.", dir=final.parent or Path("."))
    writer = os.fdopen(fd, "wb")
    try:
        yield reader, writer, size
        writer.flush()
        os.fsync(writer.fileno())
        writer.close()
        os.replace(temporary, final)
    except BaseException:
        writer.close()
        os.unlink(temporary)
        raise
    finally:
        if reader is not sys.stdin.buffer:
            reader.close()


def _failed(error: Exception) -> int:
    from openkms.envelope.client import ContextMismatch, KmsRefused
    from openkms.envelope.format import Truncated

    print(f"openkms: {error}", file=sys.stderr)
    if isinstance(error, KmsRefused):
        return EXIT_KMS
    if isinstance(error, ContextMismatch):
        return EXIT_CONTEXT
    if isinstance(error, Truncated):
        return EXIT_TRUNCATED
    return EXIT_TAMPERED


def run_encrypt(args: argparse.Namespace) -> int:
    from openkms.envelope.client import Envelope
    from openkms.envelope.format import EnvelopeError

    envelope = Envelope(_kms_client(args), args.key_id, _context(args.context), args.chunk_size)
    try:
        with _opened(args.source, args.target) as (reader, writer, size):
            envelope.encrypt_stream(_Progress(reader, size, "encrypting"), writer, size)
    except EnvelopeError as error:
        return _failed(error)
    return 0


def run_decrypt(args: argparse.Namespace) -> int:
    from openkms.envelope.client import Envelope
    from openkms.envelope.format import EnvelopeError

    expected = _context(args.context) if args.context else None
    try:
        with _opened(args.source, args.target) as (reader, writer, size):
            Envelope.decrypt_stream(_kms_client(args), _Progress(reader, size, "decrypting"), writer, expected)
    except EnvelopeError as error:
        return _failed(error)
    return 0
