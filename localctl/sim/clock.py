"""The simulated site's time: advanced by the site's steps, read by everything simulated.

Stations stamp their messages and evaluate profile validity with `SimClock.now`, so a test
can run an hour of site life in seconds. Towards a real controller, whose leases run on the
wall clock, start the clock at the current time and run at speed-up 1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
"""A Monday at midnight UTC, so the default base-load day starts at its night level."""


class SimClock:
    """`now_s` seconds of simulated time since `start`."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulated clock needs an aware start time")
        self.start = start
        self.now_s = 0.0

    def advance(self, dt_s: float) -> None:
        if dt_s < 0:
            raise ValueError("time does not run backwards")
        self.now_s += dt_s

    def now(self) -> datetime:
        """The simulated wall time (a `Clock` for the simulated stations)."""
        return self.start + timedelta(seconds=self.now_s)

    def monotonic(self) -> float:
        """Seconds since the start: a monotonic clock for code under test (`Clocks.monotonic`)."""
        return self.now_s

    def wall(self) -> float:
        """The simulated wall time as POSIX seconds (`Clocks.wall`)."""
        return self.now().timestamp()

    @property
    def seconds_of_day(self) -> float:
        moment = self.now()
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return (moment - midnight).total_seconds()
