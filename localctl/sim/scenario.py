"""A station's life for the demo: sessions of plug in, authorize, charge, stop, unplug.

Everything random comes from the `rng` passed in, so a seed replays the same life. The EV
draws what it can take, capped by the limit the station's profiles allow right now, so a
controller's limits show up in the meter values.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from localctl.sim.station_base import LifecycleStation

NOMINAL_VOLTAGE_V = 230.0
# IEC 61851-1: below 6 A the pilot signal cannot offer a charging current.
MIN_CHARGING_CURRENT_A = 6.0


@dataclass(frozen=True)
class EvModel:
    name: str
    phases: int
    max_current_a: float

    def draw_a(self, limit_a: float, rng: random.Random) -> tuple[float, ...]:
        """Current per phase for one sample: what the EV takes under `limit_a`, a bit noisy."""
        offered_a = min(self.max_current_a, limit_a)
        if offered_a < MIN_CHARGING_CURRENT_A:
            return (0.0,) * self.phases
        # Onboard chargers draw slightly under the offered current, unevenly per phase.
        return tuple(round(offered_a - rng.uniform(0.0, 0.6), 1) for _ in range(self.phases))


EV_MODELS: tuple[EvModel, ...] = (
    EvModel("single-phase 16 A", 1, 16.0),
    EvModel("single-phase 32 A", 1, 32.0),
    EvModel("three-phase 11 kW", 3, 16.0),
    EvModel("three-phase 22 kW", 3, 32.0),
)


def energy_increment_wh(current_a: Sequence[float], interval_s: float) -> float:
    return sum(current_a) * NOMINAL_VOLTAGE_V * interval_s / 3600.0


@dataclass(frozen=True)
class LifeSettings:
    port: int
    meter_interval_s: float
    id_tokens: Sequence[str]
    samples_per_session: tuple[int, int]
    idle_intervals: tuple[int, int]


async def run_station_life(
    station: LifecycleStation,
    *,
    meter_interval_s: float,
    sessions: int | None,
    rng: random.Random,
    port: int = 1,
    id_tokens: Sequence[str] = ("04E91C5A2B3F80", "04A7D2B1C93E81"),
    samples_per_session: tuple[int, int] = (3, 8),
    idle_intervals: tuple[int, int] = (1, 3),
    heartbeat_interval_s: float | None = None,
) -> None:
    """Boot, report Available, then run `sessions` charging sessions (None: until cancelled).

    Each session lasts a random number of meter intervals from `samples_per_session`, and
    is preceded by a random idle time of `idle_intervals` meter intervals. Heartbeats go
    out every `heartbeat_interval_s`, by default the interval the BootNotification answer
    gave.
    """
    settings = LifeSettings(port, meter_interval_s, id_tokens, samples_per_session, idle_intervals)
    booted = await station.boot()
    interval_s = heartbeat_interval_s or float(booted.interval)
    await station.set_available(port)
    async with asyncio.TaskGroup() as group:
        heartbeats = group.create_task(_send_heartbeats(station, interval_s))
        await _run_sessions(station, settings, sessions, rng)
        heartbeats.cancel()


async def _send_heartbeats(station: LifecycleStation, interval_s: float) -> None:
    while interval_s > 0:
        await asyncio.sleep(interval_s)
        await station.heartbeat()


async def _run_sessions(
    station: LifecycleStation, settings: LifeSettings, sessions: int | None, rng: random.Random
) -> None:
    energy_wh = 0.0
    session = 0
    while sessions is None or session < sessions:
        session += 1
        await asyncio.sleep(rng.randint(*settings.idle_intervals) * settings.meter_interval_s)
        energy_wh = await _charging_session(station, settings, energy_wh, rng)


async def _charging_session(
    station: LifecycleStation, settings: LifeSettings, energy_wh: float, rng: random.Random
) -> float:
    """One session from plug-in to unplug; returns the energy register afterwards."""
    ev = rng.choice(EV_MODELS)
    token = rng.choice(settings.id_tokens)
    port = settings.port
    await station.plug_in(port)
    await station.authorize(token)
    await station.start_charging(port, token)
    for _ in range(rng.randint(*settings.samples_per_session)):
        await asyncio.sleep(settings.meter_interval_s)
        current_a = ev.draw_a(station.current_limit_a(port), rng)
        energy_wh += energy_increment_wh(current_a, settings.meter_interval_s)
        await station.meter_values(port, current_a, energy_wh)
    await station.stop_charging(port, energy_wh)
    await station.unplug(port)
    return energy_wh
