"""Base-load curves: what the building draws besides the EVs, per grid phase.

A curve is a function of simulated time (seconds since the simulation started) giving the
current per grid phase in A. The site adds each metered node's curve to that node and every
node above it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

PhaseCurrents = tuple[float, float, float]
BaseLoad = Callable[[float], PhaseCurrents]

# Fraction of the peak above the night level, hour by hour (0 = 00:00): low at night, a
# morning rise, a midday plateau and an evening peak around 19:00, as homes and offices do.
_DAY_SHAPE = (
    0.05, 0.0, 0.0, 0.0, 0.0, 0.05, 0.2, 0.45, 0.6, 0.55, 0.5, 0.55,
    0.6, 0.55, 0.5, 0.5, 0.55, 0.7, 0.9, 1.0, 0.85, 0.6, 0.35, 0.15,
)  # fmt: skip


def constant_base_load(current_a: PhaseCurrents) -> BaseLoad:
    def load(_: float) -> PhaseCurrents:
        return current_a

    return load


def step_base_load(steps: Sequence[tuple[float, PhaseCurrents]]) -> BaseLoad:
    """Piecewise constant: each (start time s, currents) holds until the next starts; 0 A
    before the first."""
    ordered = sorted(steps)

    def load(time_s: float) -> PhaseCurrents:
        started = [currents for start_s, currents in ordered if start_s <= time_s]
        return started[-1] if started else (0.0, 0.0, 0.0)

    return load


def daily_base_load(
    night_a: PhaseCurrents = (4.0, 3.0, 5.0),
    peak_a: PhaseCurrents = (28.0, 22.0, 25.0),
    *,
    start_of_day_s: float = 0.0,
) -> BaseLoad:
    """A day-shaped curve between `night_a` and `peak_a`, linear between the hours.

    `start_of_day_s` is the time of day (s after midnight) at simulated time 0.
    """

    def load(time_s: float) -> PhaseCurrents:
        hour = ((time_s + start_of_day_s) / 3600.0) % 24.0
        low = math.floor(hour)
        fraction = _DAY_SHAPE[low] + (hour - low) * (_DAY_SHAPE[(low + 1) % 24] - _DAY_SHAPE[low])
        n1, n2, n3 = night_a
        p1, p2, p3 = peak_a
        return (n1 + fraction * (p1 - n1), n2 + fraction * (p2 - n2), n3 + fraction * (p3 - n3))

    return load
