"""Budgets kept per client count an IPv6 /64 as one client: one host is commonly given a whole /64."""

from openkms.api.ratelimit import FailureLimiter
from openkms.audit.events import AuditEvent
from openkms.audit.repeats import RepeatedFailures
from openkms.domain.clients import client_group


def test_the_addresses_of_one_ipv6_64_are_one_client() -> None:
    assert client_group("2001:db8:1:2::1") == client_group("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_group("2001:db8:1:3::1") != client_group("2001:db8:1:2::1")
    assert client_group("::ffff:192.0.2.7") == client_group("192.0.2.7") == "192.0.2.7"
    assert client_group("192.0.2.7") != client_group("192.0.2.8")


def test_authentication_failures_from_one_64_share_a_budget() -> None:
    limiter = FailureLimiter(rate=5, clock=lambda: 100.0)
    for host in range(1, 20):
        limiter.failed(f"2001:db8::{host:x}")
    assert limiter.blocked("2001:db8::abcd")
    assert not limiter.blocked("2001:db8:0:1::1")


def test_repeated_failures_from_one_64_are_counted_as_one_kind() -> None:
    repeats = RepeatedFailures(window_seconds=10)
    admitted = [
        repeats.admit(AuditEvent(1.0, f"r{host}", "", "AKIDx", f"2001:db8::{host:x}", "Encrypt", (), "AuthFailure", 1))
        for host in range(1, 50)
    ]
    assert admitted.count(True) == 1
