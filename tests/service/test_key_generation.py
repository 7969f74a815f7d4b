"""Generating asymmetric keys is bounded per process, so it cannot take every core."""

import pytest

from openkms.domain.errors import TooBusy
from openkms.domain.models import Caller
from openkms.server.runtime import Runtime

CALLER = Caller("100000000001", "ap-guangzhou")


def test_a_key_generation_waits_its_turn_and_then_is_told_to_retry(runtime: Runtime) -> None:
    runtime.keys.generations.wait_seconds = 0.05
    with runtime.keys.generations.slots:  # another request is generating a key right now
        with pytest.raises(TooBusy):
            runtime.keys.create(CALLER, "rsa-waiting", usage="ASYMMETRIC_SIGN_VERIFY_RSA_2048")
        runtime.keys.create(CALLER, "symmetric-needs-no-turn")
    runtime.keys.create(CALLER, "rsa-its-turn", usage="ASYMMETRIC_SIGN_VERIFY_RSA_2048")


def test_a_data_key_pair_takes_the_same_turns_as_a_key_pair(runtime: Runtime) -> None:
    key_id = runtime.keys.create(CALLER, "wraps-pairs").key_id
    runtime.keys.generations.wait_seconds = 0.05
    with runtime.keys.generations.slots, pytest.raises(TooBusy):  # a CreateKey is generating one now
        runtime.crypto.generate_data_key_pair(CALLER, key_id, "RSA_4096")
    private, public = runtime.crypto.generate_data_key_pair(CALLER, key_id, "ECC_NIST_P256")
    assert private.key_id == key_id and public
