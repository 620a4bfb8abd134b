"""Sampled values of both versions read into `MeterSample`s.

Rules (OCPP 1.6 section 7.43 SampledValue; 2.0.1 SampledValueType and UnitOfMeasureType):
- a value without a measurand is Energy.Active.Import.Register, without a unit it is in the
  measurand's base unit (Wh, W, A, V, Percent); 2.0.1 multiplies by 10^multiplier;
- 1.6 values are decimal strings (SignedData ones are skipped), 2.0.1 values numbers; both
  are accepted either way, since stations get this wrong;
- a value whose unit does not fit its measurand is skipped rather than guessed at;
- location Outlet (the default) wins over Cable, Inlet, EV and Body for the same measurand
  and phase: the controller limits what leaves the EVSE;
- per-phase currents (L1, L1-N, ...) fill the EVSE's (L1, L2, L3); a total power or energy
  wins over the sum of per-phase ones; line-to-line and neutral readings are not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from localctl.model.events import MeterSample
from localctl.model.payload import JsonObject, as_number, integer_at, object_at, objects_at
from localctl.model.payload import text_at as text
from localctl.model.timestamps import parse_timestamp

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
OFFERED = "Current.Offered"
VOLTAGE = "Voltage"
SOC = "SoC"

_UNIT_SCALE = {
    ENERGY: {"Wh": 1.0, "kWh": 1000.0},
    POWER: {"W": 1.0, "kW": 1000.0},
    CURRENT: {"A": 1.0},
    OFFERED: {"A": 1.0},
    VOLTAGE: {"V": 1.0},
    SOC: {"Percent": 1.0},
}
_BASE_UNIT = {measurand: next(iter(units)) for measurand, units in _UNIT_SCALE.items()}
_LOCATION_RANK = {None: 0, "Outlet": 0, "Cable": 1, "Inlet": 2, "EV": 3, "Body": 4}
_CONDUCTOR = {"L1": 0, "L1-N": 0, "L2": 1, "L2-N": 1, "L3": 2, "L3-N": 2}
_MAX_EXPONENT = 9
_UNPHASED = None


@dataclass(frozen=True, slots=True)
class _Reading:
    measurand: str
    conductor: int | None  # 0..2 for L1..L3, None for an overall value
    location_rank: int
    value: float  # in the measurand's base unit


def samples_from(
    meter_values: list[JsonObject],
    station_id: str,
    evse_id: int | None,
    transaction_id: str | None,
) -> list[MeterSample]:
    """One MeterSample per meterValue that holds at least one usable reading."""
    samples = (_sample(item, station_id, evse_id, transaction_id) for item in meter_values)
    return [sample for sample in samples if sample is not None]


def first_energy_wh(samples: list[MeterSample]) -> float | None:
    return next((s.energy_wh for s in samples if s.energy_wh is not None), None)


def last_energy_wh(samples: list[MeterSample]) -> float | None:
    return first_energy_wh(samples[::-1])


def _sample(
    meter_value: JsonObject, station_id: str, evse_id: int | None, transaction_id: str | None
) -> MeterSample | None:
    best = _best_readings(objects_at(meter_value, "sampledValue"))
    if not best:
        return None
    currents = (_value(best, CURRENT, 0), _value(best, CURRENT, 1), _value(best, CURRENT, 2))
    return MeterSample(
        station_id=station_id,
        evse_id=evse_id,
        transaction_id=transaction_id,
        current_a=None if currents == (None, None, None) else currents,
        power_w=_total(best, POWER),
        energy_wh=_total(best, ENERGY),
        soc_percent=_value(best, SOC, _UNPHASED),
        voltage_v=_overall_or_l1(best, VOLTAGE),
        timestamp=_timestamp(meter_value),
        current_unphased_a=_value(best, CURRENT, _UNPHASED),
        current_offered_a=_overall_or_l1(best, OFFERED),
    )


def _timestamp(meter_value: JsonObject) -> datetime | None:
    return parse_timestamp(meter_value.get("timestamp"))


def _best_readings(sampled_values: list[JsonObject]) -> dict[tuple[str, int | None], _Reading]:
    best: dict[tuple[str, int | None], _Reading] = {}
    for item in sampled_values:
        reading = _reading(item)
        if reading is None:
            continue
        key = (reading.measurand, reading.conductor)
        if key not in best or reading.location_rank < best[key].location_rank:
            best[key] = reading
    return best


def _reading(item: JsonObject) -> _Reading | None:
    measurand = item.get("measurand", ENERGY)
    location, phase = item.get("location"), item.get("phase")
    # Membership tests only on strings: a list or object here would be unhashable.
    if not isinstance(measurand, str) or measurand not in _UNIT_SCALE:
        return None
    if not (location is None or isinstance(location, str)) or location not in _LOCATION_RANK:
        return None
    if item.get("format") == "SignedData":
        return None
    if phase is not None and (not isinstance(phase, str) or phase not in _CONDUCTOR):
        return None
    raw, scale = as_number(item.get("value")), _scale(item, measurand)
    if raw is None or scale is None:
        return None
    conductor = None if phase is None else _CONDUCTOR[phase]
    return _Reading(measurand, conductor, _LOCATION_RANK[location], raw * scale)


def _scale(item: JsonObject, measurand: str) -> float | None:
    """The factor to the measurand's base unit; None for a unit that does not fit it."""
    unit_of_measure = object_at(item, "unitOfMeasure")  # 2.0.1
    exponent: int | None = 0
    if unit_of_measure is None:
        unit = text(item, "unit")
    else:
        unit = text(unit_of_measure, "unit")
        if "multiplier" in unit_of_measure:
            exponent = integer_at(unit_of_measure, "multiplier")
    if exponent is None or abs(exponent) > _MAX_EXPONENT:
        return None
    factor = _UNIT_SCALE[measurand].get(unit or _BASE_UNIT[measurand])
    return None if factor is None else factor * 10.0**exponent


def _value(
    best: dict[tuple[str, int | None], _Reading], measurand: str, conductor: int | None
) -> float | None:
    reading = best.get((measurand, conductor))
    return None if reading is None else reading.value


def _overall_or_l1(best: dict[tuple[str, int | None], _Reading], measurand: str) -> float | None:
    overall = _value(best, measurand, _UNPHASED)
    return _value(best, measurand, 0) if overall is None else overall


def _total(best: dict[tuple[str, int | None], _Reading], measurand: str) -> float | None:
    overall = _value(best, measurand, _UNPHASED)
    if overall is not None:
        return overall
    phases = [v for c in range(3) if (v := _value(best, measurand, c)) is not None]
    return sum(phases) if phases else None
