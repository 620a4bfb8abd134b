"""Semi-continuous minimums: who is admitted, in which order, and rotation over time."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import (
    Allocation,
    AllocatorState,
    Evse,
    Node,
    NodeLimit,
    Options,
    Session,
    Site,
    allocate,
)
from optimizer.admission import rank_key, ranked
from optimizer.allocate import make_plans
from optimizer.model import EvseState
from optimizer.tree import build_tree
from tests.optimizer.site_builders import evse, fuse, site
from tests.optimizer.strategies import instances

ONE_PHASE = (0,)


def three_on_one_phase_of(amps: float) -> Site:
    return site(
        fuse("main", amps),
        evses=tuple(evse(name, phase_map=ONE_PHASE) for name in ("a", "b", "c")),
    )


def served(allocation: Allocation) -> list[str]:
    return [e.evse_id for e in allocation.evses if e.limit_a > 0]


def test_everyone_is_admitted_when_all_minimums_fit() -> None:
    allocation = allocate(three_on_one_phase_of(18.0), [Session(e, 0.0) for e in "abc"], 0.0)
    assert [e.limit_a for e in allocation.evses] == [6.0, 6.0, 6.0]


def test_when_minimums_do_not_all_fit_the_rest_get_zero_and_are_told_why() -> None:
    allocation = allocate(three_on_one_phase_of(13.0), [Session(e, 0.0) for e in "abc"], 0.0)
    assert served(allocation) == ["a", "b"]
    assert allocation.evse("a").limit_a == 6.5
    assert allocation.evse("c").bound_by == "min_current_admission"


def test_a_higher_priority_session_is_admitted_before_a_lower_one() -> None:
    sessions = [Session("a", 0.0), Session("b", 0.0), Session("c", 0.0, priority=1)]
    allocation = allocate(three_on_one_phase_of(13.0), sessions, 0.0)
    assert served(allocation) == ["a", "c"]


def test_the_least_laxity_is_admitted_first_when_departures_are_known() -> None:
    sessions = [
        Session("a", 0.0, departure_s=36_000.0, energy_needed_wh=5_000.0),
        Session("b", 0.0, departure_s=7_200.0, energy_needed_wh=5_000.0),
        Session("c", 0.0, departure_s=3_600.0, energy_needed_wh=5_000.0),
    ]
    allocation = allocate(three_on_one_phase_of(13.0), sessions, 0.0)
    assert served(allocation) == ["b", "c"]


def test_held_sessions_rotate_in_so_that_nobody_starves() -> None:
    the_site = three_on_one_phase_of(13.0)
    sessions = [Session(e, 0.0) for e in "abc"]
    options = Options(rotation_interval_s=600.0)
    state = AllocatorState()
    history = []
    for now_s in range(0, 3_600, 60):
        allocation = allocate(the_site, sessions, float(now_s), options, state)
        state = allocation.state
        history.append(tuple(served(allocation)))
    served_minutes = {name: sum(name in step for step in history) for name in "abc"}
    assert min(served_minutes.values()) >= 30
    # No flapping: once switched on, a session keeps its slot for a whole interval.
    for name in "abc":
        runs = "".join("1" if name in step else "0" for step in history).strip("0").split("0")
        assert all(len(run) >= 10 for run in runs[:-1] if run), (name, history)


def test_an_admitted_session_keeps_its_slot_for_one_rotation_interval() -> None:
    the_site = three_on_one_phase_of(13.0)
    sessions = [Session(e, 0.0) for e in "abc"]
    first = allocate(the_site, sessions, 0.0)
    later = allocate(the_site, sessions, 599.0, state=first.state)
    assert served(later) == ["a", "b"]
    rotated = allocate(the_site, sessions, 600.0, state=later.state)
    assert "c" in served(rotated)


def test_an_evse_that_can_switch_phases_is_admitted_on_one_phase_when_three_do_not_fit() -> None:
    tight_l1 = Node("main", limits=(NodeLimit("fuse", (10.0, 32.0, 32.0)),))
    the_site = site(
        tight_l1,
        evses=(
            evse("fleet"),
            Evse("switchable", "main", phase_map=(1, 2, 0), can_switch_phases=True),
        ),
    )
    sessions = [Session("fleet", 0.0, phases_in_use=3, priority=1), Session("switchable", 0.0)]
    allocation = allocate(the_site, sessions, 0.0)
    assert allocation.evse("fleet").limit_a == 10.0
    assert allocation.evse("switchable").phases == 1
    assert allocation.evse("switchable").grid_current_a == (0.0, 22.0, 0.0)


def test_a_fully_charged_session_is_not_admitted_and_says_so() -> None:
    sessions = [Session("a", 0.0, energy_needed_wh=0.0), Session("b", 0.0)]
    allocation = allocate(three_on_one_phase_of(13.0), sessions, 0.0)
    assert allocation.evse("a").limit_a == 0.0
    assert allocation.evse("a").bound_by == "energy_needed"
    assert allocation.evse("b").limit_a == 13.0


@settings(max_examples=50, deadline=None)
@given(instances(), st.lists(st.integers(-2, 2), min_size=12, max_size=12))
def test_the_vectorised_ranking_is_the_documented_rank_key(
    case: tuple[Site, list[Session]], histories: list[int]
) -> None:
    the_site, sessions = case
    sessions = [
        dataclasses.replace(s, departure_s=7_200.0 if k % 3 else None, energy_needed_wh=900.0 * k)
        for k, s in enumerate(sessions)
    ]
    state = AllocatorState(
        tuple(
            EvseState(s.evse_id, s.arrival_s, 6.0, *_history(histories[k % 12]), 0.0)
            for k, s in enumerate(sessions)
        )
    )
    tree = build_tree(the_site)
    plans = make_plans(tree, sessions, 500.0, Options(), state)
    everyone = list(range(len(plans)))
    assert ranked(plans, everyone) == sorted(everyone, key=lambda i: rank_key(plans[i]))


def _history(kind: int) -> tuple[float | None, float | None]:
    """(admitted_since_s, waiting_since_s) for a few shapes of past."""
    return {
        -2: (0.0, None),
        -1: (450.0, None),
        0: (None, None),
        1: (None, 100.0),
        2: (None, 400.0),
    }[kind]
