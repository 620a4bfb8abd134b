from __future__ import annotations

from localctl.security.ratelimit import FailureLimiter


class Clock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def test_an_address_may_fail_burst_times_then_waits_for_a_refill() -> None:
    clock = Clock()
    limiter = FailureLimiter(burst=3, refill_s=10.0, clock=clock)
    for _ in range(3):
        assert limiter.retry_after_s("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert limiter.retry_after_s("10.0.0.1") == 10.0
    clock.now_s += 4.0
    assert limiter.retry_after_s("10.0.0.1") == 6.0
    clock.now_s += 6.0
    assert limiter.retry_after_s("10.0.0.1") == 0


def test_addresses_are_limited_separately() -> None:
    limiter = FailureLimiter(burst=1, refill_s=10.0, clock=Clock())
    limiter.failed("10.0.0.1")
    assert limiter.retry_after_s("10.0.0.1") > 0
    assert limiter.retry_after_s("10.0.0.2") == 0


def test_a_fully_refilled_address_is_forgotten() -> None:
    clock = Clock()
    limiter = FailureLimiter(burst=2, refill_s=1.0, clock=clock)
    limiter.failed("10.0.0.1")
    clock.now_s += 5.0
    assert limiter.retry_after_s("10.0.0.1") == 0
    assert limiter._buckets == {}
