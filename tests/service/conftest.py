from collections.abc import Iterator
from pathlib import Path

import pytest

from openkms.config.values import Config
from openkms.domain.clock import FixedClock
from openkms.server.runtime import Runtime, build_runtime

START = 1_800_000_000.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    """The real services on a real SQLite store and master key file, with a clock the test moves."""
    built = build_runtime(Config(data_dir=tmp_path / "data"), clock)
    yield built
    built.close()
