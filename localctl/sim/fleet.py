"""A few simulated stations living their lives against one URL, for the demo.

Point it at the controller's station-facing URL (or straight at a `StubCsms`): each
station connects, boots and runs `run_station_life` with its own seeded random source.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack

from localctl.sim.endpoint import FrameHook
from localctl.sim.scenario import run_station_life
from localctl.sim.station16 import SimStation16
from localctl.sim.station201 import SimStation201
from localctl.sim.station_base import ConnectionOptions


def build_fleet(
    url: str,
    *,
    ids16: Sequence[str],
    ids201: Sequence[str],
    on_frame: FrameHook | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> list[SimStation16 | SimStation201]:
    """Unconnected stations: the 1.6 ones first, then the 2.0.1 ones."""
    options = ConnectionOptions(on_frame=on_frame, extra_headers=extra_headers)
    ocpp16 = [SimStation16(url, station_id, **options) for station_id in ids16]
    ocpp201 = [SimStation201(url, station_id, **options) for station_id in ids201]
    return [*ocpp16, *ocpp201]


async def run_fleet(
    stations: Sequence[SimStation16 | SimStation201],
    *,
    meter_interval_s: float,
    sessions: int | None,
    seed: int,
) -> None:
    """Connect every station, run their lives concurrently, then close them all.

    Station `i` draws from `random.Random(seed + i)`, so a seed replays the whole fleet.
    With `sessions=None` this runs until cancelled.
    """
    async with AsyncExitStack() as connected:
        for station in stations:
            await connected.enter_async_context(station)
        async with asyncio.TaskGroup() as lives:
            for index, station in enumerate(stations):
                life = run_station_life(
                    station,
                    meter_interval_s=meter_interval_s,
                    sessions=sessions,
                    rng=random.Random(seed + index),
                )
                lives.create_task(life, name=f"life:{station.station_id}")
