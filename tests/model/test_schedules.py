from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localctl.model.schedules import (
    RateUnit,
    SchedulePeriod,
    amps_per_phase_to_watts,
    floor_to_tenth,
    period_limit_a,
    periods_from_json,
    periods_to_json,
    watts_to_amps_per_phase,
)


def test_k01_fr_50_current_per_phase_from_power() -> None:
    assert watts_to_amps_per_phase(11040.0, 230.0, 3) == pytest.approx(16.0)
    assert watts_to_amps_per_phase(3680.0, 230.0, 1) == pytest.approx(16.0)
    assert amps_per_phase_to_watts(16.0, 230.0, 3) == pytest.approx(11040.0)


@given(st.floats(0, 1000), st.sampled_from([110.0, 230.0, 240.0]), st.integers(1, 3))
def test_conversions_are_inverse(current_a: float, voltage_v: float, phases: int) -> None:
    power_w = amps_per_phase_to_watts(current_a, voltage_v, phases)
    assert watts_to_amps_per_phase(power_w, voltage_v, phases) == pytest.approx(current_a)


def test_period_limits_in_a_are_per_phase_and_w_uses_the_periods_phases() -> None:
    assert period_limit_a(SchedulePeriod(0, 16.0, 1), RateUnit.AMPERE, 230.0, 3) == 16.0
    assert period_limit_a(SchedulePeriod(0, 7360.0, 2), RateUnit.WATT, 230.0, 3) == 16.0
    assert period_limit_a(SchedulePeriod(0, 11040.0), RateUnit.WATT, 230.0, 3) == 16.0


@given(st.floats(0, 100_000))
def test_flooring_to_a_tenth_never_raises_a_limit(limit: float) -> None:
    floored = floor_to_tenth(limit)
    assert floored <= limit + 1e-9
    assert limit - floored < 0.1 + 1e-9


def test_periods_to_json_and_back() -> None:
    periods = (SchedulePeriod(0, 16.04), SchedulePeriod(60, 6.0, 1, 2))
    one_decimal = periods_to_json(periods, one_decimal=True)
    assert one_decimal == [
        {"startPeriod": 0, "limit": 16.0},
        {"startPeriod": 60, "limit": 6.0, "numberPhases": 1},
    ]
    exact = {"chargingSchedulePeriod": periods_to_json(periods, one_decimal=False)}
    assert periods_from_json(exact) == periods


def test_a_schedule_with_an_unreadable_period_has_none() -> None:
    schedule = {"chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}, {"limit": 7}]}
    assert periods_from_json(schedule) is None
    assert periods_from_json({"chargingSchedulePeriod": []}) is None
