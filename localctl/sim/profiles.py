"""Charging profiles installed on a simulated station, and the limit they give.

A simplified but honest composition, enough for the controller's tests and the demo:
per purpose the highest stack level wins (a profile for the port beats one for the whole
station at the same level); the limit is the lowest of the station-wide caps and of
TxProfile-or-else-TxDefaultProfile, then the hardware maximum. Limits in W are turned into
A per phase at a nominal voltage. Pure functions of the profiles and the time given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from localctl.sim.ocpp_glue import parse_iso

NOMINAL_VOLTAGE_V = 230.0
STATION_CAP_PURPOSES = (
    "ChargePointMaxProfile",
    "ChargingStationMaxProfile",
    "ChargingStationExternalConstraints",
)
TX_PURPOSES_BY_PRECEDENCE = ("TxProfile", "TxDefaultProfile")
_RECURRENCY_S = {"Daily": 86_400, "Weekly": 604_800}
# Station-wide caps go on port 0 only. External constraints come from an external system
# through the station itself, never in a SetChargingProfile (K14.FR.06 for controllers).
_STATION_ONLY_PURPOSES = frozenset({"ChargePointMaxProfile", "ChargingStationMaxProfile"})
_NEVER_SET_BY_CALL = frozenset({"ChargingStationExternalConstraints"})


def refusal_reason(purpose: str, port: int, transaction_running: bool) -> str | None:
    """Why a station refuses a SetChargingProfile for `port`, or None when it accepts."""
    if purpose in _NEVER_SET_BY_CALL:
        return "InvalidProfile"
    if purpose in _STATION_ONLY_PURPOSES and port != 0:
        return "InvalidProfile"
    if purpose == "TxProfile" and not transaction_running:
        # A TxProfile belongs to a running transaction (1.6 section 3.13.4, 2.0.1 K01.FR.09).
        return "TxNotFound"
    return None


@dataclass(frozen=True)
class Period:
    start_s: int
    limit: float
    number_phases: int | None = None


@dataclass(frozen=True)
class Profile:
    """One installed profile; `port` is the connector (1.6) or EVSE (2.0.1), 0 = station."""

    profile_id: int
    port: int
    purpose: str
    stack_level: int
    rate_unit: str
    periods: tuple[Period, ...]
    start: datetime
    duration_s: int | None = None
    recurrency_s: int | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def limit_a_at(self, now: datetime) -> float | None:
        """The per-phase current limit at `now`, or None when the profile is not in force."""
        if (self.valid_from and now < self.valid_from) or (self.valid_to and now >= self.valid_to):
            return None
        elapsed_s = (now - self.start).total_seconds()
        if self.recurrency_s:
            elapsed_s %= self.recurrency_s
        if elapsed_s < 0 or (self.duration_s is not None and elapsed_s >= self.duration_s):
            return None
        started = [period for period in self.periods if period.start_s <= elapsed_s]
        return _as_amps(started[-1], self.rate_unit) if started else None


def _as_amps(period: Period, rate_unit: str) -> float:
    if rate_unit == "A":
        return period.limit
    return period.limit / (NOMINAL_VOLTAGE_V * (period.number_phases or 3))


def _optional_time(text: str | None) -> datetime | None:
    return parse_iso(text) if text else None


def _periods(schedule: Mapping[str, Any]) -> tuple[Period, ...]:
    raw = sorted(schedule["charging_schedule_period"], key=lambda p: int(p["start_period"]))
    return tuple(
        Period(int(p["start_period"]), float(p["limit"]), p.get("number_phases")) for p in raw
    )


def _profile(
    profile_id: int, port: int, raw: Mapping[str, Any], schedule: Mapping[str, Any], now: datetime
) -> Profile:
    # Without a startSchedule (Relative profiles, or a station that got none) the schedule
    # runs from the moment it was installed.
    return Profile(
        profile_id=profile_id,
        port=port,
        purpose=str(raw["charging_profile_purpose"]),
        stack_level=int(raw["stack_level"]),
        rate_unit=str(schedule["charging_rate_unit"]),
        periods=_periods(schedule),
        start=_optional_time(schedule.get("start_schedule")) or now,
        duration_s=schedule.get("duration"),
        recurrency_s=_RECURRENCY_S.get(str(raw.get("recurrency_kind"))),
        valid_from=_optional_time(raw.get("valid_from")),
        valid_to=_optional_time(raw.get("valid_to")),
    )


def profile_from_v16(connector_id: int, raw: Mapping[str, Any], now: datetime) -> Profile:
    """From a 1.6 `csChargingProfiles` (snake_case keys, as the handler receives it)."""
    return _profile(
        int(raw["charging_profile_id"]), connector_id, raw, raw["charging_schedule"], now
    )


def profile_from_v201(evse_id: int, raw: Mapping[str, Any], now: datetime) -> Profile:
    """From a 2.0.1 `chargingProfile`; only its first schedule is simulated."""
    return _profile(int(raw["id"]), evse_id, raw, raw["charging_schedule"][0], now)


def _winner(profiles: Iterable[Profile], port: int, now: datetime) -> float | None:
    in_force = [(p, p.limit_a_at(now)) for p in profiles if p.port in (0, port)]
    ranked = sorted(
        ((p.stack_level, p.port, limit) for p, limit in in_force if limit is not None),
        reverse=True,
    )
    return ranked[0][2] if ranked else None


class ProfileStore:
    """Installed profiles of one station, replaced and cleared by the OCPP rules."""

    def __init__(self, max_current_a: float) -> None:
        self.max_current_a = max_current_a
        self.profiles: list[Profile] = []

    def install(self, profile: Profile) -> None:
        """Replace any profile with the same id, or the same port, purpose and stack level."""
        self.profiles = [p for p in self.profiles if not _replaced_by(p, profile)]
        self.profiles.append(profile)

    def clear(
        self,
        profile_id: int | None = None,
        port: int | None = None,
        purpose: str | None = None,
        stack_level: int | None = None,
    ) -> int:
        """Remove the profiles matching every criterion given; returns how many went."""
        criteria = {"profile_id": profile_id, "port": port, "purpose": purpose}
        criteria["stack_level"] = stack_level
        wanted = {name: value for name, value in criteria.items() if value is not None}
        kept = [p for p in self.profiles if any(getattr(p, k) != v for k, v in wanted.items())]
        removed = len(self.profiles) - len(kept)
        self.profiles = kept
        return removed

    def limit_a(self, port: int, now: datetime) -> float:
        """The current per phase the port may draw at `now`."""
        limits = [self.max_current_a]
        for purpose in STATION_CAP_PURPOSES:
            limits.append(self._purpose_limit(purpose, port, now))
        tx_limits = [self._purpose_limit(p, port, now) for p in TX_PURPOSES_BY_PRECEDENCE]
        limits.append(next((limit for limit in tx_limits if limit < float("inf")), float("inf")))
        return min(limits)

    def _purpose_limit(self, purpose: str, port: int, now: datetime) -> float:
        limit = _winner((p for p in self.profiles if p.purpose == purpose), port, now)
        return float("inf") if limit is None else limit


def _replaced_by(old: Profile, new: Profile) -> bool:
    same_slot = (old.port, old.purpose, old.stack_level) == (
        new.port,
        new.purpose,
        new.stack_level,
    )
    return old.profile_id == new.profile_id or same_slot
