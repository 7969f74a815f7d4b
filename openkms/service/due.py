"""Destruction a read finds due: a key past its deletion date, imported material past its ValidTo, a
hosted data key past its deletion date. The read answers at once as if the destruction were done;
the destruction itself is done right there where reads may write (a command, a test), and handed to a
worker thread by a server, whose hot-path reads run on its event loop and must not wait on the disk.
The maintenance sweep destroys whatever no read came across."""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor

log = logging.getLogger("openkms.keys")


class DueWork:
    def __init__(self) -> None:
        self._executor: Executor | None = None
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def hand_to(self, executor: Executor | None) -> None:
        """From now on, run due work on `executor` (None: where it is found)."""
        self._executor = executor

    def do(self, record_id: str, work: Callable[[], object]) -> None:
        """Destroy what is due for `record_id`; once, however many reads find it before it is done."""
        executor = self._executor
        if executor is None:
            work()
            return
        with self._lock:
            if record_id in self._pending:
                return
            self._pending.add(record_id)

        def run() -> None:
            try:
                work()
            except Exception:  # the sweep will try again; the record already reads as destroyed
                log.exception("destroying %s, found due by a read, failed", record_id)
            finally:
                with self._lock:
                    self._pending.discard(record_id)

        executor.submit(run)
