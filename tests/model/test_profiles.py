from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localctl.model.errors import NotExpressibleError, UnreadablePayloadError
from localctl.model.profiles import ProfileKind, ProfilePurpose, ProfileSpec, Recurrency, in_unit
from localctl.model.schedules import RateUnit, SchedulePeriod
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion
from tests.model.fuzzing import PAYLOADS, mutated

V16, V201 = OcppVersion.V16, OcppVersion.V201
T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)

LEASE = ProfileSpec(
    profile_id=501,
    purpose=ProfilePurpose.TX_DEFAULT,
    stack_level=2,
    evse_id=1,
    kind=ProfileKind.ABSOLUTE,
    rate_unit=RateUnit.AMPERE,
    periods=(SchedulePeriod(0, 16.0), SchedulePeriod(900, 10.5, 1)),
    schedule_start=T0,
    duration_s=1800,
    valid_to=datetime(2026, 3, 1, 10, 30, tzinfo=UTC),
    min_charging_rate=6.0,
)
FLOOR = ProfileSpec(
    profile_id=100,
    purpose=ProfilePurpose.STATION_MAX,
    stack_level=0,
    evse_id=0,
    kind=ProfileKind.RECURRING,
    recurrency=Recurrency.DAILY,
    rate_unit=RateUnit.WATT,
    periods=(SchedulePeriod(0, 11000.0, 3),),
    schedule_start=datetime(2026, 1, 1, tzinfo=UTC),
)
TX = ProfileSpec(
    profile_id=7,
    purpose=ProfilePurpose.TX,
    stack_level=1,
    evse_id=2,
    kind=ProfileKind.RELATIVE,
    rate_unit=RateUnit.AMPERE,
    periods=(SchedulePeriod(0, 32.0),),
    transaction_id="4711",
)


@pytest.mark.parametrize("spec", [LEASE, FLOOR, TX], ids=["lease", "floor", "tx"])
@pytest.mark.parametrize("version", [V16, V201], ids=["1.6", "2.0.1"])
def test_payloads_are_schema_valid_and_read_back_equal(
    spec: ProfileSpec, version: OcppVersion, schemas: SchemaRegistry
) -> None:
    payload = spec.to_payload(version)
    assert schemas.validate(version, "SetChargingProfile", payload, is_response=False) is None
    wire = json.loads(json.dumps(payload))
    expected = spec if version is V16 else replace(spec, schedule_id=spec.profile_id)
    assert ProfileSpec.from_payload(version, wire) == expected


def test_1_6_payload_has_the_1_6_names() -> None:
    payload = FLOOR.to_payload(V16)
    assert payload["connectorId"] == 0
    profile = payload["csChargingProfiles"]
    assert profile["chargingProfilePurpose"] == "ChargePointMaxProfile"
    assert profile["recurrencyKind"] == "Daily"
    assert profile["chargingSchedule"]["startSchedule"] == "2026-01-01T00:00:00.000Z"


def test_2_0_1_payload_has_a_schedule_list_and_a_string_transaction_id() -> None:
    payload = TX.to_payload(V201)
    assert payload["evseId"] == 2
    profile = payload["chargingProfile"]
    assert profile["chargingProfilePurpose"] == "TxProfile"
    assert profile["transactionId"] == "4711"
    assert [s["id"] for s in profile["chargingSchedule"]] == [7]


def test_1_6_limits_are_floored_to_one_decimal() -> None:
    spec = replace(LEASE, periods=(SchedulePeriod(0, 13.8999), SchedulePeriod(60, 0.3)))
    period = spec.to_payload(V16)["csChargingProfiles"]["chargingSchedule"]
    assert period["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 13.8},
        {"startPeriod": 60, "limit": 0.3},
    ]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"purpose": ProfilePurpose.EXTERNAL_CONSTRAINTS, "evse_id": 0}, "K14.FR.06"),
        ({"periods": (SchedulePeriod(60, 16.0),)}, "K01.FR.31"),
        ({"periods": (SchedulePeriod(0, 16.0), SchedulePeriod(0, 8.0))}, "K01.FR.35"),
        ({"purpose": ProfilePurpose.STATION_MAX}, "EVSE 0"),
        (
            {
                "kind": ProfileKind.RELATIVE,
                "schedule_start": None,
                "evse_id": 0,
                "purpose": ProfilePurpose.STATION_MAX,
            },
            "K01.FR.38",
        ),
        ({"purpose": ProfilePurpose.TX, "evse_id": 0, "transaction_id": "1"}, "K01.FR.16"),
        ({"purpose": ProfilePurpose.TX}, "K01.FR.03"),
        ({"schedule_start": None}, "K01.FR.40"),
        ({"kind": ProfileKind.RELATIVE}, "K01.FR.41"),
        ({"kind": ProfileKind.RECURRING}, "recurrency"),
        ({"transaction_id": "9"}, "only a TxProfile"),
        ({"periods": (SchedulePeriod(0, -1.0),)}, "negative"),
        ({"duration_s": 0}, "positive"),
        ({"periods": (SchedulePeriod(0, 16.0, 3, 2),)}, "K01.FR.19"),
    ],
)
def test_profiles_the_controller_must_not_send_are_refused(
    change: dict[str, object], rule: str
) -> None:
    spec = replace(LEASE, **change)  # type: ignore[arg-type]
    with pytest.raises(NotExpressibleError, match=rule):
        spec.to_payload(V201)


