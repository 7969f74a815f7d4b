"""Public randomness (nonces, salts, request ids) comes from a pool of os.urandom blocks: no byte is
handed out twice, not across a refill and not to a forked child."""

import os
import uuid

from openkms.api.exchange import new_request_id
from openkms.crypto.aead import unique_bytes


def test_pool_never_repeats_across_refills() -> None:
    draws = [unique_bytes(28) for _ in range(2000)]  # about 14 refills of the pool
    assert len(set(draws)) == len(draws)
    assert all(len(d) == 28 for d in draws)


def test_a_forked_child_does_not_reuse_the_parents_bytes() -> None:
    unique_bytes(16)  # the parent's pool now holds unread bytes
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write_end, unique_bytes(16))
        os._exit(0)
    os.close(write_end)
    child = os.read(read_end, 16)
    os.waitpid(pid, 0)
    assert child != unique_bytes(16)


def test_request_ids_are_version_4_uuids() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
