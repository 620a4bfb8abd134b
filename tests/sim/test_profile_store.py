from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from localctl.sim.composite import composite_limits_a, schedule_periods
from localctl.sim.profile_store import ProfileStore
from localctl.sim.profiles import Period, Profile
from localctl.sim.quirks import StationQuirks

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return NOON + timedelta(seconds=seconds)


def profile(
    purpose: str,
    limit: float,
    *,
    port: int = 0,
    stack_level: int = 0,
    profile_id: int = 1,
    **fields: object,
) -> Profile:
    values: dict[str, object] = {
        "profile_id": profile_id,
        "port": port,
        "purpose": purpose,
        "stack_level": stack_level,
        "rate_unit": "A",
        "periods": (Period(0, limit),),
        "start": NOON,
    }
    values.update(fields)
    return Profile(**values)  # type: ignore[arg-type]


def store_with(*profiles: Profile, ports: int = 2, **options: object) -> ProfileStore:
    store = ProfileStore(32.0, ports=ports, **options)  # type: ignore[arg-type]
    for each in profiles:
        store.install(each)
    return store


def test_without_profiles_the_hardware_maximum_applies() -> None:
    store = store_with(port_max_a={2: 16.0})
    assert (store.limit_a(1, NOON), store.limit_a(2, NOON)) == (32.0, 16.0)


def test_highest_stack_level_wins_within_a_purpose_even_when_lower() -> None:
    store = store_with(
        profile("TxDefaultProfile", 10.0, stack_level=1, profile_id=1),
        profile("TxDefaultProfile", 20.0, stack_level=2, profile_id=2),
    )
    assert store.limit_a(1, NOON) == 20.0


def test_when_the_top_lease_runs_out_the_next_stack_level_applies() -> None:
    store = store_with(
        profile("ChargePointMaxProfile", 10.0, stack_level=7, profile_id=1),
        profile("ChargePointMaxProfile", 40.0, stack_level=8, profile_id=2, valid_to=at(120)),
    )
    assert store.station_cap_a(at(119)) == 40.0
    assert store.station_cap_a(at(120)) == 10.0


def test_tx_profile_overrides_tx_default_and_the_station_cap_still_bounds() -> None:
    store = store_with(
        profile("TxDefaultProfile", 10.0, profile_id=1),
        profile("TxProfile", 25.0, port=1, profile_id=2, transaction_id="7"),
        profile("ChargingStationMaxProfile", 16.0, profile_id=3),
    )
    assert store.port_limit_a(1, NOON) == 25.0
    assert store.limit_a(1, NOON) == 16.0
    assert store.limit_a(2, NOON) == 10.0


def test_a_tx_profile_that_is_not_running_leaves_tx_default_in_charge() -> None:
    store = store_with(
        profile("TxDefaultProfile", 10.0, profile_id=1),
        profile("TxProfile", 25.0, port=1, profile_id=2, valid_from=at(60)),
    )
    assert store.port_limit_a(1, NOON) == 10.0
    assert store.port_limit_a(1, at(60)) == 25.0


def test_port_profile_beats_station_profile_at_the_same_stack_level() -> None:
    store = store_with(
        profile("TxDefaultProfile", 10.0, port=0, profile_id=1),
        profile("TxDefaultProfile", 14.0, port=2, profile_id=2),
    )
    assert (store.limit_a(1, NOON), store.limit_a(2, NOON)) == (10.0, 14.0)


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


def test_port_zero_reports_the_station_cap_bounded_by_its_ports() -> None:
    store = store_with(profile("ChargePointMaxProfile", 50.0), port_max_a={1: 16.0, 2: 16.0})
    assert store.limit_a(0, NOON) == 32.0
    store.install(profile("ChargePointMaxProfile", 20.0))
    assert store.limit_a(0, NOON) == 20.0


def offer(store: ProfileStore, new: Profile, version: str = "2.0.1", tx: str | None = None) -> str:
    return store.offer(new, NOON, version=version, transaction_id=tx) or "Accepted"


def test_slow_station_applies_a_profile_only_after_its_delay() -> None:
    store = store_with(
        profile("TxDefaultProfile", 16.0, profile_id=1),
        quirks=StationQuirks(slow_apply_s=5.0),
    )
    assert offer(store, profile("TxDefaultProfile", 8.0, profile_id=1)) == "Accepted"
    assert store.limit_a(1, at(4.9)) == 16.0
    assert store.limit_a(1, at(5.0)) == 8.0
    store.settle(at(5.0))
    assert ([p.periods[0].limit for p in store.profiles], store.pending) == ([8.0], [])


def test_quirky_stations_refuse_amps_or_high_stack_levels() -> None:
    watts_only = store_with(quirks=StationQuirks(watts_only=True))
    assert offer(watts_only, profile("TxDefaultProfile", 16.0)) == "UnsupportedRateUnit"
    in_watts = profile("TxDefaultProfile", 11_040.0, rate_unit="W")
    assert offer(watts_only, in_watts) == "Accepted"
    shallow = store_with(quirks=StationQuirks(max_stack_level=3))
    assert offer(shallow, profile("TxDefaultProfile", 16.0, stack_level=4)) == "InvalidStackLevel"


def test_composite_shows_the_lease_running_out_and_schedule_steps() -> None:
    store = store_with(
        profile("ChargePointMaxProfile", 10.0, stack_level=7, profile_id=1),
        profile("ChargePointMaxProfile", 30.0, stack_level=8, profile_id=2, valid_to=at(120)),
        profile(
            "TxDefaultProfile",
            0.0,
            profile_id=3,
            periods=(Period(0, 32.0), Period(60, 20.0)),
        ),
    )
    assert composite_limits_a(store, 1, NOON, 300) == [(0, 30.0), (60, 20.0), (120, 10.0)]
    assert composite_limits_a(store, 1, NOON, 100) == [(0, 30.0), (60, 20.0)]


def test_composite_in_watts_uses_the_ports_phases() -> None:
    store = store_with(profile("TxDefaultProfile", 10.0))
    periods = schedule_periods(store, 1, NOON, 60, rate_unit="W", phases=1)
    assert periods == [{"start_period": 0, "limit": 2300.0, "number_phases": 1}]


purposes = st.sampled_from(["TxDefaultProfile", "ChargePointMaxProfile", "TxProfile"])
random_profiles = st.builds(
    lambda purpose, port, level, limits, starts, valid_to: profile(
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
