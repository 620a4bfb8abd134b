"""The fast path: progressive filling over the tree, per grid phase."""

from __future__ import annotations

import pytest

from optimizer import Node, NodeLimit, Options, Session, allocate
from tests.optimizer.site_builders import evse, fuse, site


def limits(allocation_evses: object) -> dict[str, float]:
    return {entry.evse_id: entry.limit_a for entry in allocation_evses}  # type: ignore[attr-defined]


def test_single_phase_evs_on_different_phases_each_get_the_whole_phase() -> None:
    the_site = site(
        fuse("main", 16.0),
        evses=(evse("a", phase_map=(0,)), evse("b", phase_map=(1,)), evse("c", phase_map=(2,))),
    )
    sessions = [Session(e, 0.0) for e in "abc"]
    result = allocate(the_site, sessions, now_s=0.0)
    assert limits(result.evses) == {"a": 16.0, "b": 16.0, "c": 16.0}


def test_single_phase_evs_on_the_same_phase_share_it_equally() -> None:
    same_phase = (evse("a", phase_map=(0,)), evse("b", phase_map=(0,)))
    the_site = site(fuse("main", 20.0), evses=same_phase)
    result = allocate(the_site, [Session("a", 0.0), Session("b", 0.0)], now_s=0.0)
    assert limits(result.evses) == {"a": 10.0, "b": 10.0}
    assert result.evse("a").bound_by == "node:main:L1:fuse"


def test_phase_rotation_moves_a_single_phase_ev_to_the_grid_phase_of_its_conductor_l1() -> None:
    the_site = site(fuse("main", 20.0), evses=(evse("plain"), evse("rotated", phase_map=(1, 2, 0))))
    sessions = [Session("plain", 0.0, phases_in_use=1), Session("rotated", 0.0, phases_in_use=1)]
    result = allocate(the_site, sessions, now_s=0.0)
    assert result.evse("rotated").grid_current_a == (0.0, 20.0, 0.0)
    assert result.evse("rotated").current_a == (20.0, 0.0, 0.0)
    assert result.evse("plain").grid_current_a == (20.0, 0.0, 0.0)


def test_unknown_phases_count_on_every_wired_phase() -> None:
    the_site = site(fuse("main", 20.0), evses=(evse("unknown"), evse("one", phase_map=(1,))))
    sessions = [Session("unknown", 0.0), Session("one", 0.0)]
    result = allocate(the_site, sessions, now_s=0.0)
    # One limit per EVSE: the unknown session may put it on L2 too, so L2 is shared.
    assert result.evse("unknown").grid_current_a == (10.0, 10.0, 10.0)
    assert result.evse("one").limit_a == 10.0
    assert result.evse("unknown").bound_by == "node:main:L2:fuse"


def test_nested_bottleneck_frees_capacity_for_the_others_at_the_parent() -> None:
    the_site = site(
        fuse("main", 40.0),
        fuse("sub", 10.0, parent="main"),
        evses=(evse("x", "sub"), evse("y", "sub"), evse("z", "main")),
    )
    sessions = [Session(e, 0.0, phases_in_use=3) for e in "xyz"]
    result = allocate(the_site, sessions, now_s=0.0, options=Options())
    # Both sub sessions cannot have 6 A each within 10 A: only one is admitted.
    admitted = [e for e in ("x", "y") if result.evse(e).limit_a > 0]
    assert admitted == ["x"]
    assert result.evse("x").limit_a == 10.0
    assert result.evse("y").bound_by == "min_current_admission"
    assert result.evse("z").limit_a == 30.0


def test_ev_limited_session_leaves_its_share_to_the_others() -> None:
    the_site = site(fuse("main", 32.0), evses=(evse("slow"), evse("fast")))
    sessions = [
        Session("slow", 0.0, phases_in_use=3, ev_max_current_a=10.0),
        Session("fast", 0.0, phases_in_use=3),
    ]
    result = allocate(the_site, sessions, now_s=0.0)
    assert limits(result.evses) == {"slow": 10.0, "fast": 22.0}
    assert result.evse("slow").bound_by == "ev_max"
    assert result.evse("fast").bound_by == "node:main:L1:fuse"


def test_power_limit_in_watts_counts_every_phase_at_the_nominal_voltage() -> None:
    ems = NodeLimit("ems", max_power_w=11_040.0)
    the_site = site(
        Node("main", limits=(NodeLimit("fuse", (63.0, 63.0, 63.0)), ems)),
        evses=(evse("a"), evse("b", phase_map=(0,))),
    )
    sessions = [Session("a", 0.0, phases_in_use=3), Session("b", 0.0)]
    result = allocate(the_site, sessions, now_s=0.0)
    # 11 040 W / 230 V = 48 phase-amps: a three-phase at 12 A (36) plus one phase at 12 A.
    assert limits(result.evses) == {"a": 12.0, "b": 12.0}
    assert result.evse("a").bound_by == "node:main:power:ems"
    assert result.node("main").headroom_w == pytest.approx(0.0)


def test_the_lowest_of_several_sources_binds_and_is_named() -> None:
    the_site = site(
        Node(
            "main",
            limits=(NodeLimit("fuse", (32.0, 32.0, 32.0)), NodeLimit("csms", (40.0, 20.0, 40.0))),
        ),
        evses=(evse("a"),),
    )
    result = allocate(the_site, [Session("a", 0.0, phases_in_use=3)], now_s=0.0)
    assert result.evse("a").limit_a == 20.0
    assert result.evse("a").bound_by == "node:main:L2:csms"


def test_non_ev_load_is_subtracted_at_its_node_and_every_ancestor() -> None:
    the_site = site(
        fuse("main", 32.0),
        Node(
            "sub",
            parent_id="main",
            limits=(NodeLimit("fuse", (25.0, 25.0, 25.0)),),
            non_ev_load_a=(10.0, 0.0, 0.0),
        ),
        evses=(evse("a", "sub", phase_map=(0,)), evse("b", "main", phase_map=(0,))),
    )
    result = allocate(the_site, [Session("a", 0.0), Session("b", 0.0)], now_s=0.0)
    # Main L1 has 32 - 10 = 22 A for EVs; sub L1 15 A: equal share 11 A each.
    assert limits(result.evses) == {"a": 11.0, "b": 11.0}
    assert result.node("main").headroom_a[0] == 0.0


def test_a_node_without_limits_leaves_each_session_at_its_own_cap() -> None:
    the_site = site(Node("main"), evses=(evse("a", max_a=16.0), evse("b", phase_map=(2,))))
    result = allocate(the_site, [Session("a", 0.0), Session("b", 0.0)], now_s=0.0)
    assert limits(result.evses) == {"a": 16.0, "b": 32.0}
    assert result.evse("b").bound_by == "evse_max"
    assert result.node("main").headroom_a == (None, None, None)


def test_a_two_phase_session_loads_the_first_two_conductors_for_line_to_line_wiring() -> None:
    the_site = site(
        fuse("main", 20.0), evses=(evse("ab", phase_map=(0, 1, 2)), evse("c", phase_map=(1,)))
    )
    sessions = [Session("ab", 0.0, phases_in_use=2), Session("c", 0.0)]
    result = allocate(the_site, sessions, now_s=0.0)
    assert result.evse("ab").grid_current_a == (10.0, 10.0, 0.0)
    assert result.evse("ab").phases == 2
    assert result.evse("c").limit_a == 10.0
