"""Compiling the site tree into rows: lowest source wins, loads flow up, bad trees are refused."""

from __future__ import annotations

import pytest

from optimizer import Evse, InvalidInputError, Node, NodeLimit, Site
from optimizer.tree import build_tree


def test_the_lowest_source_per_phase_becomes_the_row_and_keeps_its_name() -> None:
    node = Node(
        "main",
        limits=(NodeLimit("fuse", (32.0, 32.0, 32.0)), NodeLimit("csms", (40.0, 16.0, 50.0))),
    )
    tree = build_tree(Site((node,), ()))
    assert [row.label for row in tree.rows] == [
        "node:main:L1:fuse",
        "node:main:L2:csms",
        "node:main:L3:fuse",
    ]
    assert [row.capacity_ma for row in tree.rows] == [32_000, 16_000, 32_000]


def test_non_ev_load_of_a_child_is_subtracted_at_every_ancestor() -> None:
    nodes = (
        Node("main", limits=(NodeLimit("fuse", (63.0, 63.0, 63.0)),)),
        Node("sub", "main", non_ev_load_a=(5.0, 0.0, 1.5)),
    )
    tree = build_tree(Site(nodes, ()))
    assert [row.capacity_ma for row in tree.rows] == [58_000, 63_000, 61_500]


def test_a_power_limit_becomes_phase_amps_at_the_nodes_voltage() -> None:
    node = Node("main", limits=(NodeLimit("ems", max_power_w=24_000.0),), nominal_voltage_v=240.0)
    tree = build_tree(Site((node,), ()))
    assert tree.rows[0].label == "node:main:power:ems"
    assert tree.rows[0].capacity_ma == 100_000


def test_a_session_loads_its_phase_rows_up_to_the_root_and_power_rows_per_phase() -> None:
    nodes = (
        Node("main", limits=(NodeLimit("fuse", (63.0, 63.0, 63.0), max_power_w=30_000.0),)),
        Node("sub", "main", limits=(NodeLimit("fuse", (32.0, 32.0, 32.0)),)),
    )
    charger = Evse("e", "sub", phase_map=(2, 0, 1))
    tree = build_tree(Site(nodes, (charger,)))
    column = tree.column(charger, (2,))
    labels = sorted((tree.rows[r].label, c) for r, c in zip(column.rows, column.coefs, strict=True))
    assert labels == [
        ("node:main:L3:fuse", 1),
        ("node:main:power:fuse", 1),
        ("node:sub:L3:fuse", 1),
    ]
    assert tree.column(charger, (0, 1, 2)).coefs.count(3) == 1


@pytest.mark.parametrize(
    ("nodes", "evses", "message"),
    [
        ((Node("a"), Node("a")), (), "duplicate node"),
        ((Node("a", "ghost"),), (), "unknown parent"),
        ((Node("a", "b"), Node("b", "a")), (), "cycle"),
        ((Node("a"),), (Evse("e", "nowhere"),), "unknown node"),
        ((Node("a"),), (Evse("e", "a"), Evse("e", "a")), "duplicate evse"),
    ],
)
def test_malformed_trees_are_refused_with_a_reason(
    nodes: tuple[Node, ...], evses: tuple[Evse, ...], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        build_tree(Site(nodes, evses))


def test_an_evse_wired_twice_to_one_phase_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="phase_map"):
        Evse("e", "a", phase_map=(0, 0, 1))
