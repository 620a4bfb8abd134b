"""The site tree compiled into constraint rows.

Rules of this file:
- A row is one limit of one node: a grid phase (L1..L3) or its power. Its capacity is the
  lowest of the node's sources, minus the non-EV load of the node's whole subtree.
- Capacities are kept in integer milliamps so that the final check is exact. A power limit
  becomes "phase-amps": ``P / V`` is the sum over phases of the per-phase current.
- A session loading grid phases G adds its current once to each phase row of G at its node
  and every ancestor, and ``len(G)`` times to each power row on that path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from optimizer.errors import InvalidInputError
from optimizer.model import NO_LOAD, Evse, Node, Site

PHASE_NAMES = ("L1", "L2", "L3")
POWER = -1


@dataclass(frozen=True, slots=True)
class Row:
    """One constraint: the load of the sessions on it must stay within ``capacity_ma``."""

    node_id: str
    phase: int
    source: str
    capacity_ma: int
    voltage_v: float

    @property
    def label(self) -> str:
        kind = "power" if self.phase == POWER else PHASE_NAMES[self.phase]
        return f"node:{self.node_id}:{kind}:{self.source}"


@dataclass(frozen=True, slots=True)
class SiteTree:
    """Rows plus, per node, the rows on the path to the root (for one phase or power)."""

    rows: tuple[Row, ...]
    node_ids: tuple[str, ...]
    phase_rows: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]
    power_rows: dict[str, tuple[int, ...]]
    node_rows: dict[str, tuple[int, ...]]
    ancestors: dict[str, tuple[str, ...]]
    parent_of: dict[str, str | None]
    bottom_up: tuple[str, ...]
    evses: dict[str, Evse]
    voltage_v: dict[str, float]
    # Filled on demand: many EVSEs share a node and a phase set. Lives as long as this tree.
    column_memo: dict[tuple[str, tuple[int, ...]], Column] = field(default_factory=dict)

    def column(self, evse: Evse, grid_phases: tuple[int, ...]) -> Column:
        """Rows and coefficients of a session at ``evse`` loading ``grid_phases`` (sorted)."""
        key = (evse.node_id, grid_phases)
        found = self.column_memo.get(key)
        if found is None:
            found = self._build_column(evse.node_id, grid_phases)
            self.column_memo[key] = found
        return found

    def _build_column(self, node_id: str, phases: tuple[int, ...]) -> Column:
        rows: list[int] = []
        by_phase = self.phase_rows[node_id]
        for phase in phases:
            rows.extend(by_phase[phase])
        coefs = [1] * len(rows)
        power = self.power_rows[node_id]
        rows.extend(power)
        coefs.extend([len(phases)] * len(power))
        return Column(tuple(rows), tuple(coefs), np.asarray(rows, dtype=np.intp), np.asarray(coefs))


@dataclass(frozen=True, slots=True, eq=False)
class Column:
    """The rows one session loads, with its coefficient on each (as tuples and arrays)."""

    rows: tuple[int, ...]
    coefs: tuple[int, ...]
    row_array: NDArray[np.intp]
    coef_array: NDArray[np.int64]


def to_ma(current_a: float) -> int:
    """Milliamps, rounded down (a tiny tolerance absorbs binary representation noise)."""
    return max(0, math.floor(current_a * 1000.0 + 1e-6))


def build_tree(site: Site) -> SiteTree:
    """Validate the site and compile it to rows. Raises InvalidInputError when malformed."""
    nodes = _index_nodes(site.nodes)
    evses = _index_evses(site.evses, nodes)
    order = tuple(sorted(nodes))
    subtree_load = _subtree_non_ev_load(nodes)
    rows: list[Row] = []
    own_rows: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {}
    for node_id in order:
        node = nodes[node_id]
        own_rows[node_id] = _node_rows(node, subtree_load[node_id], rows)
    phase_rows: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] = {}
    power_rows: dict[str, tuple[int, ...]] = {}
    node_rows: dict[str, tuple[int, ...]] = {}
    ancestors: dict[str, tuple[str, ...]] = {}
    for node_id in order:
        path = _path_to_root(node_id, nodes)
        ancestors[node_id] = tuple(path)
        per_phase = [tuple(r for n in path for r in own_rows[n][p]) for p in range(3)]
        phase_rows[node_id] = (per_phase[0], per_phase[1], per_phase[2])
        power_rows[node_id] = tuple(r for n in path for r in own_rows[n][3])
        node_rows[node_id] = tuple(r for k in range(4) for r in own_rows[node_id][k])
    voltage = {node_id: nodes[node_id].nominal_voltage_v for node_id in order}
    return SiteTree(
        rows=tuple(rows),
        node_ids=order,
        phase_rows=phase_rows,
        power_rows=power_rows,
        node_rows=node_rows,
        ancestors=ancestors,
        parent_of={node_id: nodes[node_id].parent_id for node_id in order},
        bottom_up=tuple(sorted(order, key=lambda n: (-len(ancestors[n]), n))),
        evses=evses,
        voltage_v=voltage,
    )


def _index_nodes(nodes: tuple[Node, ...]) -> dict[str, Node]:
    index: dict[str, Node] = {}
    for node in nodes:
        if node.node_id in index:
            raise InvalidInputError(f"duplicate node id {node.node_id!r}")
        index[node.node_id] = node
    for node in nodes:
        if node.parent_id is not None and node.parent_id not in index:
            raise InvalidInputError(f"node {node.node_id}: unknown parent {node.parent_id!r}")
    for node in nodes:
        _path_to_root(node.node_id, index)
    return index


def _index_evses(evses: tuple[Evse, ...], nodes: dict[str, Node]) -> dict[str, Evse]:
    index: dict[str, Evse] = {}
    for evse in evses:
        if evse.evse_id in index:
            raise InvalidInputError(f"duplicate evse id {evse.evse_id!r}")
        if evse.node_id not in nodes:
            raise InvalidInputError(f"evse {evse.evse_id}: unknown node {evse.node_id!r}")
        index[evse.evse_id] = evse
    return index


def _path_to_root(node_id: str, nodes: dict[str, Node]) -> list[str]:
    path = [node_id]
    parent = nodes[node_id].parent_id
    while parent is not None:
        if parent in path:
            raise InvalidInputError(f"node {node_id}: the tree has a cycle through {parent}")
        path.append(parent)
        parent = nodes[parent].parent_id
    return path


def _subtree_non_ev_load(nodes: dict[str, Node]) -> dict[str, tuple[float, float, float]]:
    totals = {node_id: [0.0, 0.0, 0.0] for node_id in nodes}
    for node_id in sorted(nodes):
        load = nodes[node_id].non_ev_load_a
        if load == NO_LOAD:
            continue
        for ancestor in _path_to_root(node_id, nodes):
            for phase in range(3):
                totals[ancestor][phase] += load[phase]
    return {k: (v[0], v[1], v[2]) for k, v in totals.items()}


def _node_rows(
    node: Node, non_ev_load_a: tuple[float, float, float], rows: list[Row]
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Append the node's binding rows (lowest source per phase and for power)."""
    own: tuple[list[int], list[int], list[int], list[int]] = ([], [], [], [])
    for phase in range(3):
        limits = [
            (lim.max_current_a[phase], lim.source)
            for lim in node.limits
            if lim.max_current_a is not None
        ]
        if limits:
            value, source = min(limits)
            own[phase].append(len(rows))
            capacity = to_ma(value - non_ev_load_a[phase])
            rows.append(Row(node.node_id, phase, source, capacity, node.nominal_voltage_v))
    powers = [(lim.max_power_w, lim.source) for lim in node.limits if lim.max_power_w is not None]
    if powers:
        value_w, source = min(powers)
        phase_amps = value_w / node.nominal_voltage_v - sum(non_ev_load_a)
        own[3].append(len(rows))
        rows.append(Row(node.node_id, POWER, source, to_ma(phase_amps), node.nominal_voltage_v))
    return own
