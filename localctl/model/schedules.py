"""Charging schedules, shared by profiles, composite schedules and reported limits.

A limit in A is per phase, not the sum of the phases (OCPP 1.6 section 7.12; 2.0.1
K01.FR.51). A limit in W is the total; the per-phase current is W / (nominal voltage x
phases) with the *set* voltage of the area, not a measured one (K01.FR.50), and with 3
phases when a period does not say (1.6 section 7.12; K01.FR.49).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from localctl.model.payload import (
    JsonObject,
    integer_at,
    number_at,
    objects_at,
    text_at,
)
from localctl.model.timestamps import format_timestamp, parse_timestamp

DEFAULT_NUMBER_PHASES = 3


class RateUnit(Enum):
    AMPERE = "A"
    WATT = "W"


@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    """One step of a schedule: from `start_offset_s` on, at most `limit` in the schedule's unit."""

    start_offset_s: int
    limit: float
    number_phases: int | None = None
    phase_to_use: int | None = None  # 2.0.1 only (K01.FR.19: only with number_phases == 1)


@dataclass(frozen=True, slots=True)
class ChargingSchedule:
    """A schedule as a composite schedule or a reported limit carries it."""

    rate_unit: RateUnit
    periods: tuple[SchedulePeriod, ...]
    start: datetime | None = None
    duration_s: int | None = None
    min_charging_rate: float | None = None


def watts_to_amps_per_phase(power_w: float, nominal_voltage_v: float, phases: int) -> float:
    """K01.FR.50: current per phase = power / (line voltage x number of phases)."""
    return power_w / (nominal_voltage_v * phases)


def amps_per_phase_to_watts(current_a: float, nominal_voltage_v: float, phases: int) -> float:
    """The inverse of K01.FR.50, for stations that take only W."""
    return current_a * nominal_voltage_v * phases


def period_limit_a(
    period: SchedulePeriod, unit: RateUnit, nominal_voltage_v: float, default_phases: int
) -> float:
    """The per-phase current a period allows."""
    if unit is RateUnit.AMPERE:
        return period.limit
    phases = period.number_phases or default_phases
    return watts_to_amps_per_phase(period.limit, nominal_voltage_v, phases)


def periods_in_unit(
    periods: tuple[SchedulePeriod, ...],
    from_unit: RateUnit,
    to_unit: RateUnit,
    nominal_voltage_v: float,
    default_phases: int = DEFAULT_NUMBER_PHASES,
) -> tuple[SchedulePeriod, ...]:
    """`periods` re-expressed in `to_unit` (K01.FR.50), each with its own number of phases,
    for stations that accept only one unit. The number of phases a period states is kept, so
    the station converts back to the same current."""
    if from_unit is to_unit:
        return periods
    return tuple(
        SchedulePeriod(
            period.start_offset_s,
            rate_in_unit(
                period.limit,
                from_unit,
                to_unit,
                nominal_voltage_v,
                period.number_phases or default_phases,
            ),
            period.number_phases,
            period.phase_to_use,
        )
        for period in periods
    )


def rate_in_unit(
    rate: float, from_unit: RateUnit, to_unit: RateUnit, nominal_voltage_v: float, phases: int
) -> float:
    if from_unit is to_unit:
        return rate
    if to_unit is RateUnit.WATT:
        return amps_per_phase_to_watts(rate, nominal_voltage_v, phases)
    return watts_to_amps_per_phase(rate, nominal_voltage_v, phases)


def floor_to_tenth(limit: float) -> float:
    """A limit with one decimal, never above `limit`: rounding up would let a station draw
    more than the controller allotted. The epsilon absorbs binary fractions (2.9999... = 3)."""
    return math.floor(limit * 10 + 1e-9) / 10


def periods_to_json(periods: tuple[SchedulePeriod, ...], one_decimal: bool) -> list[JsonObject]:
    """`one_decimal`: 1.6 limits accept at most one fractional digit (1.6 section 7.14), so
    they are floored to a tenth."""
    return [_period_to_json(period, one_decimal) for period in periods]


def _period_to_json(period: SchedulePeriod, one_decimal: bool) -> JsonObject:
    limit = floor_to_tenth(period.limit) if one_decimal else period.limit
    item: JsonObject = {"startPeriod": period.start_offset_s, "limit": limit}
    if period.number_phases is not None:
        item["numberPhases"] = period.number_phases
    if period.phase_to_use is not None and not one_decimal:
        item["phaseToUse"] = period.phase_to_use
    return item


def periods_from_json(schedule: JsonObject) -> tuple[SchedulePeriod, ...] | None:
    """The periods of a schedule object, or None when any is unreadable or there are none."""
    periods = []
    for item in objects_at(schedule, "chargingSchedulePeriod"):
        start_s, limit = integer_at(item, "startPeriod"), number_at(item, "limit")
        if start_s is None or limit is None:
            return None
        phases, phase = integer_at(item, "numberPhases"), integer_at(item, "phaseToUse")
        periods.append(SchedulePeriod(start_s, limit, phases, phase))
    return tuple(periods) or None


def rate_unit_from_json(schedule: JsonObject) -> RateUnit | None:
    try:
        return RateUnit(text_at(schedule, "chargingRateUnit"))
    except ValueError:
        return None


def schedule_from_json(schedule: JsonObject, start_key: str) -> ChargingSchedule | None:
    """A schedule object (1.6 `startSchedule`, 2.0.1 composite `scheduleStart`), or None."""
    unit, periods = rate_unit_from_json(schedule), periods_from_json(schedule)
    if unit is None or periods is None:
        return None
    return ChargingSchedule(
        unit,
        periods,
        parse_timestamp(schedule.get(start_key)),
        integer_at(schedule, "duration"),
        number_at(schedule, "minChargingRate"),
    )


def optional_timestamp(key: str, moment: datetime | None) -> JsonObject:
    """`{key: text}` when `moment` is set, else nothing: for building payloads with `**`."""
    return {} if moment is None else {key: format_timestamp(moment)}
