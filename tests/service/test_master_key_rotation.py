"""An interrupted master-key rotation resumes where it stopped, and nothing stops opening meanwhile."""

import pytest

from openkms.admin.master_key import rotate
from openkms.domain.models import Caller
from openkms.server.runtime import Runtime, open_audit_log
from openkms.trust.bindings import WRAPPED_COLUMNS
from openkms.trust.keyfile import NEXT_FILE, wrapped_by

CALLER = Caller("100000000001", "ap-guangzhou")


class Interrupted(Exception):
    pass


def test_rotation_resumes_after_an_interruption(runtime: Runtime) -> None:
    blobs = []
    for i in range(10):
        key = runtime.keys.create(CALLER, f"r{i}")
        blobs.append((key.key_id, runtime.crypto.encrypt(CALLER, key.key_id, f"m{i}".encode()).blob))
    runtime.credentials.create("100000000001")
    audit = open_audit_log(runtime)
    old_id = runtime.trust.key_id

    def stop_halfway(done: int, total: int) -> None:
        if done == total // 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        rotate(runtime.config.data_dir, runtime.store, runtime.trust, audit, stop_halfway)
    assert (runtime.config.data_dir / NEXT_FILE).exists(), "the new key is kept for the next attempt"
    runtime.ring.cache.forget(None)
    for _, blob in blobs:
        runtime.crypto.decrypt(CALLER, blob)  # half old, half new: all open

    counted: list[int] = []
    _, new_id, rewrapped = rotate(
        runtime.config.data_dir, runtime.store, runtime.trust, audit, lambda done, total: counted.append(total)
    )
    assert 0 < rewrapped < 21 and counted[0] == rewrapped, "only what was left is rewrapped"
    assert new_id != old_id and runtime.trust.key_id == new_id
    for wrapped in WRAPPED_COLUMNS:
        assert all(wrapped_by(value) == new_id for _, _, value in runtime.store.wrapped_values(wrapped))
    runtime.ring.cache.forget(None)
    for i, (_, blob) in enumerate(blobs):
        assert runtime.crypto.decrypt(CALLER, blob).plaintext == f"m{i}".encode()
    audit.close()
