"""Every audit decision of the pipeline, in one place.

- A fail-closed server whose audit log cannot be written answers nothing (and records nothing: it cannot).
- Every answered request is recorded before its answer is sent; if a fail-closed log cannot record it,
  the answer is withheld and the caller told so.
- Requests that failed before they were authenticated changed nothing and need no credential to send:
  repeats of one kind are counted into one event (audit/repeats.py), so a flood cannot fill the disk.
"""

import time
from collections.abc import Callable
from typing import Protocol

from openkms.api.exchange import Exchange, Outcome, refused
from openkms.audit.events import AuditEvent
from openkms.audit.repeats import RepeatedFailures
from openkms.domain.clock import Clock

AUDIT_DOWN = "UnsupportedOperation.ServiceTemporaryUnavailable"
SUCCESS = "Success"
CLOSED_MESSAGE = "The audit log cannot be written, so this server answers no requests."
UNRECORDED_MESSAGE = "The audit log could not record this request; it may have taken effect. Retry later."


class AuditWriter(Protocol):
    @property
    def fail_closed(self) -> bool: ...

    @property
    def available(self) -> bool: ...

    async def write(self, event: AuditEvent, canonical: bytes) -> bool:
        """Record the event; False if a fail-closed log could not (the answer must then not be sent)."""


Finished = Callable[[AuditEvent, bytes], None]
"""Told of every recorded request: its audit event and that event's canonical JSON."""


class Recorder:
    def __init__(self, audit: AuditWriter, clock: Clock, finished: Finished) -> None:
        self._audit = audit
        self._clock = clock
        self._finished = finished
        self._repeats = RepeatedFailures()

    def closed(self, exchange: Exchange) -> Outcome | None:
        """The refusal of every request while a fail-closed log cannot be written; None while it can."""
        if self._audit.fail_closed and not self._audit.available:
            return refused(exchange, AUDIT_DOWN, CLOSED_MESSAGE)
        return None

    async def record(self, outcome: Outcome, exchange: Exchange) -> Outcome:
        """Record the request; the outcome to send (a refusal instead, if fail-closed and unrecorded)."""
        event = self._event(outcome, exchange)
        if not event.account and not self._repeats.admit(event):
            return outcome  # failed before authentication, changed nothing: counted into one event
        canonical = event.canonical()
        recorded = await self._audit.write(event, canonical)
        self._finished(event, canonical)
        if recorded:
            return outcome
        return Outcome(
            outcome.request_id,
            outcome.action,
            {"Error": {"Code": AUDIT_DOWN, "Message": UNRECORDED_MESSAGE}},
            AUDIT_DOWN,
        )

    async def record_repeated_failures(self, now: float) -> None:
        """Write the counted events of the repeated-failure windows that have closed."""
        for event in self._repeats.close(now):
            canonical = event.canonical()
            await self._audit.write(event, canonical)
            self._finished(event, canonical)

    def _event(self, outcome: Outcome, exchange: Exchange) -> AuditEvent:
        return AuditEvent.of_request(
            time=self._clock.now(),
            request_id=exchange.request_id,
            account=exchange.account,
            secret_id=exchange.secret_id,
            source=exchange.source,
            action=exchange.action,
            key_ids=exchange.key_ids,
            code=outcome.error_code or SUCCESS,
            latency_ms=(time.perf_counter() - exchange.started) * 1000,
        )
