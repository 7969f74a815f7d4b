"""Hosted data keys are destroyed when their deletion window passes (injected clock)."""

import pytest

from openkms.domain.clock import FixedClock
from openkms.domain.errors import DataKeyNotFound
from openkms.domain.limits import SECONDS_PER_DAY
from openkms.domain.models import Caller
from openkms.server.runtime import Runtime

CALLER = Caller("100000000001", "ap-guangzhou")


def test_data_key_deletion_window(runtime: Runtime, clock: FixedClock) -> None:
    key = runtime.keys.create(CALLER, "cmk")
    record, _ = runtime.data_keys.generate(CALLER, key.key_id, "AES_256", None, None, "doomed")
    runtime.data_keys.schedule_deletion(CALLER, record.data_key_id, 7)
    clock.advance(7 * SECONDS_PER_DAY - 1)
    assert runtime.maintenance.run_once() == {}
    clock.advance(1)
    assert runtime.maintenance.run_once() == {"hosted data keys destroyed after their deletion window": 1}
    with pytest.raises(DataKeyNotFound):
        runtime.data_keys.describe(CALLER, record.data_key_id)
    assert runtime.data_keys.generate(CALLER, key.key_id, "AES_256", None, None, "doomed")[0].name == "doomed"
