"""A lean replay loop with the same rules as acnportal's simulator, for the full sweep.

acnportal's simulator deep-copies every vehicle every period, which costs more than the
allocation itself; the sweep needs 24 month-long runs on two cores. This loop applies the
same rules (checked against the simulator by ``--simulator``, see docs/acn-replay.md):
- a vehicle is plugged in during periods ``arrival <= t < departure`` and is offered to
  the controller while more than 1 Wh of its request is left;
- during a period it charges at the lowest of the pilot, its battery's maximum power and
  the power that fills the battery by the period's end (acnportal's ideal ``Battery``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from benchmarks.acn_control import Plugged

FULL_KWH = 1e-3  # acnportal's "fully charged": less than this left of the request


@dataclass(frozen=True, slots=True)
class Vehicle:
    """One session of the data set (periods are indexes of 5-minute periods)."""

    station_id: str
    arrival: int
    departure: int
    requested_kwh: float
    max_power_kw: float
    capacity_kwh: float
    init_charge_kwh: float


@dataclass(frozen=True, slots=True)
class Playback:
    """What a replay produced: energy per vehicle and the pilot applied each period."""

    delivered_kwh: NDArray[np.float64]
    pilots_a: dict[str, NDArray[np.float64]]

    def share(self, vehicles: Sequence[Vehicle]) -> float:
        requested = sum(v.requested_kwh for v in vehicles)
        return float(self.delivered_kwh.sum()) / requested


Decide = Callable[[Sequence[Plugged], int], dict[str, float]]


def load_vehicles(path: Path) -> list[Vehicle]:
    """Vehicles of an acnportal EventQueue file (JSON-encoded twice), sorted by arrival."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        data = json.loads(json.load(handle))
    objects = data["context_dict"]
    vehicles = []
    for entry in objects.values():
        if not entry["class"].endswith(".EV"):
            continue
        ev = entry["attributes"]
        battery = objects[ev["_battery"]]["attributes"]
        vehicles.append(
            Vehicle(
                station_id=ev["_station_id"],
                arrival=int(ev["_arrival"]),
                departure=int(ev["_departure"]),
                requested_kwh=float(ev["_requested_energy"]),
                max_power_kw=float(battery["_max_power"]),
                capacity_kwh=float(battery["_capacity"]),
                init_charge_kwh=float(battery["_init_charge"]),
            )
        )
    return sorted(vehicles, key=lambda v: (v.arrival, v.station_id, v.departure))


def play(
    vehicles: Sequence[Vehicle],
    station_ids: Sequence[str],
    decide: Decide,
    period_min: float,
    voltage_v: float,
) -> Playback:
    """Replay every period from the first arrival to the last departure."""
    end = max(v.departure for v in vehicles)
    hours = period_min / 60.0
    delivered = np.zeros(len(vehicles))
    charge = np.asarray([v.init_charge_kwh for v in vehicles])
    pilots = {sid: np.zeros(end + 1) for sid in station_ids}
    by_arrival = sorted(range(len(vehicles)), key=lambda i: vehicles[i].arrival)
    plugged: list[int] = []
    cursor = 0
    for t in range(min(v.arrival for v in vehicles), end + 1):
        while cursor < len(by_arrival) and vehicles[by_arrival[cursor]].arrival <= t:
            plugged.append(by_arrival[cursor])
            cursor += 1
        plugged = [i for i in plugged if vehicles[i].departure > t]
        active = [i for i in plugged if vehicles[i].requested_kwh - delivered[i] > FULL_KWH]
        offers = [_offer(vehicles[i], delivered[i], period_min, voltage_v) for i in active]
        limits = decide(offers, t)
        for i in plugged:
            vehicle = vehicles[i]
            pilot_a = limits.get(vehicle.station_id, 0.0)
            pilots[vehicle.station_id][t] = pilot_a
            to_full_kw = (vehicle.capacity_kwh - charge[i]) / hours
            power_kw = min(pilot_a * voltage_v / 1000.0, vehicle.max_power_kw, to_full_kw)
            charge[i] += power_kw * hours
            delivered[i] += power_kw * hours
    return Playback(delivered, pilots)


def _offer(vehicle: Vehicle, delivered_kwh: float, period_min: float, voltage_v: float) -> Plugged:
    period_s = period_min * 60.0
    return Plugged(
        station_id=vehicle.station_id,
        arrival_s=vehicle.arrival * period_s,
        departure_s=vehicle.departure * period_s,
        energy_needed_wh=max(0.0, (vehicle.requested_kwh - delivered_kwh) * 1000.0),
        ev_max_a=vehicle.max_power_kw * 1000.0 / voltage_v,
    )
