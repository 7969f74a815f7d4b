"""`openkms backup` and `openkms restore`."""

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from openkms.cli.common import add_data_dir, config_of


def add_parsers(commands: Any) -> None:
    backup = commands.add_parser("backup", help="write an encrypted, consistent backup of the store (server may run)")
    add_data_dir(backup)
    backup.add_argument("file", type=Path, metavar="FILE")
    backup.add_argument(
        "--backup-key",
        type=Path,
        metavar="KEYFILE",
        help="encrypt under this 32-byte key file instead of the root of trust",
    )
    backup.set_defaults(run=run_backup)
    restore = commands.add_parser("restore", help="restore a backup into an empty data folder or database")
    add_data_dir(restore)
    restore.add_argument("file", type=Path, metavar="FILE")
    restore.add_argument("--backup-key", type=Path, metavar="KEYFILE", help="the key file the backup was made with")
    restore.set_defaults(run=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    from openkms.admin.backup import backup, read_backup_key
    from openkms.server.runtime import build_runtime

    key = read_backup_key(args.backup_key) if args.backup_key else None
    runtime = build_runtime(config_of(args))
    fd, temporary = tempfile.mkstemp(prefix=f".{args.file.name}.", dir=args.file.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as target:
            summary = backup(runtime.store, runtime.trust, target, key)
            target.flush()
            os.fsync(target.fileno())
        os.replace(temporary, args.file)
    except BaseException:
        os.unlink(temporary)
        raise
    finally:
        runtime.close()
    counts = ", ".join(f"{n} {t}" for t, n in summary.rows.items())
    print(f"Backed up to {args.file}: {counts}.")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    from openkms.admin.backup import BackupError, read_backup_key, restore
    from openkms.envelope.format import EnvelopeError
    from openkms.server.runtime import build_runtime

    key = read_backup_key(args.backup_key) if args.backup_key else None
    runtime = build_runtime(config_of(args, create=True))
    try:
        with args.file.open("rb") as source:
            summary = restore(runtime.store, runtime.trust, source, key)
    except (BackupError, EnvelopeError) as exc:
        print(f"openkms: {exc}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    counts = ", ".join(f"{n} {t}" for t, n in summary.rows.items())
    print(f"Restored {args.file}: {counts}.")
    return 0
