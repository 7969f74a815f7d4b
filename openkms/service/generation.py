"""Generating keys takes whole CPU-seconds (RSA, white-box tables): a process does a bounded number
at a time, so the rest of its cores stay for other requests; a request that waits too long for its
turn is told to retry (TooBusy), not queued without end."""

import threading
from collections.abc import Callable
from typing import TypeVar

from openkms.domain.errors import TooBusy

T = TypeVar("T")


class Generations:
    def __init__(self, at_once: int, wait_seconds: float, busy_message: str) -> None:
        self.slots = threading.BoundedSemaphore(at_once)
        self.wait_seconds = wait_seconds
        self._busy_message = busy_message

    def run(self, generate: Callable[[], T]) -> T:
        if not self.slots.acquire(timeout=self.wait_seconds):
            raise TooBusy(self._busy_message)
        try:
            return generate()
        finally:
            self.slots.release()
