from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localctl.sim.profiles import (
    Period,
    Profile,
    ProfileStore,
    profile_from_v16,
    profile_from_v201,
    refusal_reason,
)

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def profile(
    purpose: str,
    limit: float,
    *,
    port: int = 0,
    stack_level: int = 0,
    profile_id: int = 1,
    rate_unit: str = "A",
    duration_s: int | None = None,
    valid_to: datetime | None = None,
) -> Profile:
    return Profile(
        profile_id=profile_id,
        port=port,
        purpose=purpose,
        stack_level=stack_level,
        rate_unit=rate_unit,
        periods=(Period(0, limit),),
        start=NOON,
        duration_s=duration_s,
        valid_to=valid_to,
    )


def store_with(*profiles: Profile) -> ProfileStore:
    store = ProfileStore(max_current_a=32.0)
    for each in profiles:
        store.install(each)
    return store


def test_without_profiles_the_hardware_maximum_applies() -> None:
    assert store_with().limit_a(1, NOON) == 32.0


def test_highest_stack_level_wins_within_a_purpose() -> None:
    store = store_with(
        profile("TxDefaultProfile", 10.0, stack_level=1, profile_id=1),
        profile("TxDefaultProfile", 20.0, stack_level=2, profile_id=2),
    )
    assert store.limit_a(1, NOON) == 20.0


def test_tx_profile_overrides_tx_default_and_station_cap_still_bounds() -> None:
    store = store_with(
        profile("TxDefaultProfile", 10.0, profile_id=1),
        profile("TxProfile", 25.0, port=1, profile_id=2),
        profile("ChargingStationMaxProfile", 16.0, profile_id=3),
    )
    assert store.limit_a(1, NOON) == 16.0
    assert store.limit_a(2, NOON) == 10.0


def test_port_profile_beats_station_profile_at_the_same_stack_level() -> None:
    store = store_with(
        profile("TxDefaultProfile", 10.0, port=0, profile_id=1),
        profile("TxDefaultProfile", 14.0, port=2, profile_id=2),
    )
    assert (store.limit_a(1, NOON), store.limit_a(2, NOON)) == (10.0, 14.0)


def test_profile_outside_its_validity_or_duration_does_not_apply() -> None:
    expired = profile("TxDefaultProfile", 6.0, profile_id=1, valid_to=NOON)
    finished = profile("TxDefaultProfile", 7.0, profile_id=2, stack_level=1, duration_s=60)
    store = store_with(expired, finished)
    assert store.limit_a(1, NOON + timedelta(seconds=30)) == 7.0
    assert store.limit_a(1, NOON + timedelta(seconds=61)) == 32.0


def test_watts_become_amps_per_phase_at_nominal_voltage() -> None:
    store = store_with(profile("ChargePointMaxProfile", 6900.0, rate_unit="W"))
    assert store.limit_a(1, NOON) == 10.0


def test_installing_the_same_slot_replaces_and_clear_matches_every_criterion() -> None:
    store = store_with(
        profile("TxDefaultProfile", 10.0, profile_id=1),
        profile("TxDefaultProfile", 12.0, profile_id=2),
        profile("ChargePointMaxProfile", 20.0, profile_id=3),
    )
    assert [p.profile_id for p in store.profiles] == [2, 3]
    assert store.clear(purpose="TxDefaultProfile", stack_level=5) == 0
    assert store.clear(purpose="TxDefaultProfile") == 1
    assert store.limit_a(1, NOON) == 20.0


def test_periods_follow_the_schedule_start() -> None:
    raw = {
        "charging_profile_id": 4,
        "stack_level": 0,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "start_schedule": "2026-06-01T12:00:00Z",
            "charging_rate_unit": "A",
            "charging_schedule_period": [
                {"start_period": 600, "limit": 8.0},
                {"start_period": 0, "limit": 16.0},
            ],
        },
    }
    installed = profile_from_v16(1, raw, now=NOON)
    assert installed.limit_a_at(NOON + timedelta(seconds=599)) == 16.0
    assert installed.limit_a_at(NOON + timedelta(seconds=600)) == 8.0
    assert installed.limit_a_at(NOON - timedelta(seconds=1)) is None


def test_v201_profile_without_start_runs_from_installation() -> None:
    raw = {
        "id": 9,
        "stack_level": 3,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Relative",
        "charging_schedule": [
            {
                "id": 1,
                "charging_rate_unit": "W",
                "charging_schedule_period": [
                    {"start_period": 0, "limit": 2300.0, "number_phases": 1}
                ],
            }
        ],
    }
    installed = profile_from_v201(2, raw, now=NOON)
    assert (installed.port, installed.stack_level, installed.start) == (2, 3, NOON)
    assert installed.limit_a_at(NOON) == 10.0


@pytest.mark.parametrize(
    ("purpose", "port", "transaction_running", "reason"),
    [
        ("TxDefaultProfile", 0, False, None),
        ("TxDefaultProfile", 1, False, None),
        ("TxProfile", 1, True, None),
        ("TxProfile", 1, False, "TxNotFound"),
        ("ChargePointMaxProfile", 0, False, None),
        ("ChargingStationMaxProfile", 1, False, "InvalidProfile"),
        ("ChargingStationExternalConstraints", 0, False, "InvalidProfile"),
    ],
)
def test_station_refuses_profiles_where_they_do_not_belong(
    purpose: str, port: int, transaction_running: bool, reason: str | None
) -> None:
    assert refusal_reason(purpose, port, transaction_running) == reason
