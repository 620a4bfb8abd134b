"""The site tree compiled into constraint rows.

Rules of this file:
- A row is one limit of one node: a grid phase (L1..L3) or its power. Its capacity is the
  lowest of the node's sources, minus the non-EV load of the node's whole subtree.
- Capacities are kept in integer milliamps so that the final check is exact. A power limit
  becomes "phase-amps": ``P / V`` is the sum over phases of the per-phase current.
- A session loading grid phases G adds its current once to each phase row of G at its node
  and every ancestor, and ``len(G)`` times to each power row on that path.
- The layout of the rows comes from the site's shape (``topology``), compiled once and
  reused while the shape is unchanged; only the capacities are recomputed every cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimizer.model import NO_LOAD, Evse, Node, Site
from optimizer.topology import MIX, MIX_SCALE, POWER, Column, Ints64, Topology, compile_topology

PHASE_NAMES = ("L1", "L2", "L3")
__all__ = ["MIX", "PHASE_NAMES", "POWER", "Column", "Row", "SiteTree", "build_tree", "to_ma"]


@dataclass(frozen=True, slots=True)
class Row:
    """One constraint: the load of the sessions on it must stay within ``capacity_ma``."""

    node_id: str
    phase: int
    source: str
    capacity_ma: int
    voltage_v: float
    mix_index: int = 0

    @property
    def label(self) -> str:
        if self.phase == MIX:
            kind = f"mix{self.mix_index}"
        else:
            kind = "power" if self.phase == POWER else PHASE_NAMES[self.phase]
        return f"node:{self.node_id}:{kind}:{self.source}"


@dataclass(frozen=True, slots=True, eq=False)
class SiteTree:
    """This cycle's rows (capacities and sources) over the site's reusable shape."""

    topology: Topology
    rows: tuple[Row, ...]
    capacity_ma: Ints64
    voltage_v: dict[str, float]

    @property
    def evses(self) -> dict[str, Evse]:
        return self.topology.evses

    @property
    def node_ids(self) -> tuple[str, ...]:
        return self.topology.node_ids

    @property
    def ancestors(self) -> dict[str, tuple[str, ...]]:
        return self.topology.ancestors

    @property
    def node_rows(self) -> dict[str, tuple[int, ...]]:
        return self.topology.node_rows

    @property
    def phase_rows(self) -> dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
        return self.topology.phase_rows

    @property
    def parent_of(self) -> dict[str, str | None]:
        return self.topology.parent_of

    @property
    def bottom_up(self) -> tuple[str, ...]:
        return self.topology.bottom_up

    def column(self, evse: Evse, grid_phases: tuple[int, ...]) -> Column:
        """Rows and coefficients of a session at ``evse`` loading ``grid_phases`` (sorted)."""
        return self.topology.column(evse, grid_phases)


def to_ma(current_a: float) -> int:
    """Milliamps, rounded down (a tiny tolerance absorbs binary representation noise)."""
    return max(0, math.floor(current_a * 1000.0 + 1e-6))


def build_tree(site: Site, reuse: Topology | None = None) -> SiteTree:
    """Validate the site and compile it to rows. Raises InvalidInputError when malformed.

    ``reuse`` is the topology of an earlier cycle: kept if the site still has its shape.
    """
    topology = reuse if reuse is not None and reuse.fits(site) else compile_topology(site)
    nodes = {node.node_id: node for node in site.nodes}
    subtree_load = _subtree_non_ev_load(nodes, topology)
    rows = []
    for node_id in topology.node_ids:
        rows.extend(_node_rows(nodes[node_id], subtree_load.get(node_id, NO_LOAD)))
    return SiteTree(
        topology=topology,
        rows=tuple(rows),
        capacity_ma=np.asarray([row.capacity_ma for row in rows], dtype=np.int64),
        voltage_v={node_id: node.nominal_voltage_v for node_id, node in nodes.items()},
    )


def _subtree_non_ev_load(
    nodes: dict[str, Node], topology: Topology
) -> dict[str, tuple[float, float, float]]:
    """Per node with any load below it: that load per phase (sparse: most have none)."""
    totals: dict[str, tuple[float, float, float]] = {}
    for node_id in topology.node_ids:
        load = nodes[node_id].non_ev_load_a
        if load == NO_LOAD:
            continue
        for ancestor in topology.ancestors[node_id]:
            a, b, c = totals.get(ancestor, NO_LOAD)
            totals[ancestor] = (a + load[0], b + load[1], c + load[2])
    return totals


def _node_rows(node: Node, non_ev_load_a: tuple[float, float, float]) -> list[Row]:
    """The node's binding rows (lowest source per phase, then power), in layout order."""
    rows = []
    currents = [
        (lim.max_current_a, lim.source) for lim in node.limits if lim.max_current_a is not None
    ]
    for phase in range(3) if currents else ():
        value, source = min((limit[phase], source) for limit, source in currents)
        capacity = to_ma(value - non_ev_load_a[phase])
        rows.append(Row(node.node_id, phase, source, capacity, node.nominal_voltage_v))
    powers = [(lim.max_power_w, lim.source) for lim in node.limits if lim.max_power_w is not None]
    if powers:
        value_w, source = min(powers)
        phase_amps = value_w / node.nominal_voltage_v - sum(non_ev_load_a)
        rows.append(Row(node.node_id, POWER, source, to_ma(phase_amps), node.nominal_voltage_v))
    mixes = [(mix, lim.source) for lim in node.limits for mix in lim.mixes]
    for index, (mix, source) in enumerate(mixes):
        left_a = mix.max_current_a - sum(
            w * a for w, a in zip(mix.weights, non_ev_load_a, strict=True)
        )
        # Weights are in thousandths (rounded up), so is the capacity: mA x 1000.
        capacity = to_ma(left_a * MIX_SCALE)
        rows.append(Row(node.node_id, MIX, source, capacity, node.nominal_voltage_v, index))
    return rows
