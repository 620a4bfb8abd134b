"""The charging-profile codec: one `ProfileSpec` for both versions' SetChargingProfile.

Rules enforced on what the controller sends (`to_payload` raises `NotExpressibleError`):
- never ChargingStationExternalConstraints towards a station (2.0.1 K14.FR.06, K01.FR.22);
- a station-wide maximum sits on EVSE/connector 0 (1.6 section 3.13.1) and is not Relative
  (2.0.1 K01.FR.38); a TxProfile sits on an EVSE > 0 (1.6 section 3.13.1, K01.FR.16) and in
  2.0.1 names its transaction (K01.FR.03);
- the first period starts at 0 (1.6 section 7.13, K01.FR.31), periods ascend (K01.FR.35);
- Absolute and Recurring have a schedule start, Relative has none (K01.FR.40, K01.FR.41);
- phaseToUse only with one phase (K01.FR.19), and only in 2.0.1.
`from_payload` reads a CSMS's request leniently: whatever it says is recorded as said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum
from typing import TypeVar

from localctl.model.errors import NotExpressibleError, UnreadablePayloadError
from localctl.model.payload import JsonObject, integer_at, number_at, object_at, objects_at
from localctl.model.schedules import (
    DEFAULT_NUMBER_PHASES,
    RateUnit,
    SchedulePeriod,
    optional_timestamp,
    periods_from_json,
    periods_in_unit,
    periods_to_json,
    rate_in_unit,
    rate_unit_from_json,
)
from localctl.model.timestamps import parse_timestamp
from localctl.relay.versions import OcppVersion

_E = TypeVar("_E", bound=Enum)


class ProfilePurpose(Enum):
    STATION_MAX = "station_max"
    TX_DEFAULT = "tx_default"
    TX = "tx"
    EXTERNAL_CONSTRAINTS = "external_constraints"  # read from 2.0.1 only, never sent


class ProfileKind(Enum):
    ABSOLUTE = "Absolute"
    RECURRING = "Recurring"
    RELATIVE = "Relative"


class Recurrency(Enum):
    DAILY = "Daily"
    WEEKLY = "Weekly"


_PURPOSE_NAMES: dict[OcppVersion, dict[ProfilePurpose, str]] = {
    OcppVersion.V16: {
        ProfilePurpose.STATION_MAX: "ChargePointMaxProfile",
        ProfilePurpose.TX_DEFAULT: "TxDefaultProfile",
        ProfilePurpose.TX: "TxProfile",
    },
    OcppVersion.V201: {
        ProfilePurpose.STATION_MAX: "ChargingStationMaxProfile",
        ProfilePurpose.TX_DEFAULT: "TxDefaultProfile",
        ProfilePurpose.TX: "TxProfile",
        ProfilePurpose.EXTERNAL_CONSTRAINTS: "ChargingStationExternalConstraints",
    },
}


def purpose_name(version: OcppVersion, purpose: ProfilePurpose) -> str:
    """The purpose's name in `version`; NotExpressibleError where the version has none."""
    try:
        return _PURPOSE_NAMES[_codec_version(version)][purpose]
    except KeyError:
        raise NotExpressibleError(f"{purpose.name} does not exist in {version.value}") from None


def purpose_from_name(version: OcppVersion, name: object) -> ProfilePurpose | None:
    names = _PURPOSE_NAMES.get(version, {})
    return next((purpose for purpose, known in names.items() if known == name), None)


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    """A charging profile in version-independent form; `evse_id` 0 means the whole station
    (1.6: the connector id, since a 1.6 connector is what 2.0.1 calls an EVSE)."""

    profile_id: int
    purpose: ProfilePurpose
    stack_level: int
    evse_id: int
    kind: ProfileKind
    rate_unit: RateUnit
    periods: tuple[SchedulePeriod, ...]
    schedule_start: datetime | None = None
    duration_s: int | None = None
    recurrency: Recurrency | None = None
    transaction_id: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    min_charging_rate: float | None = None
    schedule_id: int | None = None  # 2.0.1 chargingSchedule.id; the profile id when None

    def to_payload(self, version: OcppVersion) -> JsonObject:
        """A schema-valid SetChargingProfile request for `version`."""
        return profile_to_payload(self, version)

    @staticmethod
    def from_payload(version: OcppVersion, payload: JsonObject) -> ProfileSpec:
        """Read a SetChargingProfile request (as a CSMS sends it); UnreadablePayloadError if it
        lacks what a profile needs."""
        return profile_from_payload(version, payload)


def in_unit(
    spec: ProfileSpec,
    unit: RateUnit,
    nominal_voltage_v: float,
    default_phases: int = DEFAULT_NUMBER_PHASES,
) -> ProfileSpec:
    """`spec` with its limits re-expressed in `unit` (K01.FR.50): for stations that take only
    W or only A. `default_phases` is what a station assumes when a period states none (3 by
    1.6 section 7.12 and K01.FR.49)."""
    if unit is spec.rate_unit:
        return spec
    periods = periods_in_unit(spec.periods, spec.rate_unit, unit, nominal_voltage_v, default_phases)
    rate = spec.min_charging_rate
    if rate is not None:
        rate = rate_in_unit(rate, spec.rate_unit, unit, nominal_voltage_v, default_phases)
    return replace(spec, rate_unit=unit, periods=periods, min_charging_rate=rate)


