from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from localctl.sim.sharing import share_station_cap


def test_ports_share_the_cap_equally_and_pass_on_what_they_cannot_take() -> None:
    assert share_station_cap(32.0, {1: 32.0, 2: 32.0}) == {1: 16.0, 2: 16.0}
    assert share_station_cap(32.0, {1: 10.0, 2: 32.0}) == {1: 10.0, 2: 22.0}


def test_without_a_cap_every_port_gets_what_its_profiles_allow() -> None:
    assert share_station_cap(float("inf"), {1: 16.0, 2: 32.0}) == {1: 16.0, 2: 32.0}


def test_when_shares_fall_below_six_amps_the_newest_session_pauses() -> None:
    assert share_station_cap(10.0, {1: 16.0, 2: 16.0}) == {1: 10.0, 2: 0.0}
    assert share_station_cap(4.0, {1: 16.0}) == {1: 0.0}


def test_ports_limited_below_six_amps_keep_their_limit_outside_the_share() -> None:
    assert share_station_cap(12.0, {1: 0.0, 2: 16.0}) == {1: 0.0, 2: 12.0}


@given(
    cap_a=st.floats(0.0, 200.0),
    wants=st.lists(st.floats(0.0, 64.0), min_size=1, max_size=6),
)
def test_offers_stay_within_the_cap_and_each_ports_limit(cap_a: float, wants: list[float]) -> None:
    wants_a = dict(enumerate(wants, start=1))
    offers = share_station_cap(cap_a, wants_a)
    assert set(offers) == set(wants_a)
    assert all(offers[port] <= wants_a[port] for port in wants_a)
    counted = sum(amps for amps in offers.values() if amps >= 6.0)
    assert counted <= cap_a + 1e-9
