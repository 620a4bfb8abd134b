from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localctl.model.clearing import ClearSpec
from localctl.model.errors import UnreadablePayloadError
from localctl.model.profiles import ProfileKind, ProfilePurpose, ProfileSpec
from localctl.model.schedules import RateUnit, SchedulePeriod
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion
from tests.model.fuzzing import PAYLOADS

V16, V201 = OcppVersion.V16, OcppVersion.V201


def profile(
    profile_id: int, purpose: ProfilePurpose, stack_level: int, evse_id: int
) -> ProfileSpec:
    periods = (SchedulePeriod(0, 16.0),)
    return ProfileSpec(
        profile_id, purpose, stack_level, evse_id, ProfileKind.RELATIVE, RateUnit.AMPERE, periods
    )


INSTALLED = [
    profile(1, ProfilePurpose.TX_DEFAULT, 0, 0),
    profile(2, ProfilePurpose.TX_DEFAULT, 1, 1),
    profile(3, ProfilePurpose.STATION_MAX, 0, 0),
    profile(4, ProfilePurpose.EXTERNAL_CONSTRAINTS, 0, 0),
]
CLEARS = [
    ClearSpec(profile_id=2),
    ClearSpec(evse_id=1, purpose=ProfilePurpose.TX_DEFAULT, stack_level=1),
    ClearSpec(purpose=ProfilePurpose.STATION_MAX),
    ClearSpec(),
]


@pytest.mark.parametrize("clear", CLEARS, ids=repr)
@pytest.mark.parametrize("version", [V16, V201], ids=["1.6", "2.0.1"])
def test_clears_round_trip_and_are_schema_valid(
    clear: ClearSpec, version: OcppVersion, schemas: SchemaRegistry
) -> None:
    payload = clear.to_payload(version)
    assert schemas.validate(version, "ClearChargingProfile", payload, is_response=False) is None
    assert ClearSpec.from_payload(version, payload) == clear


def test_criteria_match_as_a_logical_and_and_never_external_constraints() -> None:
    def removed(clear: ClearSpec) -> list[int]:
        return [p.profile_id for p in INSTALLED if clear.removes(p)]

    assert removed(ClearSpec(profile_id=2)) == [2]
    assert removed(ClearSpec(purpose=ProfilePurpose.TX_DEFAULT)) == [1, 2]
    assert removed(ClearSpec(evse_id=0, stack_level=0)) == [1, 3]
    assert removed(ClearSpec()) == [1, 2, 3]
    assert removed(ClearSpec(profile_id=4)) == []


def test_2_0_1_criteria_are_nested() -> None:
    payload = ClearSpec(evse_id=1, stack_level=2).to_payload(V201)
    assert payload == {"chargingProfileCriteria": {"evseId": 1, "stackLevel": 2}}


def test_an_unknown_purpose_does_not_widen_the_clear() -> None:
    with pytest.raises(UnreadablePayloadError):
        ClearSpec.from_payload(V16, {"chargingProfilePurpose": "ChargingStationMaxProfile"})


@given(st.sampled_from([V16, V201]), PAYLOADS)
def test_reading_any_clear_raises_only_the_peer_error(
    version: OcppVersion, payload: dict[str, object]
) -> None:
    with contextlib.suppress(UnreadablePayloadError):
        ClearSpec.from_payload(version, payload)
