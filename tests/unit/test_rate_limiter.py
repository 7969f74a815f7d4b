"""The per-account token buckets, on a clock the test moves."""

from openkms.api.ratelimit import RateLimiter
from openkms.config.rates import RateConfig


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_group_allows_its_rate_and_refills_over_time() -> None:
    clock = Clock()
    limiter = RateLimiter(RateConfig.parse(["CreateKey=3"]), clock=clock)
    assert [limiter.allow("a", "CreateKey") for _ in range(4)] == [True, True, True, False]
    clock.now += 1 / 3
    assert limiter.allow("a", "CreateKey")
    assert not limiter.allow("a", "CreateKey")


def test_accounts_and_groups_have_budgets_of_their_own() -> None:
    limiter = RateLimiter(RateConfig.parse(["CreateKey=1", "symmetric=1"]), clock=Clock())
    assert limiter.allow("a", "CreateKey") and not limiter.allow("a", "CreateKey")
    assert limiter.allow("b", "CreateKey"), "another account"
    assert limiter.allow("a", "Encrypt") and not limiter.allow("a", "Decrypt"), "Encrypt and Decrypt share a group"


def test_a_dear_request_costs_at_most_a_seconds_budget() -> None:
    limiter = RateLimiter(RateConfig.parse(["CreateKey=10"]), clock=Clock())
    assert limiter.allow("a", "CreateKey", cost=50), "alone it passes"
    assert not limiter.allow("a", "CreateKey")


def test_limits_can_be_turned_off_and_divided_among_processes() -> None:
    off = RateLimiter(RateConfig.parse(["off"]), clock=Clock())
    assert all(off.allow("a", "CreateKey") for _ in range(1000))
    assert off.account_rate("Encrypt") is None
    shared = RateLimiter(RateConfig.parse(["CreateKey=4"]), processes=2, clock=Clock())
    assert [shared.allow("a", "CreateKey") for _ in range(3)] == [True, True, False]
