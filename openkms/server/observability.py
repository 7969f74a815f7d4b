"""What operators see: Prometheus metrics, one JSON log line per request, health and readiness.

Metrics are served only on `--metrics-listen` (loopback unless an address is given), never on the
API port: they describe every account. Each server process keeps its own counters (label `pid`).
"""

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from openkms.audit.events import AuditEvent
from openkms.audit.log import AuditLog
from openkms.service.keyring import KeyRing
from openkms.service.maintenance import Maintenance
from openkms.store.sql import SqlStore
from openkms.trust.base import RootOfTrust

request_log = logging.getLogger("openkms.requests")
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
READINESS_PROBE = b"openkms readiness probe"
KEY_COUNT_SECONDS = 60.0


@dataclass(frozen=True)
class Observed:
    """The parts of a running server whose state operators see."""

    store: SqlStore
    trust: RootOfTrust
    ring: KeyRing
    maintenance: Maintenance
    audit: AuditLog


class _StateCollector(Collector):
    """Read at scrape time: key counts, cache, scheduled work, audit log."""

    def __init__(self, observed: Observed) -> None:
        self._observed = observed
        self._audit = observed.audit
        self._key_counts: dict[str, int] = {}
        self._counted_at = -KEY_COUNT_SECONDS

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        # Counting every key is a scan: once a KEY_COUNT_SECONDS at most, however often one scrapes.
        if time.monotonic() - self._counted_at >= KEY_COUNT_SECONDS:
            self._key_counts = self._observed.store.count_keys_by_state()
            self._counted_at = time.monotonic()
        keys = GaugeMetricFamily(
            "openkms_keys",
            f"Customer master keys by state (all accounts; counted every {KEY_COUNT_SECONDS:.0f} s).",
            labels=["state"],
        )
        for state, count in sorted(self._key_counts.items()):
            keys.add_metric([state], count)
        yield keys
        cache = self._observed.ring.cache
        yield CounterMetricFamily("openkms_key_cache_hits", "Key lookups served from memory.", value=cache.hits)
        yield CounterMetricFamily("openkms_key_cache_misses", "Key lookups that read the store.", value=cache.misses)
        yield GaugeMetricFamily("openkms_key_cache_entries", "Keys held in memory.", value=len(cache))
        last_run = GaugeMetricFamily(
            "openkms_maintenance_last_run_timestamp_seconds", "When each scheduled step last ran.", labels=["step"]
        )
        failed = GaugeMetricFamily(
            "openkms_maintenance_last_failed", "1 if the step's last run failed.", labels=["step"]
        )
        failures = CounterMetricFamily("openkms_maintenance_failures", "Failed runs of each step.", labels=["step"])
        done = CounterMetricFamily("openkms_maintenance_items", "Items each step handled.", labels=["step"])
        for step, status in self._observed.maintenance.status.items():
            last_run.add_metric([step], status.last_run)
            failed.add_metric([step], 1 if status.last_failed else 0)
            failures.add_metric([step], status.failures)
            done.add_metric([step], status.done)
        yield from (last_run, failed, failures, done)
        yield GaugeMetricFamily(
            "openkms_audit_available", "1 while the audit log is writable.", value=1 if self._audit.available else 0
        )
        yield GaugeMetricFamily(
            "openkms_audit_backlog_events", "Audit events waiting to be written.", value=self._audit.backlog
        )
        yield CounterMetricFamily(
            "openkms_audit_dropped_events", "Audit events lost while fail-open.", value=self._audit.dropped
        )


class Observer:
    def __init__(self, observed: Observed) -> None:
        self._observed = observed
        self._audit = observed.audit
        self.registry = CollectorRegistry()
        pid = str(os.getpid())
        self._requests = Counter(
            "openkms_requests",
            "API requests by action and result code.",
            ["action", "code", "pid"],
            registry=self.registry,
        ).labels
        self._latency = Histogram(
            "openkms_request_duration_seconds",
            "API request latency.",
            ["action", "pid"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        ).labels
        self._pid = pid
        # prometheus_client's labels() costs microseconds a call; the children never change.
        self._counters: dict[tuple[str, str], Counter] = {}
        self._histograms: dict[str, Histogram] = {}
        self.registry.register(_StateCollector(observed))

    def request_finished(self, event: AuditEvent, canonical: bytes) -> None:
        counter = self._counters.get((event.action, event.code))
        if counter is None:
            counter = self._counters[(event.action, event.code)] = self._requests(event.action, event.code, self._pid)
        counter.inc(event.count)
        histogram = self._histograms.get(event.action)
        if histogram is None:
            histogram = self._histograms[event.action] = self._latency(event.action, self._pid)
        histogram.observe(event.latency_ms / 1000)
        if request_log.isEnabledFor(logging.INFO):
            # The audit event's own fields: never plaintext, ciphertext, key material or secrets.
            request_log.info(canonical.decode())

    def metrics(self) -> bytes:
        return bytes(generate_latest(self.registry))

    def readiness(self) -> list[str]:
        """What keeps this process from serving; empty when it is ready."""
        problems = []
        try:
            self._observed.store.ping()
        except Exception as exc:
            problems.append(f"key store: {type(exc).__name__}")
        try:
            if (
                self._observed.trust.unwrap(self._observed.trust.wrap(READINESS_PROBE, b"ready"), b"ready")
                != READINESS_PROBE
            ):
                problems.append("root of trust: round trip failed")
        except Exception as exc:
            problems.append(f"root of trust: {type(exc).__name__}")
        if self._observed.store.damage is not None:
            problems.append(f"key store: {self._observed.store.damage}")
        if self._audit.integrity_problem is not None:
            problems.append(f"audit log: {self._audit.integrity_problem}")
        elif not self._audit.available:
            problems.append("audit log: not writable")
        if self._observed.ring.warming:
            problems.append("key cache: preloading")
        return problems


class JsonLogFormatter(logging.Formatter):
    """One JSON object a line. A request's line carries the audit event's fields as they are."""

    def format(self, record: logging.LogRecord) -> str:
        if record.name == request_log.name:
            event = orjson.loads(record.getMessage())
            return orjson.dumps({"level": record.levelname, "logger": record.name, **event}).decode()
        line: dict[str, object] = {
            "time": record.created,
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
