from __future__ import annotations

from localctl.sim.profile_store import ProfileStore
from localctl.sim.profiles import Profile
from localctl.sim.quirks import StationQuirks
from tests.sim.profile_helpers import NOON, at, make_profile, store_with


def test_without_profiles_the_hardware_maximum_applies() -> None:
    store = store_with(port_max_a={2: 16.0})
    assert (store.limit_a(1, NOON), store.limit_a(2, NOON)) == (32.0, 16.0)


def test_highest_stack_level_wins_within_a_purpose_even_when_lower() -> None:
    store = store_with(
        make_profile("TxDefaultProfile", 10.0, stack_level=1, profile_id=1),
        make_profile("TxDefaultProfile", 20.0, stack_level=2, profile_id=2),
    )
    assert store.limit_a(1, NOON) == 20.0


def test_when_the_top_lease_runs_out_the_next_stack_level_applies() -> None:
    store = store_with(
        make_profile("ChargePointMaxProfile", 10.0, stack_level=7, profile_id=1),
        make_profile("ChargePointMaxProfile", 40.0, stack_level=8, profile_id=2, valid_to=at(120)),
    )
    assert store.station_cap_a(at(119)) == 40.0
    assert store.station_cap_a(at(120)) == 10.0


def test_tx_profile_overrides_tx_default_and_the_station_cap_still_bounds() -> None:
    store = store_with(
        make_profile("TxDefaultProfile", 10.0, profile_id=1),
        make_profile("TxProfile", 25.0, port=1, profile_id=2, transaction_id="7"),
        make_profile("ChargingStationMaxProfile", 16.0, profile_id=3),
    )
    assert store.port_limit_a(1, NOON) == 25.0
    assert store.limit_a(1, NOON) == 16.0
    assert store.limit_a(2, NOON) == 10.0


def test_a_tx_profile_that_is_not_running_leaves_tx_default_in_charge() -> None:
    store = store_with(
        make_profile("TxDefaultProfile", 10.0, profile_id=1),
        make_profile("TxProfile", 25.0, port=1, profile_id=2, valid_from=at(60)),
    )
    assert store.port_limit_a(1, NOON) == 10.0
    assert store.port_limit_a(1, at(60)) == 25.0


def test_port_profile_beats_station_profile_at_the_same_stack_level() -> None:
    store = store_with(
        make_profile("TxDefaultProfile", 10.0, port=0, profile_id=1),
        make_profile("TxDefaultProfile", 14.0, port=2, profile_id=2),
    )
    assert (store.limit_a(1, NOON), store.limit_a(2, NOON)) == (10.0, 14.0)


def test_installing_the_same_slot_replaces_and_clear_matches_every_criterion() -> None:
    store = store_with(
        make_profile("TxDefaultProfile", 10.0, profile_id=1),
        make_profile("TxDefaultProfile", 12.0, profile_id=2),
        make_profile("ChargePointMaxProfile", 20.0, profile_id=3),
    )
    assert [p.profile_id for p in store.profiles] == [2, 3]
    assert store.clear(purpose="TxDefaultProfile", stack_level=5) == 0
    assert store.clear(purpose="TxDefaultProfile") == 1
    assert store.limit_a(1, NOON) == 20.0


def test_port_zero_reports_the_station_cap_bounded_by_its_ports() -> None:
    store = store_with(make_profile("ChargePointMaxProfile", 50.0), port_max_a={1: 16.0, 2: 16.0})
    assert store.limit_a(0, NOON) == 32.0
    store.install(make_profile("ChargePointMaxProfile", 20.0))
    assert store.limit_a(0, NOON) == 20.0


def offer(store: ProfileStore, new: Profile, version: str = "2.0.1", tx: str | None = None) -> str:
    return store.offer(new, NOON, version=version, transaction_id=tx) or "Accepted"


def test_slow_station_applies_a_profile_only_after_its_delay() -> None:
    store = store_with(
        make_profile("TxDefaultProfile", 16.0, profile_id=1),
        quirks=StationQuirks(slow_apply_s=5.0),
    )
    assert offer(store, make_profile("TxDefaultProfile", 8.0, profile_id=1)) == "Accepted"
    assert store.limit_a(1, at(4.9)) == 16.0
    assert store.limit_a(1, at(5.0)) == 8.0
    store.settle(at(5.0))
    assert ([p.periods[0].limit for p in store.profiles], store.pending) == ([8.0], [])


def test_quirky_stations_refuse_amps_or_high_stack_levels() -> None:
    watts_only = store_with(quirks=StationQuirks(watts_only=True))
    assert offer(watts_only, make_profile("TxDefaultProfile", 16.0)) == "UnsupportedRateUnit"
    in_watts = make_profile("TxDefaultProfile", 11_040.0, rate_unit="W")
    assert offer(watts_only, in_watts) == "Accepted"
    shallow = store_with(quirks=StationQuirks(max_stack_level=3))
    assert (
        offer(shallow, make_profile("TxDefaultProfile", 16.0, stack_level=4)) == "InvalidStackLevel"
    )
