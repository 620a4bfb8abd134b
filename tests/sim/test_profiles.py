from __future__ import annotations

from datetime import timedelta

import pytest

from localctl.sim.profiles import Period, profile_from_v16, profile_from_v201
from tests.sim.profile_helpers import NOON, make_profile


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
                {"start_period": 0, "limit": 16.0},
                {"start_period": 600, "limit": 8.0},
            ],
        },
    }
    installed = profile_from_v16(1, raw, now=NOON + timedelta(seconds=30))
    assert installed.limit_a_at(NOON + timedelta(seconds=599)) == 16.0
    assert installed.limit_a_at(NOON + timedelta(seconds=600)) == 8.0
    assert installed.limit_a_at(NOON - timedelta(seconds=1)) is None


def test_v201_relative_profile_runs_from_installation_with_watts_per_its_phases() -> None:
    raw = {
        "id": 9,
        "stack_level": 3,
        "charging_profile_purpose": "TxDefaultProfile",
        "charging_profile_kind": "Relative",
        "transaction_id": "tx-1",
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
    assert (installed.kind, installed.has_start_schedule, installed.transaction_id) == (
        "Relative",
        False,
        "tx-1",
    )
    assert installed.limit_a_at(NOON) == 10.0


def test_watts_without_number_phases_count_three_phases() -> None:
    assert make_profile(limit=6900.0, rate_unit="W").limit_a_at(NOON) == 10.0


def test_validity_window_bounds_the_make_profile() -> None:
    lease = make_profile(valid_from=NOON, valid_to=NOON + timedelta(seconds=120))
    assert lease.limit_a_at(NOON - timedelta(seconds=1)) is None
    assert lease.limit_a_at(NOON + timedelta(seconds=119)) == 16.0
    assert lease.limit_a_at(NOON + timedelta(seconds=120)) is None


def test_duration_ends_the_schedule_and_recurrence_restarts_it() -> None:
    daily = make_profile(duration_s=3600, recurrency_s=86_400)
    assert daily.limit_a_at(NOON + timedelta(minutes=59)) == 16.0
    assert daily.limit_a_at(NOON + timedelta(hours=2)) is None
    assert daily.limit_a_at(NOON + timedelta(days=3, minutes=1)) == 16.0


def test_changes_between_lists_period_starts_validity_edges_and_recurrences() -> None:
    recurring = make_profile(
        periods=(Period(0, 16.0), Period(600, 8.0)),
        recurrency_s=3600,
        valid_to=NOON + timedelta(hours=2),
    )
    changes = sorted(recurring.changes_between(NOON, NOON + timedelta(hours=3)))
    offsets_s = [(moment - NOON).total_seconds() for moment in changes]
    assert offsets_s == [600.0, 3600.0, 4200.0, 7200.0, 7200.0, 7800.0]


@pytest.mark.parametrize(("elapsed_s", "limit"), [(0, 16.0), (299, 16.0), (300, 10.0)])
def test_each_period_holds_until_the_next_starts(elapsed_s: int, limit: float) -> None:
    stepped = make_profile(periods=(Period(0, 16.0), Period(300, 10.0)))
    assert stepped.limit_a_at(NOON + timedelta(seconds=elapsed_s)) == limit
