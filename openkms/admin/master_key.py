"""Master-key rotation and migration to an HSM: every wrapped secret rewrapped under a new master key,
online, resumable, with no ciphertext invalidated.

1. A new key is written as `master.key.next` (or the one an interrupted rotation left is reused).
2. Every wrapped secret (key versions, imported-material digests, credential secrets, the audit log's
   chain key) not yet under the new key is unwrapped and wrapped again, each row compare-and-set, so
   a server writing at the same time loses nothing; servers read `master.key.next` when they meet a
   blob wrapped by it.
3. `master.key` becomes `master-retired-<id>.key` and `master.key.next` becomes `master.key`. Running
   servers switch to it at their next maintenance run; anything they wrapped with the old key until
   then still opens (retired keys keep unwrapping) and the next rotation rewraps it.
"""

import os
import sys
from collections.abc import Callable
from pathlib import Path

from openkms.audit.log import AuditLog
from openkms.store.base import KeyStore
from openkms.trust import bindings
from openkms.trust.base import RootOfTrust
from openkms.trust.composite import MigratingRootOfTrust
from openkms.trust.keyfile import NEXT_FILE, PRIMARY_FILE, WRAP_FORMAT_V1, MasterKeyFile, wrapped_by

Progress = Callable[[int, int], None]


def terminal_progress(done: int, total: int) -> None:
    if sys.stderr.isatty() and total:
        sys.stderr.write(f"\rrewrapping {done}/{total} ({done * 100 // total}%)")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def rotate(
    directory: Path, store: KeyStore, trust: RootOfTrust, audit: AuditLog, progress: Progress = terminal_progress
) -> tuple[str, str, int]:
    """Returns (old master key id, new master key id, secrets rewrapped)."""
    next_path = directory / NEXT_FILE
    target = MasterKeyFile.load(next_path) if next_path.exists() else MasterKeyFile.create(next_path)
    reload = getattr(trust, "reload", None)
    if reload is None:
        raise ValueError("master-key rotate is for the key-file root of trust; an HSM rotates its own keys")
    reload()
    old_id = trust.key_id
    count = rewrap_all(store, audit, trust, target, lambda blob: wrapped_by(blob) == target.key_id, progress)
    _promote(directory, old_id)
    reload()
    return old_id, target.key_id, count


def migrate_to_hsm(
    directory: Path, store: KeyStore, trust: RootOfTrust, audit: AuditLog, progress: Progress = terminal_progress
) -> tuple[str, int]:
    """Rewrap everything the key file wrapped under the HSM (servers run with --trust pkcs11 meanwhile,
    reading both), then retire the key file. Returns (the key file's id, secrets rewrapped)."""
    if not isinstance(trust, MigratingRootOfTrust):
        raise ValueError("migrate needs --trust pkcs11 with the data folder's master.key still present")
    old_id = trust.legacy.key_id
    count = rewrap_all(store, audit, trust, trust.primary, lambda blob: blob[:1] != bytes([WRAP_FORMAT_V1]), progress)
    os.replace(directory / PRIMARY_FILE, directory / f"master-retired-{old_id}.key")
    return old_id, count


def rewrap_all(
    store: KeyStore,
    audit: AuditLog,
    source: RootOfTrust,
    target: RootOfTrust,
    done_already: Callable[[bytes], bool],
    progress: Progress,
) -> int:
    """Every wrapped secret not yet under `target`, unwrapped by `source` and wrapped by `target`,
    each row compare-and-set; then the audit log's chain key. Returns how many rows were rewrapped."""
    work = []
    for wrapped in bindings.WRAPPED_COLUMNS:
        for key, row, value in store.wrapped_values(wrapped):
            if not done_already(value):
                work.append((wrapped.table, wrapped.column, wrapped.binding(row), key, value))
    progress(0, len(work))
    rewrapped = 0
    for done, (table, column, bound, key, value) in enumerate(work, 1):
        if store.replace_wrapped(table, column, key, value, target.wrap(source.unwrap(value, bound), bound)):
            rewrapped += 1
        progress(done, len(work))
    audit.rewrap_chain_key(source.unwrap, target.wrap)
    return rewrapped


def _promote(directory: Path, old_id: str) -> None:
    os.replace(directory / PRIMARY_FILE, directory / f"master-retired-{old_id}.key")
    os.replace(directory / NEXT_FILE, directory / PRIMARY_FILE)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
