"""Request rate limits per account and action group: token buckets, refilled continuously.

A bucket holds one second's worth of requests, so a quiet account may burst up to its rate at once
and then proceeds at the rate. With several server processes each holds its own buckets, so the
configured rates are divided among them.
"""

import threading
import time
from collections.abc import Callable

from openkms.config.rates import RateConfig
from openkms.domain.clients import client_group
from openkms.domain.limits import AUTHENTICATION_FAILURES_PER_SOURCE, RATE_GROUPS

MAX_TRACKED_SOURCES = 100_000


UNAUTHENTICATED = "unauthenticated"
"""The rate group of requests that fail authentication, counted per source address, not account."""


class _Bucket:
    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = rate
        self.tokens = rate
        self.updated = now

    def refill(self, now: float) -> float:
        """The tokens there are now."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return self.tokens

    def take(self, now: float, cost: float) -> bool:
        self.refill(now)
        cost = min(cost, self.capacity)  # a request dearer than a whole second's budget still passes, alone
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class RateLimiter:
    def __init__(self, config: RateConfig, processes: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._share = max(1, processes)
        self._clock = clock
        self._group_of = {action: group for group, (_, actions) in RATE_GROUPS.items() for action in actions}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def _rate(self, group: str) -> int | None:
        if group in self._config.overrides:
            return self._config.overrides[group]
        if group == UNAUTHENTICATED:
            return AUTHENTICATION_FAILURES_PER_SOURCE
        if group in RATE_GROUPS:
            return RATE_GROUPS[group][0]
        return self._config.default

    def allow(self, account: str, action: str, cost: int = 1) -> bool:
        """Whether the account may make this request now; it takes `cost` of its group's tokens."""
        if not self._config.enabled:
            return True
        group = self._group_of.get(action, action)
        rate = self._rate(group)
        if rate is None:
            return True
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get((account, group))
            if bucket is None:
                bucket = self._buckets[(account, group)] = _Bucket(rate / self._share, now)
            return bucket.take(now, cost)

    def group_of(self, action: str) -> str:
        return self._group_of.get(action, action)

    def account_rate(self, action: str) -> int | None:
        """Requests per second an account may make of the action's group (all processes together);
        None when unlimited."""
        return self._rate(self._group_of.get(action, action)) if self._config.enabled else None

    def failure_limiter(self) -> "FailureLimiter | None":
        """The per-source limit on failed authentications (group `unauthenticated`), or None if off."""
        rate = self._rate(UNAUTHENTICATED) if self._config.enabled else None
        return None if rate is None else FailureLimiter(rate / self._share, self._clock)


class FailureLimiter:
    """Requests that fail authentication, per source address. A source over the rate has its requests
    refused before they are read until its budget refills: a flood of unsigned or badly signed requests
    costs neither signature checks nor store reads. (Sources behind one NAT share a budget, as do the
    addresses of one IPv6 /64: see client_group.)"""

    def __init__(
        self, rate: float = AUTHENTICATION_FAILURES_PER_SOURCE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def blocked(self, source: str) -> bool:
        bucket = self._buckets.get(client_group(source))
        if bucket is None:
            return False
        now = self._clock()
        with self._lock:
            return bucket.refill(now) < 1

    def failed(self, source: str) -> None:
        source = client_group(source)
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(source)
            if bucket is None:
                if len(self._buckets) >= MAX_TRACKED_SOURCES:
                    # Many addresses: keep those still over their budget, forget the rest.
                    self._buckets = {s: b for s, b in self._buckets.items() if b.refill(now) < 1}
                bucket = self._buckets[source] = _Bucket(self._rate, now)
            bucket.take(now, 1)