def test_1_6_cannot_carry_a_non_numeric_transaction_id() -> None:
    with pytest.raises(NotExpressibleError, match="integers"):
        replace(TX, transaction_id="f3b1c0de").to_payload(V16)


def test_external_constraints_have_no_1_6_name() -> None:
    with pytest.raises(NotExpressibleError):
        replace(FLOOR, purpose=ProfilePurpose.EXTERNAL_CONSTRAINTS).to_payload(V16)


def test_a_csms_profile_as_sent_is_read_whatever_its_quirks() -> None:
    text = """{"connectorId":1,"csChargingProfiles":{"chargingProfileId":12,"stackLevel":3,
      "chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute",
      "validFrom":"2026-03-01T00:00:00","chargingSchedule":{"chargingRateUnit":"W",
      "startSchedule":"2026-03-01T00:00:00.0000000+01:00",
      "chargingSchedulePeriod":[{"startPeriod":0,"limit":"7400"},{"startPeriod":3600,"limit":3700,"numberPhases":1}]}}}"""
    spec = ProfileSpec.from_payload(V16, json.loads(text))
    assert spec.valid_from == datetime(2026, 3, 1, tzinfo=UTC)
    assert spec.schedule_start == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert spec.periods == (SchedulePeriod(0, 7400.0), SchedulePeriod(3600, 3700.0, 1))


def test_2_0_1_external_constraints_are_read_for_composition() -> None:
    payload = {
        "evseId": 0,
        "chargingProfile": {
            "id": 3,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargingStationExternalConstraints",
            "chargingProfileKind": "Relative",
            "chargingSchedule": [
                {
                    "id": 1,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 20}],
                },
                {
                    "id": 2,
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 8}],
                },
            ],
        },
    }
    spec = ProfileSpec.from_payload(V201, payload)
    assert spec.purpose is ProfilePurpose.EXTERNAL_CONSTRAINTS
    assert (spec.schedule_id, spec.periods) == (1, (SchedulePeriod(0, 20.0),))


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"connectorId": 1},
        {"connectorId": 1, "csChargingProfiles": {"chargingProfileId": 1}},
        {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "ChargingStationMaxProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}],
                },
            },
        },
        {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "kW",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}],
                },
            },
        },
    ],
)
def test_unreadable_profiles_raise_the_peer_error(payload: dict[str, object]) -> None:
    with pytest.raises(UnreadablePayloadError):
        ProfileSpec.from_payload(V16, payload)


LIMITS = st.floats(min_value=0, max_value=1_000_000, allow_nan=False).map(lambda x: round(x, 1))


@given(
    st.lists(st.tuples(st.integers(1, 86_400), LIMITS), max_size=5),
    LIMITS,
    st.integers(0, 10),
    st.sampled_from([V16, V201]),
)
def test_any_well_formed_lease_round_trips(
    schemas: SchemaRegistry,
    later: list[tuple[int, float]],
    first_limit: float,
    stack_level: int,
    version: OcppVersion,
) -> None:
    starts = sorted({start for start, _ in later})
    periods = (
        SchedulePeriod(0, first_limit),
        *(SchedulePeriod(start, limit) for start, (_, limit) in zip(starts, later, strict=False)),
    )
    spec = replace(LEASE, periods=periods, stack_level=stack_level, min_charging_rate=None)
    expected = spec if version is V16 else replace(spec, schedule_id=spec.profile_id)
    payload = spec.to_payload(version)
    assert schemas.validate(version, "SetChargingProfile", payload, is_response=False) is None
    assert ProfileSpec.from_payload(version, payload) == expected


@settings(max_examples=300)
@given(
    st.sampled_from([V16, V201]),
    PAYLOADS | mutated(LEASE.to_payload(V16)) | mutated(TX.to_payload(V201)),
)
def test_reading_any_payload_raises_only_the_peer_error(
    version: OcppVersion, payload: dict[str, object]
) -> None:
    with contextlib.suppress(UnreadablePayloadError):
        ProfileSpec.from_payload(version, payload)


def test_a_profile_in_a_for_a_station_that_takes_only_w() -> None:
    spec = replace(LEASE, periods=(SchedulePeriod(0, 16.0), SchedulePeriod(900, 16.0, 1)))
    in_w = in_unit(spec, RateUnit.WATT, 230.0)
    assert in_w.rate_unit is RateUnit.WATT
    assert [p.limit for p in in_w.periods] == [pytest.approx(11040.0), pytest.approx(3680.0)]
    assert in_w.min_charging_rate == pytest.approx(6.0 * 230 * 3)
    back = in_unit(in_w, RateUnit.AMPERE, 230.0)
    assert [p.limit for p in back.periods] == [pytest.approx(16.0), pytest.approx(16.0)]
    assert in_unit(spec, RateUnit.AMPERE, 230.0) is spec