def profile_to_payload(spec: ProfileSpec, version: OcppVersion) -> JsonObject:
    check_sendable(spec, version)
    if _codec_version(version) is OcppVersion.V16:
        return {"connectorId": spec.evse_id, "csChargingProfiles": profile_object_16(spec)}
    return {"evseId": spec.evse_id, "chargingProfile": profile_object_201(spec)}


def profile_object_16(spec: ProfileSpec) -> JsonObject:
    """The 1.6 ChargingProfile object (also what RemoteStartTransaction carries)."""
    return {
        "chargingProfileId": spec.profile_id,
        **({} if spec.transaction_id is None else {"transactionId": int(spec.transaction_id)}),
        "stackLevel": spec.stack_level,
        "chargingProfilePurpose": purpose_name(OcppVersion.V16, spec.purpose),
        **_kind_fields(spec),
        "chargingSchedule": {
            **({} if spec.duration_s is None else {"duration": spec.duration_s}),
            **optional_timestamp("startSchedule", spec.schedule_start),
            "chargingRateUnit": spec.rate_unit.value,
            "chargingSchedulePeriod": periods_to_json(spec.periods, one_decimal=True),
            **_min_rate(spec, one_decimal=True),
        },
    }


def profile_object_201(spec: ProfileSpec) -> JsonObject:
    """The 2.0.1 ChargingProfileType object (also what RequestStartTransaction carries)."""
    schedule_id = spec.profile_id if spec.schedule_id is None else spec.schedule_id
    return {
        "id": spec.profile_id,
        "stackLevel": spec.stack_level,
        "chargingProfilePurpose": purpose_name(OcppVersion.V201, spec.purpose),
        **_kind_fields(spec),
        "chargingSchedule": [
            {
                "id": schedule_id,
                **optional_timestamp("startSchedule", spec.schedule_start),
                **({} if spec.duration_s is None else {"duration": spec.duration_s}),
                "chargingRateUnit": spec.rate_unit.value,
                "chargingSchedulePeriod": periods_to_json(spec.periods, one_decimal=False),
                **_min_rate(spec, one_decimal=False),
            }
        ],
        **({} if spec.transaction_id is None else {"transactionId": spec.transaction_id}),
    }


def _kind_fields(spec: ProfileSpec) -> JsonObject:
    return {
        "chargingProfileKind": spec.kind.value,
        **({} if spec.recurrency is None else {"recurrencyKind": spec.recurrency.value}),
        **optional_timestamp("validFrom", spec.valid_from),
        **optional_timestamp("validTo", spec.valid_to),
    }


def _min_rate(spec: ProfileSpec, one_decimal: bool) -> JsonObject:
    rate = spec.min_charging_rate
    if rate is None:
        return {}
    return {"minChargingRate": round(rate, 1) if one_decimal else rate}


def check_sendable(spec: ProfileSpec, version: OcppVersion) -> None:
    """Raise NotExpressibleError when the controller must not send `spec` (rules at the top)."""
    v16 = _codec_version(version) is OcppVersion.V16
    broken = next((rule for rule, violated in _SENDING_RULES if violated(spec, v16)), None)
    if broken is not None:
        raise NotExpressibleError(f"profile {spec.profile_id}: {broken}")


def _starts(spec: ProfileSpec) -> list[int]:
    return [period.start_offset_s for period in spec.periods]


def _is_tx(spec: ProfileSpec) -> bool:
    return spec.purpose is ProfilePurpose.TX


def _is_station_max(spec: ProfileSpec) -> bool:
    return spec.purpose is ProfilePurpose.STATION_MAX


