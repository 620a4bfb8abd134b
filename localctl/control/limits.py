"""From one cycle's allocation to the limits each station should hold: a pure function.

Per EVSE with a session: the optimizer's allocation, except
- FLOORS mode (an input above it is lost): its fallback floor;
- HOLD mode (a meter above it is stale): no increase over what it holds now;
and never above what the CSMS's own profiles allow it (min(CSMS, local)).
An EVSE without a session holds 0 A: the optimizer counted no capacity for it, and a vehicle
arriving is allocated on the next cycle (the registry wakes the loop at once).

Per station: a lease on the station-wide purpose at the largest per-grid-phase sum of its EVSE
limits, and a permanent floor at the sum of their fallback floors; both capped by the CSMS's
station-wide profiles.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from localctl.config.site import GRID_PHASES, GridPhase, SiteConfig, StationConfig
from localctl.control.planner import InstalledLimit, WantedLimit
from localctl.site.to_optimizer import EvseMode
from optimizer.result import Allocation


def evse_key(evse_id: str) -> str:
    return f"evse:{evse_id}"


def lease_key(station_id: str) -> str:
    return f"lease:{station_id}"


def floor_key(station_id: str) -> str:
    return f"floor:{station_id}"


@dataclass(frozen=True, slots=True)
class CycleInputs:
    allocation: Allocation
    evse_modes: Mapping[str, EvseMode]
    floors_a: Mapping[str, float]
    installed: Mapping[str, InstalledLimit]
    csms_evse_limit_a: Mapping[str, float]
    """per site EVSE, what the CSMS's own profiles allow now (absent: no limit)"""
    csms_station_limit_a: Mapping[str, float]
    """per station, what the CSMS's station-wide profiles allow now (absent: no limit)"""
    with_session: frozenset[str]


@dataclass(frozen=True, slots=True)
class WantedLimits:
    evses: dict[str, WantedLimit]
    stations: dict[str, WantedLimit]
    floors: dict[str, WantedLimit]
    why: dict[str, str]
    """per EVSE, what bound its limit this cycle"""


def wanted_limits(
    site: SiteConfig, stations: tuple[StationConfig, ...], inputs: CycleInputs
) -> WantedLimits:
    evses: dict[str, WantedLimit] = {}
    why: dict[str, str] = {}
    allocated = {a.evse_id: a for a in inputs.allocation.evses}
    for evse in site.evses:
        if evse.id not in inputs.with_session:
            evses[evse.id], why[evse.id] = WantedLimit(0.0, evse.phases), "no_session"
            continue
        allocation = allocated.get(evse.id)
        limit_a = allocation.limit_a if allocation else 0.0
        reason = allocation.bound_by if allocation else "no_allocation"
        phases = allocation.phases if allocation else evse.phases
        limit_a, reason = _apply_mode(evse.id, limit_a, reason, inputs)
        csms_a = inputs.csms_evse_limit_a.get(evse.id)
        if csms_a is not None and csms_a <= limit_a + 0.05:  # bound (or capped) by the CSMS
            limit_a, reason = min(limit_a, csms_a), "csms_profile"
        evses[evse.id], why[evse.id] = WantedLimit(round(limit_a, 1), phases), reason
    station_leases, station_floors = {}, {}
    wiring = {evse.id: evse.grid_phases for evse in site.evses}
    for station in stations:
        ids = list(station.evses.values())
        cap = inputs.csms_station_limit_a.get(station.id)
        lease = _worst_phase_sum(wiring, {i: evses[i].limit_a for i in ids})
        floor = _worst_phase_sum(wiring, {i: inputs.floors_a.get(i, 0.0) for i in ids})
        station_leases[station.id] = WantedLimit(_capped(lease, cap), 3)
        station_floors[station.id] = WantedLimit(_capped(floor, cap), 3)
    return WantedLimits(evses, station_leases, station_floors, why)


def _apply_mode(
    evse_id: str, limit_a: float, reason: str, inputs: CycleInputs
) -> tuple[float, str]:
    mode = inputs.evse_modes.get(evse_id, EvseMode.NORMAL)
    floor_a = inputs.floors_a.get(evse_id, 0.0)
    if mode is EvseMode.FLOORS:
        return floor_a, "fallback_floor"
    if mode is EvseMode.HOLD:
        installed = inputs.installed.get(evse_key(evse_id))
        held_a = installed.limit_a if installed else floor_a
        if limit_a > held_a:
            return held_a, "stale_input_hold"
    return limit_a, reason


def _worst_phase_sum(
    wiring: Mapping[str, tuple[GridPhase, ...]], limits_a: Mapping[str, float]
) -> float:
    """The largest per-grid-phase sum of `limits_a` (EVSE id -> A), through each wiring."""
    per_phase = dict.fromkeys(GRID_PHASES, 0.0)
    for evse_id, limit_a in limits_a.items():
        for phase in wiring[evse_id]:
            per_phase[phase] += limit_a
    return round(max(per_phase.values()), 1)


def _capped(limit_a: float, cap_a: float | None) -> float:
    return limit_a if cap_a is None else round(min(limit_a, cap_a), 1)
