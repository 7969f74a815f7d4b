"""The audit log's own promises, checked on the log itself."""

from openkms.app import Runtime, open_audit_log

SQLITE_SYNCHRONOUS_FULL = 2


def test_every_audit_commit_reaches_the_disk(runtime: Runtime) -> None:
    """Fail-closed answers a request only after its event is durable: a commit must be fsync'd."""
    log = open_audit_log(runtime)
    try:
        with log._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == SQLITE_SYNCHRONOUS_FULL
    finally:
        log.close()
