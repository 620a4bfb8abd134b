"""The composite schedule a simulated station reports (1.6 section 5.7, 2.0.1 K08).

The station evaluates its profiles at the start and at every moment within the requested
duration where a limit may change (period starts, validity edges, a slow station's pending
profile), and reports one period per distinct limit. Port 0 reports the whole station: its
cap, bounded by what its ports may take together.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from localctl.sim.profile_store import ProfileStore
from localctl.sim.profiles import NOMINAL_VOLTAGE_V

LIMIT_DECIMALS = 1


def composite_limits_a(
    store: ProfileStore, port: int, start: datetime, duration_s: int
) -> list[tuple[int, float]]:
    """(seconds after `start`, limit per phase in A) whenever the limit changes."""
    end = start + timedelta(seconds=duration_s)
    # A change inside a second is reported from the next whole second, where it holds.
    offsets = {0} | {
        math.ceil((moment - start).total_seconds()) for moment in store.changes_between(start, end)
    }
    periods: list[tuple[int, float]] = []
    for offset_s in sorted(o for o in offsets if o < duration_s):
        limit_a = store.limit_a(port, start + timedelta(seconds=offset_s))
        if not periods or periods[-1][1] != limit_a:
            periods.append((offset_s, limit_a))
    return periods


def schedule_periods(
    store: ProfileStore,
    port: int,
    start: datetime,
    duration_s: int,
    *,
    rate_unit: str,
    phases: int,
) -> list[dict[str, Any]]:
    """`chargingSchedulePeriod` entries (snake_case) in `rate_unit`; W at 230 V x `phases`."""
    factor = 1.0 if rate_unit == "A" else NOMINAL_VOLTAGE_V * phases
    entries: list[dict[str, Any]] = []
    for offset_s, limit_a in composite_limits_a(store, port, start, max(duration_s, 1)):
        entry: dict[str, Any] = {
            "start_period": offset_s,
            "limit": round(limit_a * factor, LIMIT_DECIMALS),
        }
        if rate_unit == "W":
            entry["number_phases"] = phases
        entries.append(entry)
    return entries
