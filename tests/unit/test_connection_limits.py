"""The default connection limit follows the open-file limit, and a small one still serves."""

import pytest

from openkms.api import connections


@pytest.mark.parametrize(("open_files", "expected"), [(256, 128), (1024, 768), (1 << 20, (1 << 20) - 256)])
def test_by_default_a_process_takes_what_its_open_file_limit_allows(
    monkeypatch: pytest.MonkeyPatch, open_files: int, expected: int
) -> None:
    monkeypatch.setattr(connections, "raise_open_file_limit", lambda: open_files)
    assert connections.limits_for(0, 64, 10.0, 1, ()).max_connections == expected


def test_a_configured_total_is_shared_by_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections, "raise_open_file_limit", lambda: 1 << 20)
    assert connections.limits_for(1000, 64, 10.0, 4, ()).max_connections == 250
