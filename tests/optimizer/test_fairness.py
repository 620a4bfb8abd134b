"""Priority classes, max-min fairness within a class, deadline sharing, and their price."""

from __future__ import annotations

from optimizer import Node, NodeLimit, Options, Session, allocate
from tests.optimizer.site_builders import evse, fuse, site


def test_a_higher_class_is_filled_before_a_lower_one_which_keeps_its_minimum() -> None:
    the_site = site(fuse("main", 32.0), evses=(evse("fleet"), evse("visitor")))
    sessions = [Session("fleet", 0.0, phases_in_use=3, priority=1), Session("visitor", 0.0)]
    allocation = allocate(the_site, sessions, 0.0)
    assert allocation.evse("fleet").limit_a == 26.0
    assert allocation.evse("visitor").limit_a == 6.0
    assert allocation.evse("visitor").bound_by == "priority"


def test_a_lower_class_gets_what_the_higher_class_cannot_use() -> None:
    the_site = site(fuse("main", 32.0), evses=(evse("fleet"), evse("visitor")))
    sessions = [
        Session("fleet", 0.0, phases_in_use=3, priority=1, ev_max_current_a=10.0),
        Session("visitor", 0.0, phases_in_use=3),
    ]
    allocation = allocate(the_site, sessions, 0.0)
    assert allocation.evse("fleet").limit_a == 10.0
    assert allocation.evse("visitor").limit_a == 22.0


def test_deadline_sharing_gives_each_the_same_fraction_of_what_it_needs_to_finish() -> None:
    the_site = site(
        fuse("main", 20.0), evses=(evse("a", phase_map=(0,)), evse("b", phase_map=(0,)))
    )
    # a needs 10 A for two hours to finish (4 600 Wh at 230 V), b needs 5 A.
    sessions = [
        Session("a", 0.0, phases_in_use=1, departure_s=7_200.0, energy_needed_wh=4_600.0),
        Session("b", 0.0, phases_in_use=1, departure_s=7_200.0, energy_needed_wh=2_300.0),
    ]
    equal = allocate(the_site, sessions, 0.0)
    assert [equal.evse(e).limit_a for e in "ab"] == [10.0, 10.0]
    deadline = allocate(the_site, sessions, 0.0, Options(fairness="deadline"))
    assert deadline.evse("a").limit_a == 13.3
    assert deadline.evse("b").limit_a == 6.7


def test_raising_a_child_fuse_can_lower_the_total_because_fairness_comes_first() -> None:
    """The price of (d) before (e): the issue's monotonicity property cannot hold in general.

    A single-phase EV behind a child fuse shares main L1 with a three-phase EV. Raising the
    child fuse lets the single-phase EV take its fair share of L1 from the three-phase one,
    which then loses that current on all three phases.
    """

    def total_for(child_a: float) -> float:
        the_site = site(
            fuse("main", 30.0),
            Node("child", "main", limits=(NodeLimit("fuse", (child_a, child_a, child_a)),)),
            evses=(evse("single", "child", phase_map=(0,), min_a=0.0), evse("three", min_a=0.0)),
        )
        sessions = [Session("single", 0.0), Session("three", 0.0, phases_in_use=3)]
        return allocate(the_site, sessions, 0.0).total_current_a

    assert total_for(10.0) == 10.0 + 3 * 20.0
    assert total_for(14.0) == 14.0 + 3 * 16.0


def test_raising_a_child_fuse_can_lower_the_total_because_admission_rank_comes_first() -> None:
    def total_for(child_a: float) -> float:
        the_site = site(
            fuse("main", 10.0),
            Node("child", "main", limits=(NodeLimit("fuse", (child_a, child_a, child_a)),)),
            evses=(evse("a", "child", phase_map=(0,)), evse("b", phase_map=(0,))),
        )
        return allocate(the_site, [Session("a", 0.0), Session("b", 0.0)], 0.0).total_current_a

    assert total_for(5.0) == 10.0
    assert total_for(6.0) == 6.0
