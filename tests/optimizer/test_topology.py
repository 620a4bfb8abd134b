"""The site's shape compiled once: reused while the shape holds, never changing an answer."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given

from optimizer import AllocatorState, Node, NodeLimit, Session, Site, allocate
from optimizer.topology import compile_topology
from optimizer.tree import build_tree
from tests.optimizer.site_builders import evse, fuse, site
from tests.optimizer.strategies import instances
from tests.optimizer.test_allocate import SETTINGS


@SETTINGS
@given(instances(), instances())
def test_a_state_carrying_any_topology_gives_the_same_allocation_as_a_cold_cycle(
    case: tuple[Site, list[Session]], other: tuple[Site, list[Session]]
) -> None:
    the_site, sessions = case
    cold = allocate(the_site, sessions, 50.0)
    for donor in (the_site, other[0]):
        carried = AllocatorState(cold.state.evses, compile_topology(donor))
        warm = allocate(the_site, sessions, 50.0, state=carried)
        assert warm == allocate(the_site, sessions, 50.0, state=cold.state)
        assert (
            warm.evses
            == allocate(
                the_site, sessions, 50.0, state=dataclasses.replace(cold.state, topology=None)
            ).evses
        )


def test_new_limits_and_loads_keep_the_topology_a_new_shape_replaces_it() -> None:
    first = site(fuse("main", 32.0), evses=(evse("a"), evse("b")))
    state = allocate(first, [Session("a", 0.0)], 0.0).state
    tighter = Site(
        (Node("main", limits=(NodeLimit("ems", (20.0, 20.0, 20.0)),), non_ev_load_a=(1, 2, 3)),),
        first.evses,
    )
    again = allocate(tighter, [Session("a", 0.0)], 1.0, state=state)
    assert again.state.topology is state.topology
    assert again.evse("a").limit_a == 17.0
    with_power = Site((Node("main", limits=(NodeLimit("ems", max_power_w=9_000.0),)),), first.evses)
    assert allocate(with_power, [], 2.0, state=state).state.topology is not state.topology
    rebuilt = Site(first.nodes, tuple(dataclasses.replace(e) for e in first.evses))
    assert allocate(rebuilt, [], 3.0, state=state).state.topology is state.topology


def test_gathered_entries_are_the_columns_one_after_another() -> None:
    the_site = site(
        fuse("main", 63.0, ems=NodeLimit("ems", max_power_w=20_000.0)),
        fuse("sub", 32.0, parent="main"),
        evses=(evse("a", "sub", phase_map=(2,)), evse("b")),
    )
    topology = build_tree(the_site).topology
    keys = [("sub", (2,)), ("main", (0, 1, 2)), ("sub", (2,)), ("sub", (0, 1, 2))]
    kinds = np.asarray([topology.kind(*key) for key in keys], dtype=np.intp)
    rows, cols, coefs = topology.table.entries(kinds)
    columns = [topology.table.columns[k] for k in kinds.tolist()]
    assert rows.tolist() == [r for c in columns for r in c.rows]
    assert coefs.tolist() == [k for c in columns for k in c.coefs]
    assert cols.tolist() == [i for i, c in enumerate(columns) for _ in c.rows]
