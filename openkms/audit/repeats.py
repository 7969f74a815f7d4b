"""Repeated failures recorded as counted events, so that a flood of bad requests cannot fill the disk.

A request that failed before it was authenticated changed nothing, and whoever sends it need not hold
any credential: the first of its kind (source address or IPv6 /64, action, result) in a window is recorded as it
happens, and the rest of that window as one event carrying their count, written when the window
closes. Beyond MAX_KINDS kinds at once (many addresses), further failures share one kind.
"""

from dataclasses import dataclass, replace

from openkms.audit.events import AuditEvent
from openkms.domain.clients import client_group

WINDOW_SECONDS = 10.0
MAX_KINDS = 10_000
MANY_SOURCES = "many-sources"

_Kind = tuple[str, str, str]


@dataclass
class _Window:
    opened: float
    repeats: int = 0
    last: AuditEvent | None = None


class RepeatedFailures:
    def __init__(self, window_seconds: float = WINDOW_SECONDS, max_kinds: int = MAX_KINDS) -> None:
        self._window = window_seconds
        self._max_kinds = max_kinds
        self._open: dict[_Kind, _Window] = {}

    def admit(self, event: AuditEvent) -> bool:
        """True if the event is to be recorded now; False if it was counted into its kind's window."""
        kind = (client_group(event.source), event.action, event.code)
        if kind not in self._open and len(self._open) >= self._max_kinds:
            kind = (MANY_SOURCES, event.action, event.code)
        window = self._open.get(kind)
        # A window that has closed with repeats stays until close() reports it (this event joins it).
        if window is None or (event.time - window.opened >= self._window and not window.repeats):
            self._open[kind] = _Window(event.time)
            return True
        window.repeats += 1
        window.last = event
        return False

    def close(self, now: float) -> list[AuditEvent]:
        """The counted events of every window that has closed by `now`, and forget those windows."""
        closed = [kind for kind, window in self._open.items() if now - window.opened >= self._window]
        events = []
        for kind in closed:
            window = self._open.pop(kind)
            if window.last is not None:
                events.append(replace(window.last, source=kind[0], count=window.repeats))
        return events