# (what is wrong, whether `spec` breaks it when sent in 1.6 (True) or 2.0.1 (False)).
_SENDING_RULES: tuple[tuple[str, Callable[[ProfileSpec, bool], bool]], ...] = (
    (
        "K14.FR.06: never ChargingStationExternalConstraints",
        lambda spec, _: spec.purpose is ProfilePurpose.EXTERNAL_CONSTRAINTS,
    ),
    ("no schedule periods", lambda spec, _: not spec.periods),
    ("the first period must start at 0 (K01.FR.31)", lambda spec, _: _starts(spec)[0] != 0),
    (
        "periods must ascend (K01.FR.35)",
        lambda spec, _: _starts(spec) != sorted(set(_starts(spec))),
    ),
    ("stack level must be >= 0", lambda spec, _: spec.stack_level < 0),
    ("limits cannot be negative", lambda spec, _: any(p.limit < 0 for p in spec.periods)),
    (
        "a duration must be positive",
        lambda spec, _: spec.duration_s is not None and spec.duration_s <= 0,
    ),
    (
        "a station maximum belongs on EVSE 0",
        lambda spec, _: _is_station_max(spec) and spec.evse_id != 0,
    ),
    (
        "a station maximum cannot be Relative (K01.FR.38)",
        lambda spec, _: _is_station_max(spec) and spec.kind is ProfileKind.RELATIVE,
    ),
    ("a TxProfile belongs on an EVSE > 0 (K01.FR.16)", lambda s, _: _is_tx(s) and s.evse_id <= 0),
    (
        "a TxProfile needs its transaction id (K01.FR.03)",
        lambda spec, v16: _is_tx(spec) and spec.transaction_id is None and not v16,
    ),
    (
        "1.6 transaction ids are integers",
        lambda spec, v16: (
            v16 and spec.transaction_id is not None and not _is_int_text(spec.transaction_id)
        ),
    ),
    (
        "only a TxProfile names a transaction",
        lambda spec, _: spec.transaction_id is not None and not _is_tx(spec),
    ),
    (
        "Absolute and Recurring need a schedule start (K01.FR.40)",
        lambda spec, _: spec.kind is not ProfileKind.RELATIVE and spec.schedule_start is None,
    ),
    (
        "Relative has no schedule start (K01.FR.41)",
        lambda spec, _: spec.kind is ProfileKind.RELATIVE and spec.schedule_start is not None,
    ),
    (
        "Recurring needs a recurrency, and only Recurring has one",
        lambda spec, _: (spec.kind is ProfileKind.RECURRING) != (spec.recurrency is not None),
    ),
    (
        "phaseToUse needs one phase (K01.FR.19) and 2.0.1",
        lambda spec, v16: any(
            period.phase_to_use is not None and (v16 or period.number_phases != 1)
            for period in spec.periods
        ),
    ),
)


def _is_int_text(text: str) -> bool:
    return text.lstrip("-").isdigit() and text.isascii()


def _codec_version(version: OcppVersion) -> OcppVersion:
    if version is OcppVersion.V21:
        raise NotExpressibleError("the profile codec speaks 1.6 and 2.0.1 only")
    return version


# -- reading a CSMS's request --------------------------------------------------------------


def profile_from_payload(version: OcppVersion, payload: JsonObject) -> ProfileSpec:
    if not isinstance(payload, dict):
        raise UnreadablePayloadError("SetChargingProfile payload is not an object")
    if _codec_version(version) is OcppVersion.V16:
        evse_id, profile = (
            integer_at(payload, "connectorId"),
            object_at(payload, "csChargingProfiles"),
        )
    else:
        evse_id, profile = integer_at(payload, "evseId"), object_at(payload, "chargingProfile")
    if evse_id is None or profile is None:
        raise UnreadablePayloadError("SetChargingProfile without its EVSE or its profile")
    return profile_from_object(version, profile, evse_id)


def profile_from_object(version: OcppVersion, profile: JsonObject, evse_id: int) -> ProfileSpec:
    """Read a ChargingProfile object of `version` installed on `evse_id`."""
    v16 = _codec_version(version) is OcppVersion.V16
    profile_id = integer_at(profile, "chargingProfileId" if v16 else "id")
    schedule = object_at(profile, "chargingSchedule") if v16 else _first_schedule(profile)
    purpose = purpose_from_name(version, profile.get("chargingProfilePurpose"))
    stack_level = integer_at(profile, "stackLevel")
    kind = _enum_or_none(ProfileKind, profile.get("chargingProfileKind"))
    if profile_id is None or schedule is None or purpose is None:
        raise UnreadablePayloadError("charging profile lacks its id, schedule or purpose")
    if stack_level is None or kind is None:
        raise UnreadablePayloadError("charging profile lacks its stack level or kind")
    unit, periods = rate_unit_from_json(schedule), periods_from_json(schedule)
    if unit is None or periods is None:
        raise UnreadablePayloadError("charging schedule lacks its unit or readable periods")
    transaction = profile.get("transactionId")
    if not isinstance(transaction, int | str) or isinstance(transaction, bool):
        transaction = None
    return ProfileSpec(
        profile_id=profile_id,
        purpose=purpose,
        stack_level=stack_level,
        evse_id=evse_id,
        kind=kind,
        rate_unit=unit,
        periods=periods,
        schedule_start=parse_timestamp(schedule.get("startSchedule")),
        duration_s=integer_at(schedule, "duration"),
        recurrency=_enum_or_none(Recurrency, profile.get("recurrencyKind")),
        transaction_id=None if transaction is None else str(transaction),
        valid_from=parse_timestamp(profile.get("validFrom")),
        valid_to=parse_timestamp(profile.get("validTo")),
        min_charging_rate=number_at(schedule, "minChargingRate"),
        schedule_id=None if v16 else integer_at(schedule, "id"),
    )


def _first_schedule(profile: JsonObject) -> JsonObject | None:
    # Up to three schedules only with ISO 15118 (K01.FR.34, K15); the first is the one a
    # station applies until the EV picks another, so that is the one recorded.
    schedules = objects_at(profile, "chargingSchedule")
    return schedules[0] if schedules else None


def _enum_or_none(enum: type[_E], value: object) -> _E | None:
    try:
        return enum(value)
    except ValueError:
        return None
