from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localctl.sim.ev import EV_SPECS, Ev, EvSpec

SEDAN = EvSpec("sedan", phases=3, max_current_a=16.0, capacity_wh=50_000.0)


def run(ev: Ev, offered_a: float, seconds: int) -> list[tuple[float, ...]]:
    return [ev.step(offered_a, 1.0) for _ in range(seconds)]


def test_ev_follows_a_new_offer_only_after_its_reaction_delay() -> None:
    ev = Ev(SEDAN, reaction_delay_s=3.0)
    draws = run(ev, 16.0, 5)
    assert [d[0] for d in draws] == [0.0, 0.0, 16.0, 16.0, 16.0]
    lowered = run(ev, 10.0, 4)
    assert [d[0] for d in lowered] == [16.0, 16.0, 10.0, 10.0]


def test_ev_draws_on_each_of_its_phases_and_never_above_its_maximum() -> None:
    ev = Ev(SEDAN, reaction_delay_s=1.0)
    assert ev.step(32.0, 1.0) == (16.0, 16.0, 16.0)


def test_single_phase_car_draws_on_one_phase() -> None:
    ev = Ev(EvSpec("compact", phases=1, max_current_a=16.0), reaction_delay_s=1.0)
    assert ev.step(20.0, 1.0) == (16.0,)


def test_three_phase_car_on_a_single_phase_evse_draws_on_one_phase() -> None:
    ev = Ev(SEDAN.on_phases(1), reaction_delay_s=1.0)
    assert ev.step(16.0, 1.0) == (16.0,)


@pytest.mark.parametrize("offered_a", [0.0, 3.0, 5.9])
def test_below_six_amps_offered_the_ev_draws_nothing(offered_a: float) -> None:
    ev = Ev(SEDAN, reaction_delay_s=1.0)
    assert run(ev, offered_a, 3)[-1] == (0.0, 0.0, 0.0)


def test_offer_below_the_cars_own_minimum_draws_nothing() -> None:
    hybrid = EvSpec("hybrid", phases=1, min_current_a=8.0, max_current_a=13.0)
    ev = Ev(hybrid, reaction_delay_s=1.0)
    assert ev.step(7.0, 1.0) == (0.0,)
    assert run(ev, 8.0, 1) == [(8.0,)]


def test_current_tapers_linearly_above_the_taper_soc_and_stops_when_full() -> None:
    spec = EvSpec("t", phases=1, max_current_a=30.0, taper_from_soc=0.8, taper_floor_a=6.0)
    assert spec.battery_limit_a(0.5) == 30.0
    assert spec.battery_limit_a(0.9) == pytest.approx(18.0)
    assert spec.battery_limit_a(1.0) == 0.0
    ev = Ev(spec, soc=0.9, reaction_delay_s=1.0)
    assert ev.step(32.0, 1.0)[0] == pytest.approx(18.0, abs=0.01)


def test_energy_and_soc_follow_the_drawn_power() -> None:
    ev = Ev(SEDAN, soc=0.2, reaction_delay_s=0.5)
    for _ in range(3600):
        ev.step(16.0, 1.0)
    expected_wh = 3 * 16.0 * 230.0  # one hour at 3 x 16 A, 230 V
    assert ev.energy_wh == pytest.approx(expected_wh, rel=1e-3)
    assert ev.soc == pytest.approx(0.2 + expected_wh / 50_000.0, rel=1e-3)


def test_full_battery_stops_drawing() -> None:
    small = EvSpec("tiny", phases=1, max_current_a=16.0, capacity_wh=100.0, taper_floor_a=6.0)
    ev = Ev(small, soc=0.99, reaction_delay_s=1.0)
    run(ev, 16.0, 600)
    assert ev.full
    assert ev.step(16.0, 1.0) == (0.0,)


def test_default_reaction_delay_comes_from_the_rng_between_1_and_10_s() -> None:
    delays = [Ev(SEDAN, rng=random.Random(seed)).reaction_delay_s for seed in range(50)]
    assert all(1.0 <= delay <= 10.0 for delay in delays)
    assert Ev(SEDAN, rng=random.Random(7)).reaction_delay_s == pytest.approx(
        Ev(SEDAN, rng=random.Random(7)).reaction_delay_s
    )
    with pytest.raises(ValueError, match="rng"):
        Ev(SEDAN)


def test_inconsistent_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="phases"):
        EvSpec("bad", phases=4)
    with pytest.raises(ValueError, match="min_current_a"):
        EvSpec("bad", min_current_a=10.0, taper_floor_a=6.0)


@given(
    spec=st.sampled_from(EV_SPECS),
    offers=st.lists(st.floats(0.0, 64.0), min_size=1, max_size=40),
    delay_s=st.floats(1.0, 10.0),
)
def test_draw_never_exceeds_an_offer_in_force_nor_the_cars_maximum(
    spec: EvSpec, offers: list[float], delay_s: float
) -> None:
    ev = Ev(spec, soc=0.3, reaction_delay_s=delay_s)
    for offered_a in offers:
        drawn = ev.step(offered_a, 2.0)
        assert len(drawn) == spec.phases
        assert all(0.0 <= amps <= min(spec.max_current_a, ev.followed_offer_a) for amps in drawn)
        assert all(amps == 0.0 or amps >= 6.0 for amps in drawn)


def test_an_ev_with_a_shortfall_settles_under_the_offer_but_not_under_its_minimum() -> None:
    spec = EvSpec("real", phases=1, max_current_a=16.0, shortfall_a=0.4)
    ev = Ev(spec, reaction_delay_s=1.0)
    assert ev.step(10.0, 1.0)[0] == pytest.approx(9.6)
    assert run(ev, 6.0, 2)[-1] == (6.0,)
