"""What every kind of key KMS keeps goes through, written once for CMKs and hosted data keys alike
(and for any kind that comes next): state changes of one record or a batch, all or none, made
optimistically (read fresh, move each record through its state machine, write if nobody wrote in
between, else decide again); batch describes that leave out what the caller does not have; and
deletion windows. Each kind says only how its records are read, moved and written (`Records`)."""

import abc
import enum
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from openkms.domain.clock import Clock
from openkms.domain.errors import InvalidPendingWindow, KmsError
from openkms.domain.limits import PENDING_WINDOW_MAX_DAYS, PENDING_WINDOW_MIN_DAYS, SECONDS_PER_DAY
from openkms.domain.models import Caller

R = TypeVar("R")
"""A record: Key, DataKey."""
W = TypeVar("W")
"""The store's conditional write of one record: KeyWrite, DataKeyWrite."""
Op = TypeVar("Op", bound=enum.Enum)
"""The kind's operations, as its state machine (service/states.py) names them."""

ATTEMPTS = 8

Plan = Callable[[R, R], W | None]
"""(the stored record, the same record moved to its next state) -> the write to make, or None for none."""


class ConcurrentModification(Exception):
    """A record kept changing under us; an internal fault, not the caller's."""


class Records(abc.ABC, Generic[R, W, Op]):
    """How the lifecycle reaches one kind of record."""

    not_found: type[KmsError]
    """What a record the caller does not have is refused with."""

    @abc.abstractmethod
    def check_batch(self, ids: Sequence[str]) -> Sequence[str]:
        """A batch of well-formed, distinct ids of this kind, or the kind's refusal."""

    @abc.abstractmethod
    def owned(self, caller: Caller, record_id: str, fresh: bool) -> R:
        """The caller's record (as stored now, never from a cache, when `fresh`), or `not_found`."""

    @abc.abstractmethod
    def moved(self, record: R, operation: Op) -> R:
        """The record in the state `operation` leads to, or the state machine's refusal."""

    @abc.abstractmethod
    def write_of(self, updated: R, stored: R) -> W:
        """The write that makes `stored` into `updated`, if it is still as read."""

    @abc.abstractmethod
    def write(self, writes: Sequence[W]) -> bool:
        """Make every write or none; False if any record changed since it was read."""


class Lifecycle(Generic[R, W, Op]):
    def __init__(self, records: Records[R, W, Op], clock: Clock) -> None:
        self.records = records
        self._clock = clock

    def changing(self, change: Callable[[R], R] = lambda record: record) -> Plan[R, W]:
        """A plan that writes the moved record with `change` applied, if that differs from what is stored."""

        def plan(stored: R, moved: R) -> W | None:
            updated = change(moved)
            return self.records.write_of(updated, stored) if updated != stored else None

        return plan

    def apply(self, caller: Caller, ids: Sequence[str], operation: Op, plan: Plan[R, W]) -> list[R]:
        """Apply `operation` to every record, all or none; returns the records as they were before."""
        for _ in range(ATTEMPTS):
            stored = [self.records.owned(caller, record_id, fresh=True) for record_id in ids]
            writes = [
                write for record in stored if (write := plan(record, self.records.moved(record, operation))) is not None
            ]
            if not writes or self.records.write(writes):
                return stored
        raise ConcurrentModification(f"{list(ids)} kept changing during {operation.name}")

    def change(
        self, caller: Caller, ids: Sequence[str], operation: Op, change: Callable[[R], R] = lambda record: record
    ) -> None:
        """Apply `operation` and then `change` to every record, all or none."""
        self.apply(caller, ids, operation, self.changing(change))

    def apply_to_batch(self, caller: Caller, ids: Sequence[str], operation: Op) -> None:
        """EnableKeys, DisableKeys and their kin: a checked batch, moved in state only."""
        self.change(caller, self.records.check_batch(ids), operation)

    def describe_many(self, caller: Caller, ids: Sequence[str]) -> list[R]:
        """Each named record the caller has; ids it has none for are left out."""
        found = []
        for record_id in self.records.check_batch(ids):
            try:
                found.append(self.records.owned(caller, record_id, fresh=False))
            except self.records.not_found:
                continue
        return found

    def deletion_date(self, pending_window_days: int) -> int:
        """When a record scheduled for deletion now, with this window, is destroyed."""
        if not PENDING_WINDOW_MIN_DAYS <= pending_window_days <= PENDING_WINDOW_MAX_DAYS:
            raise InvalidPendingWindow(
                f"PendingWindowInDays must be between {PENDING_WINDOW_MIN_DAYS} and {PENDING_WINDOW_MAX_DAYS}; "
                f"got {pending_window_days}."
            )
        return int(self._clock.now()) + pending_window_days * SECONDS_PER_DAY
