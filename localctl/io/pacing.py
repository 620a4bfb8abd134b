"""Pacing of upstream connection opens, so a crowd of stations does not storm the CSMS.

A controller restart, a site-wide power return or a CSMS coming back from an outage makes
every station want its upstream socket at the same instant. Each open is a TCP (and usually
TLS) handshake plus an HTTP upgrade that the CSMS pays for; a thousand of them in one second
is what takes a recovering CSMS down again. Every upstream open, first connects and outage
reconnects alike, goes through one `UpstreamPacer`:

- at most `concurrency` opening handshakes are under way at once;
- new opens start at most `rate_per_s` per second, after an initial `burst` (a token bucket,
  a token taken at the moment the open starts);
- waiters are served first come, first served, so the last of a crowd waits about
  (crowd - burst) / rate_per_s seconds and nobody is starved;
- a CSMS that answers HTTP 429 or 503 with Retry-After (RFC 9110, 10.2.3) holds every new open
  back until that time has passed: the CSMS, not a single station, asked for the pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http import HTTPStatus

from websockets.http11 import Response

__all__ = ["PacerStats", "TokenBucket", "UpstreamPacer", "retry_after_s"]

# Statuses whose Retry-After asks the client to slow down (RFC 9110 15.6.4, RFC 6585 4).
_PAUSE_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE})
# A longer Retry-After (a misconfigured CSMS, a date far ahead) is cut to this: stations must
# not be kept offline for hours by one header.
RETRY_AFTER_MAX_S = 300.0


class TokenBucket:
    """`burst` tokens at once, refilled at `rate_per_s`; sans-I/O, the caller gives the time."""

    def __init__(self, rate_per_s: float, burst: int, now_s: float) -> None:
        self._rate_per_s = rate_per_s
        self._burst = float(burst)
        self._tokens = float(burst)
        self._updated_s = now_s

    def wait_s(self, now_s: float) -> float:
        """Seconds until a token is there (0: one is there now)."""
        self._refill(now_s)
        return 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self._rate_per_s

    def take(self, now_s: float) -> None:
        """Take one token; only after `wait_s(now_s)` returned 0."""
        self._refill(now_s)
        assert self._tokens >= 1.0, "take() only when wait_s() is 0"
        self._tokens -= 1.0

    def _refill(self, now_s: float) -> None:
        elapsed_s = max(0.0, now_s - self._updated_s)
        self._tokens = min(self._burst, self._tokens + elapsed_s * self._rate_per_s)
        self._updated_s = now_s


@dataclass(slots=True)
class PacerStats:
    """What the pacer has done, for logs, metrics and the storm test."""

    opened: int = 0  # opens that got past the pacer (whatever their outcome)
    waiting: int = 0  # callers still in line
    in_flight: int = 0  # opening handshakes under way now
    peak_in_flight: int = 0
    longest_wait_s: float = 0.0  # the longest time a caller spent in line
    held_off: int = 0  # Retry-After pauses honoured


class UpstreamPacer:
    """Admits upstream opens one at a time within a concurrency bound and a token bucket."""

    def __init__(
        self,
        rate_per_s: float,
        burst: int,
        concurrency: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._bucket = TokenBucket(rate_per_s, burst, clock())
        self._slots = asyncio.Semaphore(concurrency)
        self._turn = asyncio.Lock()  # one caller at a time waits for a token, in arrival order
        self._hold_until_s = 0.0
        self.stats = PacerStats()

    @contextlib.asynccontextmanager
    async def opening(self) -> AsyncIterator[None]:
        """Wait for a slot and a token; the block is the opening handshake."""
        await self._admit()
        stats = self.stats
        stats.in_flight += 1
        stats.peak_in_flight = max(stats.peak_in_flight, stats.in_flight)
        try:
            yield
        finally:
            stats.in_flight -= 1
            self._slots.release()

    def refused(self, response: Response) -> float | None:
        """The CSMS refused an open with `response`: honour its Retry-After, if it sent one.
        Returns the pause in seconds (None: no pause asked for)."""
        delay_s = retry_after_s(response, self._wall())
        if delay_s is not None:
            self._hold_until_s = max(self._hold_until_s, self._clock() + delay_s)
            self.stats.held_off += 1
        return delay_s

    def next_open_delay_s(self) -> float:
        """How long an open asked for now would wait for its token (slots aside)."""
        now_s = self._clock()
        return max(self._hold_until_s - now_s, self._bucket.wait_s(now_s), 0.0)

    async def _admit(self) -> None:
        """Take a slot, then a token; a caller cancelled in line leaves no trace."""
        stats = self.stats
        queued_s = self._clock()
        stats.waiting += 1
        try:
            await self._slots.acquire()
            try:
                async with self._turn:
                    await self._await_token()
            except BaseException:
                self._slots.release()
                raise
        finally:
            stats.waiting -= 1
        stats.opened += 1
        stats.longest_wait_s = max(stats.longest_wait_s, self._clock() - queued_s)

    async def _await_token(self) -> None:
        # A timed wait, not a poll: the token is due at a known time (and a Retry-After that
        # arrives meanwhile only moves it later), so nothing could set an Event earlier.
        while (delay_s := self.next_open_delay_s()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay_s)
        self._bucket.take(self._clock())


def retry_after_s(response: Response, now_wall_s: float) -> float | None:
    """The pause a 429 or 503 response asks for, in seconds, at most `RETRY_AFTER_MAX_S`;
    None for other statuses and for a missing or unreadable header."""
    if response.status_code not in _PAUSE_STATUSES:
        return None
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():  # delay-seconds
        delay_s = float(value)
    else:  # HTTP-date
        try:
            delay_s = parsedate_to_datetime(value).timestamp() - now_wall_s
        except (TypeError, ValueError):
            return None
    return min(max(delay_s, 0.0), RETRY_AFTER_MAX_S)
