"""The `openkms` command: serve the API, and administer credentials, policies and the audit log."""

import argparse
import os
import sys

from openkms.admin.backup import BackupError
from openkms.admin.seed import SeedError
from openkms.audit.head import AuditIntegrityError
from openkms.cli import audit, backup, credentials, envelope, init, master_key, serve, whitebox
from openkms.config.values import DataFolderError
from openkms.domain.errors import KmsError
from openkms.store.sqlite import StoreDamaged
from openkms.trust.base import RootOfTrustError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openkms", description="A self-hosted KMS speaking Tencent Cloud KMS API 3.0")
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_parser(commands)
    init.add_parser(commands)
    credentials.add_parsers(commands)
    audit.add_parser(commands)
    envelope.add_parsers(commands)
    backup.add_parsers(commands)
    master_key.add_parser(commands)
    whitebox.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.umask(0o077)  # the database, its journal and every file written here are the owner's alone
    try:
        code: int = args.run(args)
        return code
    except (
        KmsError,
        ValueError,
        SeedError,
        BackupError,
        RootOfTrustError,
        AuditIntegrityError,
        StoreDamaged,
        DataFolderError,
    ) as exc:
        print(f"openkms: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
