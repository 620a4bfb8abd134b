from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from localctl.sim.composite import composite_limits_a, schedule_periods
from localctl.sim.profiles import Period, Profile
from tests.sim.profile_helpers import NOON, at, make_profile, store_with


def test_composite_shows_the_lease_running_out_and_schedule_steps() -> None:
    store = store_with(
        make_profile("ChargePointMaxProfile", 10.0, stack_level=7, profile_id=1),
        make_profile("ChargePointMaxProfile", 30.0, stack_level=8, profile_id=2, valid_to=at(120)),
        make_profile(
            "TxDefaultProfile",
            0.0,
            profile_id=3,
            periods=(Period(0, 32.0), Period(60, 20.0)),
        ),
    )
    assert composite_limits_a(store, 1, NOON, 300) == [(0, 30.0), (60, 20.0), (120, 10.0)]
    assert composite_limits_a(store, 1, NOON, 100) == [(0, 30.0), (60, 20.0)]


def test_composite_in_watts_uses_the_ports_phases() -> None:
    store = store_with(make_profile("TxDefaultProfile", 10.0))
    periods = schedule_periods(store, 1, NOON, 60, rate_unit="W", phases=1)
    assert periods == [{"start_period": 0, "limit": 2300.0, "number_phases": 1}]


purposes = st.sampled_from(["TxDefaultProfile", "ChargePointMaxProfile", "TxProfile"])
random_profiles = st.builds(
    lambda purpose, port, level, limits, starts, valid_to: make_profile(
        purpose,
        0.0,
        port=0 if purpose == "ChargePointMaxProfile" else port,
        stack_level=level,
        profile_id=level * 10 + port,
        periods=tuple(
            Period(start, limit) for start, limit in zip(sorted({0, *starts}), limits, strict=False)
        ),
        valid_to=None if valid_to is None else at(valid_to),
    ),
    purposes,
    st.integers(0, 2),
    st.integers(0, 3),
    st.lists(st.floats(0.0, 40.0), min_size=4, max_size=4),
    st.lists(st.integers(1, 3599), max_size=3),
    st.none() | st.integers(1, 3599),
)


@given(st.lists(random_profiles, max_size=6), st.integers(0, 2), st.integers(0, 3599))
def test_composite_schedule_agrees_with_the_limit_at_every_moment(
    profiles: list[Profile], port: int, moment_s: int
) -> None:
    store = store_with(*profiles, port_max_a={1: 32.0, 2: 16.0})
    periods = composite_limits_a(store, port, NOON, 3600)
    in_force = [limit for start_s, limit in periods if start_s <= moment_s][-1]
    assert in_force == store.limit_a(port, at(moment_s))
    assert all(limit <= (48.0 if port == 0 else 32.0) for _, limit in periods)
