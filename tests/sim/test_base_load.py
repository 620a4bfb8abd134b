from __future__ import annotations

from localctl.sim.base_load import constant_base_load, daily_base_load, step_base_load


def test_daily_curve_is_low_at_night_and_peaks_in_the_evening() -> None:
    load = daily_base_load((2.0, 2.0, 2.0), (20.0, 10.0, 30.0))
    assert load(3 * 3600.0) == (2.0, 2.0, 2.0)
    assert load(19 * 3600.0) == (20.0, 10.0, 30.0)
    assert load(19 * 3600.0 + 86_400.0) == load(19 * 3600.0)
    assert 2.0 < load(12.5 * 3600.0)[0] < 20.0


def test_daily_curve_starts_at_the_given_time_of_day() -> None:
    evening = daily_base_load((2.0, 2.0, 2.0), (20.0, 20.0, 20.0), start_of_day_s=19 * 3600.0)
    assert evening(0.0) == (20.0, 20.0, 20.0)


def test_steps_hold_until_the_next_and_start_from_zero() -> None:
    load = step_base_load([(10.0, (5.0, 5.0, 5.0)), (0.0, (1.0, 2.0, 3.0))])
    assert (load(0.0), load(9.9), load(10.0)) == ((1.0, 2.0, 3.0), (1.0, 2.0, 3.0), (5.0,) * 3)
    assert step_base_load([(5.0, (1.0, 1.0, 1.0))])(0.0) == (0.0, 0.0, 0.0)
    assert constant_base_load((4.0, 0.0, 0.0))(123.0) == (4.0, 0.0, 0.0)
