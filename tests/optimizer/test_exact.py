"""The exact LP method, and the fast path's agreement with it."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import Evse, Node, NodeLimit, Options, Session, Site, allocate
from optimizer.admission import Admission, admit, ranked
from optimizer.allocate import build_problem, make_plans
from optimizer.exact import admit_exact, fill_exact
from optimizer.fairness import solve_by_class
from optimizer.model import AllocatorState
from optimizer.tree import build_tree
from optimizer.waterfill import fill_waterfill
from tests.optimizer.checks import overloads
from tests.optimizer.site_builders import evse, fuse, site
from tests.optimizer.strategies import instances


def without_switching(site: Site) -> Site:
    return Site(
        site.nodes, tuple(dataclasses.replace(e, can_switch_phases=False) for e in site.evses)
    )


def admissions(site: Site, sessions: list[Session]) -> tuple[Admission, Admission, list[int]]:
    tree = build_tree(site)
    plans = make_plans(tree, sessions, 200.0, Options(), AllocatorState())
    order = ranked(plans, list(range(len(plans))))
    return admit(plans, tree), admit_exact(plans, tree), order


@settings(max_examples=80, deadline=None)
@given(instances(max_evses=8))
def test_the_ranked_greedy_is_the_exact_admission_when_no_evse_switches_phases(
    case: tuple[Site, list[Session]],
) -> None:
    greedy, exact, _ = admissions(without_switching(case[0]), case[1])
    assert greedy == exact


@settings(max_examples=80, deadline=None)
@given(instances(max_evses=8))
def test_exact_admission_is_never_lexicographically_behind_the_greedy(
    case: tuple[Site, list[Session]],
) -> None:
    greedy, exact, order = admissions(*case)
    assert [exact.admitted[i] for i in order] >= [greedy.admitted[i] for i in order]


def test_exact_admission_switches_an_earlier_evse_to_one_phase_to_let_a_later_one_in() -> None:
    the_site = Site(
        (Node("main", limits=(NodeLimit("fuse", (10.0, 32.0, 32.0)),)),),
        (
            Evse("a", "main", phase_map=(1, 2, 0), can_switch_phases=True),
            Evse("b", "main", phase_map=(0,)),
        ),
    )
    sessions = [Session("a", 0.0), Session("b", 1.0)]
    fast = allocate(the_site, sessions, 10.0)
    assert (fast.evse("a").phases, fast.evse("b").limit_a) == (3, 0.0)
    exact = allocate(the_site, sessions, 10.0, Options(method="exact"))
    assert exact.evse("a").phases == 1
    assert exact.evse("a").grid_current_a == (0.0, 32.0, 0.0)
    assert exact.evse("b").limit_a == 10.0


def continuous(
    site: Site, sessions: list[Session], options: Options | None = None
) -> tuple[np.ndarray, np.ndarray]:
    tree = build_tree(site)
    plans = make_plans(tree, sessions, 200.0, options or Options(), AllocatorState())
    admission = admit(plans, tree)
    chosen = [i for i, admitted in enumerate(admission.admitted) if admitted]
    problem, _ = build_problem(tree, plans, admission, chosen)
    fast, _ = solve_by_class(problem, fill_waterfill)
    exact, _ = solve_by_class(problem, fill_exact)
    return fast, exact


@settings(max_examples=120, deadline=None)
@given(instances(max_evses=8))
def test_fast_path_agrees_with_the_exact_lp_method(case: tuple[Site, list[Session]]) -> None:
    fast, exact = continuous(*case)
    assert np.allclose(fast, exact, rtol=0.0, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(instances(max_evses=8), st.lists(st.floats(0.0, 40_000.0), min_size=10, max_size=10))
def test_fast_path_agrees_with_the_exact_method_under_deadline_sharing(
    case: tuple[Site, list[Session]], energies_wh: list[float]
) -> None:
    the_site, sessions = case
    with_deadlines = [
        dataclasses.replace(s, departure_s=3_600.0 * (1 + k % 3), energy_needed_wh=energies_wh[k])
        for k, s in enumerate(sessions)
    ]
    fast, exact = continuous(the_site, with_deadlines, Options(fairness="deadline"))
    assert np.allclose(fast, exact, rtol=0.0, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(instances(max_evses=8))
def test_exact_method_allocations_are_safe_and_within_a_step_of_the_fast_path(
    case: tuple[Site, list[Session]],
) -> None:
    the_site, sessions = without_switching(case[0]), case[1]
    fast = allocate(the_site, sessions, now_s=200.0)
    exact = allocate(the_site, sessions, now_s=200.0, options=Options(method="exact"))
    assert overloads(the_site, exact) == []
    for one, other in zip(fast.evses, exact.evses, strict=True):
        assert abs(one.limit_a - other.limit_a) <= 1.0 + 1e-9


def test_exact_method_names_the_binding_fuse_like_the_fast_path() -> None:
    the_site = site(fuse("main", 32.0), evses=(evse("slow"), evse("fast")))
    sessions = [
        Session("slow", 0.0, phases_in_use=3, ev_max_current_a=10.0),
        Session("fast", 0.0, phases_in_use=3),
    ]
    result = allocate(the_site, sessions, now_s=0.0, options=Options(method="exact"))
    assert result.evse("slow").limit_a == 10.0
    assert result.evse("slow").bound_by == "ev_max"
    assert result.evse("fast").limit_a == 22.0
    assert result.evse("fast").bound_by == "node:main:L1:fuse"
    assert result.method == "exact"
