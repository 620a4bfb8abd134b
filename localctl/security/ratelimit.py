"""Failed-authentication rate limit per source address: a token bucket per address.

Each failure takes a token; an address with none left is refused before its credentials are
even checked (so guessing also cannot burn scrypt time), until a token has refilled. Successes
cost nothing. Full buckets are forgotten, so memory follows only the recently failing addresses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["FailureLimiter"]

_MAX_ADDRESSES = 10_000  # a spray from many addresses must not grow memory without bound


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated_s: float


class FailureLimiter:
    """`burst` failures at once per address, then one per `refill_s` seconds."""

    def __init__(self, burst: int, refill_s: float, clock: Callable[[], float]) -> None:
        self._burst = float(burst)
        self._refill_s = refill_s
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def retry_after_s(self, address: str) -> float:
        """0 when `address` may try now, else the seconds until it may."""
        bucket = self._refilled(address)
        if bucket is None or bucket.tokens >= 1.0:
            return 0.0
        return (1.0 - bucket.tokens) * self._refill_s

    def failed(self, address: str) -> None:
        bucket = self._refilled(address)
        if bucket is None:
            if len(self._buckets) >= _MAX_ADDRESSES:
                self._buckets.pop(next(iter(self._buckets)))
            bucket = self._buckets[address] = _Bucket(self._burst, self._clock())
        bucket.tokens = max(0.0, bucket.tokens - 1.0)

    def _refilled(self, address: str) -> _Bucket | None:
        bucket = self._buckets.get(address)
        if bucket is None:
            return None
        now_s = self._clock()
        bucket.tokens = min(
            self._burst, bucket.tokens + (now_s - bucket.updated_s) / self._refill_s
        )
        bucket.updated_s = now_s
        if bucket.tokens >= self._burst:
            del self._buckets[address]
            return None
        return bucket
