from __future__ import annotations

import pytest

from localctl.control.planner import InstalledLimit, WantedLimit, plan_changes
from localctl.control.strategy import STRATEGIES, ProfileStrategy

STRATEGY = STRATEGIES["default"]  # lease 120 s, renew 60 s before, min increase 1 A


def test_decreases_come_before_increases_whatever_the_keys() -> None:
    wanted = {"a": WantedLimit(20, 3), "b": WantedLimit(10, 3), "c": WantedLimit(8, 3)}
    installed = {k: InstalledLimit(16, 3, lease_until_s=1000) for k in wanted}
    changes = plan_changes(wanted, installed, STRATEGY, now_s=900)
    assert [(c.key, c.reason) for c in changes] == [
        ("b", "decrease"),
        ("c", "decrease"),
        ("a", "increase"),
    ]


def test_small_increases_wait_but_small_decreases_do_not() -> None:
    installed = {"a": InstalledLimit(16, 3, 1000), "b": InstalledLimit(16, 3, 1000)}
    wanted = {"a": WantedLimit(16.9, 3), "b": WantedLimit(15.8, 3)}
    assert [(c.key, c.limit_a) for c in plan_changes(wanted, installed, STRATEGY, 900)] == [
        ("b", 15.8)
    ]


def test_an_unchanged_limit_is_renewed_before_its_lease_runs_out() -> None:
    installed = {"a": InstalledLimit(16, 3, lease_until_s=1000)}
    wanted = {"a": WantedLimit(16.5, 3)}
    assert plan_changes(wanted, installed, STRATEGY, now_s=939) == []
    [renewal] = plan_changes(wanted, installed, STRATEGY, now_s=940)
    assert (renewal.reason, renewal.limit_a) == ("renewal", 16)


def test_a_first_limit_is_sent_with_the_decreases() -> None:
    [change] = plan_changes({"a": WantedLimit(32, 3)}, {}, STRATEGY, now_s=0)
    assert change.is_decrease and change.reason == "new"


def test_switching_to_fewer_phases_counts_as_a_decrease() -> None:
    installed = {"a": InstalledLimit(16, 3, 1000)}
    [change] = plan_changes({"a": WantedLimit(16, 1)}, installed, STRATEGY, 900)
    assert change.is_decrease and change.reason == "phases"


def test_strategies_refuse_inconsistent_stack_levels_and_leases() -> None:
    with pytest.raises(ValueError, match="floor must sit below"):
        ProfileStrategy("bad", floor_stack_level=8, station_lease_stack_level=8)
    with pytest.raises(ValueError, match="renew_before_s"):
        ProfileStrategy("bad", lease_s=30, renew_before_s=60)
