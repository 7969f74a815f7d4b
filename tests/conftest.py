from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverproc import Server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server shared by the tests that only need a running KMS."""
    running = Server(
        tmp_path_factory.mktemp("shared") / "data", ("--region", "ap-guangzhou", "--region", "ap-shanghai")
    )
    running.start()
    yield running
    running.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of the test's own, on its own data folder, for tests that stop or kill it."""
    running = Server(tmp_path / "data")
    running.start()
    yield running
    if running.process is not None:
        running.stop()
