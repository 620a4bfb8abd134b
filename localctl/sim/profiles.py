"""One charging profile as a simulated station keeps it, and the limit it gives at a moment.

This is the test double the controller is checked against, so it is written from the
specifications (OCPP 1.6 section 3.13, OCPP 2.0.1 block K), not from the controller's model:
- A profile is in force from `validFrom` (default: always) until before `validTo`.
- Its schedule starts at `startSchedule` (Absolute, Recurring) or, for Relative profiles,
  when the station installed it; it lasts `duration` seconds, or for ever.
- Recurring profiles restart every day or week from `startSchedule`.
- Each period holds from its `startPeriod` until the next one starts.
- A limit in W is a limit per phase in A at 230 V and the period's `numberPhases`, default 3
  (2.0.1 K01.FR.50; 1.6 section 3.13.4 says the same of numberPhases).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from localctl.sim.ocpp_glue import parse_iso

NOMINAL_VOLTAGE_V = 230.0
DEFAULT_NUMBER_PHASES = 3
_RECURRENCY_S = {"Daily": 86_400, "Weekly": 604_800}


@dataclass(frozen=True, slots=True)
class Period:
    start_s: int
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    """One profile; `port` is the connector (1.6) or EVSE (2.0.1) id, 0 = the whole station.

    `start` is where the schedule begins: the `startSchedule`, or the installation time of a
    profile that has none. `has_start_schedule` says which, for the rules that check it.
    """

    profile_id: int
    port: int
    purpose: str
    stack_level: int
    rate_unit: str
    periods: tuple[Period, ...]
    start: datetime
    kind: str = "Absolute"
    has_start_schedule: bool = True
    duration_s: int | None = None
    recurrency_s: int | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: str | None = None

    def valid_at(self, now: datetime) -> bool:
        after_start = self.valid_from is None or now >= self.valid_from
        return after_start and (self.valid_to is None or now < self.valid_to)

    def limit_a_at(self, now: datetime) -> float | None:
        """The per-phase current limit at `now`, or None when the profile does not apply."""
        if not self.valid_at(now):
            return None
        elapsed_s = self._elapsed_s(now)
        if elapsed_s is None:
            return None
        started = [period for period in self.periods if period.start_s <= elapsed_s]
        return amps_per_phase(started[-1], self.rate_unit) if started else None

    def _elapsed_s(self, now: datetime) -> float | None:
        elapsed_s = (now - self.start).total_seconds()
        if elapsed_s < 0:
            return None
        if self.recurrency_s:
            elapsed_s %= self.recurrency_s
        if self.duration_s is not None and elapsed_s >= self.duration_s:
            return None
        return elapsed_s

    def changes_between(self, begin: datetime, end: datetime) -> Iterator[datetime]:
        """Every moment in (begin, end) where this profile's limit may change."""
        edges = [self.valid_from, self.valid_to]
        cycle_s = self.recurrency_s or 0
        first_cycle = 0
        if cycle_s:
            first_cycle = max(0, int((begin - self.start).total_seconds() // cycle_s))
        cycle = first_cycle
        while True:
            cycle_start = self.start + timedelta(seconds=cycle * cycle_s)
            if cycle_start >= end:
                break
            edges.extend(cycle_start + timedelta(seconds=p.start_s) for p in self.periods)
            if self.duration_s is not None:
                edges.append(cycle_start + timedelta(seconds=self.duration_s))
            if not cycle_s:
                break
            cycle += 1
        yield from (edge for edge in edges if edge is not None and begin < edge < end)


def amps_per_phase(period: Period, rate_unit: str) -> float:
    if rate_unit == "A":
        return period.limit
    phases = period.number_phases or DEFAULT_NUMBER_PHASES
    return period.limit / (NOMINAL_VOLTAGE_V * phases)


def _optional_time(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def _periods(schedule: Mapping[str, Any]) -> tuple[Period, ...]:
    # Kept in the order received: the rules refuse periods that are out of order.
    return tuple(
        Period(int(p["start_period"]), float(p["limit"]), p.get("number_phases"))
        for p in schedule["charging_schedule_period"]
    )


def _profile(
    profile_id: int, port: int, raw: Mapping[str, Any], schedule: Mapping[str, Any], now: datetime
) -> Profile:
    start_schedule = _optional_time(schedule.get("start_schedule"))
    kind = str(raw.get("charging_profile_kind", "Absolute"))
    transaction_id = raw.get("transaction_id")
    return Profile(
        profile_id=profile_id,
        port=port,
        purpose=str(raw["charging_profile_purpose"]),
        stack_level=int(raw["stack_level"]),
        rate_unit=str(schedule["charging_rate_unit"]),
        periods=_periods(schedule),
        # A Relative schedule runs from the moment it is installed (1.6: "relative to the
        # start of charging"; the simulated station starts charging at once).
        start=start_schedule if start_schedule and kind != "Relative" else now,
        kind=kind,
        has_start_schedule=start_schedule is not None,
        duration_s=schedule.get("duration"),
        # recurrencyKind means something only for a Recurring profile.
        recurrency_s=_RECURRENCY_S.get(str(raw.get("recurrency_kind")))
        if kind == "Recurring"
        else None,
        valid_from=_optional_time(raw.get("valid_from")),
        valid_to=_optional_time(raw.get("valid_to")),
        transaction_id=None if transaction_id is None else str(transaction_id),
    )


def profile_from_v16(connector_id: int, raw: Mapping[str, Any], now: datetime) -> Profile:
    """From a 1.6 `csChargingProfiles` (snake_case keys, as the handler receives it)."""
    return _profile(
        int(raw["charging_profile_id"]), connector_id, raw, raw["charging_schedule"], now
    )


def profile_from_v201(evse_id: int, raw: Mapping[str, Any], now: datetime) -> Profile:
    """From a 2.0.1 `chargingProfile`; only its first schedule is simulated."""
    return _profile(int(raw["id"]), evse_id, raw, raw["charging_schedule"][0], now)
