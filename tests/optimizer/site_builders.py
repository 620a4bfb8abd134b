"""Small builders shared by the optimizer tests: readable sites in one line."""

from __future__ import annotations

from optimizer import Evse, Node, NodeLimit, Site

PHASES_3 = (0, 1, 2)


def fuse(node_id: str, amps: float, parent: str | None = None, **extra: NodeLimit) -> Node:
    """A node limited by one fuse of ``amps`` on every phase."""
    limits = (NodeLimit("fuse", (amps, amps, amps)), *extra.values())
    return Node(node_id, parent_id=parent, limits=limits)


def site(*nodes: Node, evses: tuple[Evse, ...]) -> Site:
    return Site(nodes=nodes, evses=evses)


def evse(
    evse_id: str,
    node_id: str = "main",
    *,
    phase_map: tuple[int, ...] = PHASES_3,
    min_a: float = 6.0,
    max_a: float = 32.0,
    step_a: float | None = None,
) -> Evse:
    return Evse(
        evse_id,
        node_id,
        phase_map=phase_map,
        min_current_a=min_a,
        max_current_a=max_a,
        current_step_a=step_a,
    )
