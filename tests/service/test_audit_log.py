"""The audit log's own promises, checked on the log itself."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from openkms.config.values import Config
from openkms.server.runtime import Runtime, build_runtime, open_audit_log
from tests import postgres

SQLITE_SYNCHRONOUS_FULL = 2


def test_every_audit_commit_reaches_the_disk(runtime: Runtime) -> None:
    """Fail-closed answers a request only after its event is durable: a commit must be fsync'd."""
    log = open_audit_log(runtime)
    try:
        with log._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == SQLITE_SYNCHRONOUS_FULL
    finally:
        log.close()


def test_servers_starting_together_on_one_postgresql_open_one_audit_log(tmp_path: Path) -> None:
    with postgres.fresh_schema() as url:
        runtime = build_runtime(Config(data_dir=tmp_path / "data", store=url))
        try:
            with ThreadPoolExecutor(6) as pool:
                logs = list(pool.map(lambda _: open_audit_log(runtime), range(6)))
            assert {log.integrity_problem for log in logs} == {None}
            assert len({log._log_id for log in logs}) == 1
            for log in logs:
                log.close()
        finally:
            runtime.close()
