"""Per-node headroom and EV load in the allocation."""

from __future__ import annotations

import pytest

from optimizer import InvalidInputError, Node, NodeLimit, Session, allocate
from tests.optimizer.site_builders import evse, fuse, site


def test_headroom_is_per_grid_phase_and_in_watts_for_a_power_limit() -> None:
    main = Node(
        "main",
        limits=(NodeLimit("fuse", (32.0, 32.0, 32.0)), NodeLimit("ems", max_power_w=23_000.0)),
    )
    the_site = site(
        main, fuse("sub", 10.0, parent="main"), evses=(evse("a", "sub", phase_map=(1,)),)
    )
    allocation = allocate(the_site, [Session("a", 0.0)], 0.0)
    assert allocation.node("sub").ev_load_a == (0.0, 10.0, 0.0)
    assert allocation.node("main").ev_load_a == (0.0, 10.0, 0.0)
    assert allocation.node("main").headroom_a == (32.0, 22.0, 32.0)
    assert allocation.node("main").headroom_w == pytest.approx(23_000.0 - 10.0 * 230.0)
    assert allocation.node("sub").headroom_w is None


def test_an_evse_without_a_session_is_listed_with_zero_and_no_session() -> None:
    the_site = site(fuse("main", 32.0), evses=(evse("idle"), evse("busy")))
    allocation = allocate(the_site, [Session("busy", 0.0)], 0.0)
    idle = allocation.evse("idle")
    assert (idle.limit_a, idle.current_a, idle.bound_by) == (0.0, (0.0, 0.0, 0.0), "no_session")
    assert [e.evse_id for e in allocation.evses] == ["busy", "idle"]


def test_asking_for_an_unknown_evse_or_node_is_an_error() -> None:
    allocation = allocate(site(fuse("main", 32.0), evses=(evse("a"),)), [], 0.0)
    with pytest.raises(InvalidInputError, match="ghost"):
        allocation.evse("ghost")
    with pytest.raises(InvalidInputError, match="nowhere"):
        allocation.node("nowhere")
