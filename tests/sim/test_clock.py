from __future__ import annotations

from datetime import UTC, datetime

import pytest

from localctl.sim.clock import SimClock


def test_sim_clock_advances_only_when_told() -> None:
    clock = SimClock(datetime(2026, 3, 1, 23, 59, 30, tzinfo=UTC))
    clock.advance(45.0)
    assert clock.now() == datetime(2026, 3, 2, 0, 0, 15, tzinfo=UTC)
    assert (clock.now_s, clock.seconds_of_day, clock.monotonic()) == (45.0, 15.0, 45.0)
    assert clock.wall() == clock.now().timestamp()
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1.0)
    with pytest.raises(ValueError, match="aware"):
        SimClock(datetime(2026, 1, 1))
