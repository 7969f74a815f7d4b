"""Generating asymmetric keys is bounded per process, so it cannot take every core."""

import pytest

from openkms.app import Runtime
from openkms.errors import TooBusy
from openkms.models import Caller

CALLER = Caller("100000000001", "ap-guangzhou")


def test_a_key_generation_waits_its_turn_and_then_is_told_to_retry(runtime: Runtime) -> None:
    runtime.keys.generation_wait_seconds = 0.05
    with runtime.keys._generating:  # another request is generating a key right now
        with pytest.raises(TooBusy):
            runtime.keys.create(CALLER, "rsa-waiting", usage="ASYMMETRIC_SIGN_VERIFY_RSA_2048")
        runtime.keys.create(CALLER, "symmetric-needs-no-turn")
    runtime.keys.create(CALLER, "rsa-its-turn", usage="ASYMMETRIC_SIGN_VERIFY_RSA_2048")
