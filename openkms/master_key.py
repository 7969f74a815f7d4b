"""Master-key rotation (key-file root of trust): every wrapped secret rewrapped under a new master key,
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
from typing import TYPE_CHECKING

from openkms import bindings
from openkms.trust.keyfile import NEXT_FILE, PRIMARY_FILE, MasterKeyFile, wrapped_by

if TYPE_CHECKING:
    from openkms.app import Runtime
    from openkms.audit.log import AuditLog

Progress = Callable[[int, int], None]


def terminal_progress(done: int, total: int) -> None:
    if sys.stderr.isatty() and total:
        sys.stderr.write(f"\rrewrapping {done}/{total} ({done * 100 // total}%)")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def rotate(runtime: "Runtime", audit: "AuditLog", progress: Progress = terminal_progress) -> tuple[str, str, int]:
    """Returns (old master key id, new master key id, secrets rewrapped)."""
    directory = runtime.config.data_dir
    next_path = directory / NEXT_FILE
    target = MasterKeyFile.load(next_path) if next_path.exists() else MasterKeyFile.create(next_path)
    trust = runtime.trust
    reload = getattr(trust, "reload", None)
    if reload is None:
        raise ValueError("master-key rotation is for the key-file root of trust")
    reload()
    old_id = trust.key_id
    work = []
    for table, column, binding in bindings.WRAPPED_COLUMNS:
        for key, value in runtime.store.wrapped_values(table, column):
            if wrapped_by(value) != target.key_id:
                work.append((table, column, binding, key, value))
    progress(0, len(work))
    rewrapped = 0
    for done, (table, column, binding, key, value) in enumerate(work, 1):
        bound = binding(key)
        if runtime.store.replace_wrapped(table, column, key, value, target.wrap(trust.unwrap(value, bound), bound)):
            rewrapped += 1
        progress(done, len(work))
    audit.rewrap_chain_key(trust.unwrap, target.wrap)
    _promote(directory, old_id)
    reload()
    return old_id, target.key_id, rewrapped


def _promote(directory: Path, old_id: str) -> None:
    os.replace(directory / PRIMARY_FILE, directory / f"master-retired-{old_id}.key")
    os.replace(directory / NEXT_FILE, directory / PRIMARY_FILE)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
