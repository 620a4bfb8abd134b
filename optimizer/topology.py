"""The shape of a site, compiled once and reused while the shape stays the same.

Rules of this file:
- The shape is what a control cycle does not change: node ids and parents, which nodes
  limit their phases and which their power, and the EVSEs. Limit values, sources, voltages
  and non-EV loads change every cycle; they belong to ``tree.build_tree``, not here.
- Rows are laid out by the shape alone: per node in id order, its three phase rows (if any
  source limits current) then its power row (if any source limits power).
- A column is the rows one session loads (its node and every ancestor, on its grid
  phases) with a coefficient on each. Columns are memoised by (node, phase set) and kept
  as one flat table, so a cycle gathers every session's rows with a few array operations.
- The memos grow only with new (node, phase set) pairs; they never change an answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from optimizer.errors import InvalidInputError
from optimizer.model import Evse, Node, Site
from optimizer.result import EvseAllocation

Ints = NDArray[np.intp]
Ints64 = NDArray[np.int64]
POWER = -1
MIX = -2
# A phase mix's weights in thousandths, rounded up: integer rows stay exact and safe.
MIX_SCALE = 1000
MixWeights = tuple[int, int, int]
# Per node: (node_id, parent_id, limits current, limits power, phase mixes' weights).
ShapeKey = tuple[tuple[str, str | None, bool, bool, tuple[MixWeights, ...]], ...]


@dataclass(frozen=True, slots=True, eq=False)
class Column:
    """The rows one session loads, with its coefficient on each (as tuples and arrays)."""

    rows: tuple[int, ...]
    coefs: tuple[int, ...]
    row_array: Ints
    coef_array: Ints64


@dataclass(slots=True, eq=False)
class ColumnTable:
    """Every column built so far, by (node, phase set), and all of them as flat arrays."""

    index: dict[tuple[str, tuple[int, ...]], int] = field(default_factory=dict)
    columns: list[Column] = field(default_factory=list)
    start: Ints = field(default_factory=lambda: np.zeros(1, dtype=np.intp))
    rows: Ints = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    coefs: Ints64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, key: tuple[str, tuple[int, ...]], column: Column) -> int:
        self.index[key] = len(self.columns)
        self.columns.append(column)
        # Rebuilt on growth only: a steady site stops adding columns after its first cycles.
        self.start = np.append(self.start, self.start[-1] + len(column.rows))
        self.rows = np.concatenate((self.rows, column.row_array))
        self.coefs = np.concatenate((self.coefs, column.coef_array))
        return self.index[key]

    def entries(self, kinds: Ints) -> tuple[Ints, Ints, Ints64]:
        """Coordinate entries (row, column, coefficient) of sessions of these column kinds."""
        sizes = self.start[kinds + 1] - self.start[kinds]
        total = int(sizes.sum())
        entry_col = np.repeat(np.arange(kinds.shape[0], dtype=np.intp), sizes)
        first = np.cumsum(sizes) - sizes
        within = np.arange(total, dtype=np.intp) - first[entry_col]
        flat = self.start[kinds][entry_col] + within
        return self.rows[flat], entry_col, self.coefs[flat]


@dataclass(frozen=True, slots=True, eq=False)
class Topology:
    """A site's shape: nodes, paths to the root, row layout, EVSEs and the column memo."""

    shape: ShapeKey
    site_evses: tuple[Evse, ...]
    node_ids: tuple[str, ...]
    row_node: tuple[str, ...]
    row_phase: tuple[int, ...]
    mix_rows: dict[str, tuple[tuple[int, MixWeights], ...]]
    phase_rows: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]
    power_rows: dict[str, tuple[int, ...]]
    node_rows: dict[str, tuple[int, ...]]
    ancestors: dict[str, tuple[str, ...]]
    parent_of: dict[str, str | None]
    bottom_up: tuple[str, ...]
    evses: dict[str, Evse]
    evse_ids: tuple[str, ...]
    node_index: dict[str, int]
    # (node, ancestor-or-self) index pairs: a node's load flows to each of its ancestors.
    subtree_pairs: tuple[Ints, Ints]
    table: ColumnTable = field(default_factory=ColumnTable)
    idle_memo: dict[str, EvseAllocation] = field(default_factory=dict)

    def idle_results(self, idle: Callable[[Evse], EvseAllocation]) -> dict[str, EvseAllocation]:
        """Per EVSE, its result when it has no session: it depends on the EVSE alone."""
        if not self.idle_memo:
            self.idle_memo.update((e, idle(self.evses[e])) for e in self.evse_ids)
        return self.idle_memo

    def fits(self, site: Site) -> bool:
        """True when ``site`` has this shape (EVSEs compared by identity first: cheap)."""
        same_evses = site.evses is self.site_evses or site.evses == self.site_evses
        return same_evses and shape_key(site.nodes) == self.shape

    def kind(self, node_id: str, grid_phases: tuple[int, ...]) -> int:
        """The column kind of a session at ``node_id`` loading ``grid_phases`` (sorted)."""
        key = (node_id, grid_phases)
        found = self.table.index.get(key)
        if found is None:
            found = self.table.add(key, self._build_column(node_id, grid_phases))
        return found

    def column(self, evse: Evse, grid_phases: tuple[int, ...]) -> Column:
        return self.table.columns[self.kind(evse.node_id, grid_phases)]

    def _build_column(self, node_id: str, phases: tuple[int, ...]) -> Column:
        rows: list[int] = []
        by_phase = self.phase_rows[node_id]
        for phase in phases:
            rows.extend(by_phase[phase])
        coefs = [1] * len(rows)
        power = self.power_rows[node_id]
        rows.extend(power)
        coefs.extend([len(phases)] * len(power))
        for row, weights in self.mix_rows[node_id]:
            coef = sum(weights[phase] for phase in phases)
            if coef > 0:
                rows.append(row)
                coefs.append(coef)
        return Column(
            tuple(rows),
            tuple(coefs),
            np.asarray(rows, dtype=np.intp),
            np.asarray(coefs, dtype=np.int64),
        )


def shape_key(nodes: tuple[Node, ...]) -> ShapeKey:
    return tuple(
        (
            node.node_id,
            node.parent_id,
            any(limit.max_current_a is not None for limit in node.limits),
            any(limit.max_power_w is not None for limit in node.limits),
            tuple(_mix_weights(mix.weights) for limit in node.limits for mix in limit.mixes),
        )
        for node in nodes
    )


def _mix_weights(weights: tuple[float, float, float]) -> MixWeights:
    scaled = [math.ceil(w * MIX_SCALE - 1e-9) for w in weights]
    return (scaled[0], scaled[1], scaled[2])


def compile_topology(site: Site) -> Topology:
    """Validate the site's shape and lay out its rows. Raises InvalidInputError if malformed."""
    nodes = _index_nodes(site.nodes)
    evses = _index_evses(site.evses, nodes)
    shape = shape_key(site.nodes)
    limited = {node_id: (current, power, mixes) for node_id, _, current, power, mixes in shape}
    order = tuple(sorted(nodes))
    own: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {}
    row_node: list[str] = []
    row_phase: list[int] = []
    own_mixes: dict[str, list[tuple[int, MixWeights]]] = {}
    for node_id in order:
        own[node_id] = ([], [], [], [])
        current, power, mixes = limited[node_id]
        kinds = [*(range(3) if current else ()), *((POWER,) if power else ())]
        for phase in kinds:
            own[node_id][phase].append(len(row_node))
            row_node.append(node_id)
            row_phase.append(phase)
        own_mixes[node_id] = []
        for weights in mixes:
            own_mixes[node_id].append((len(row_node), weights))
            row_node.append(node_id)
            row_phase.append(MIX)
    ancestors = {node_id: tuple(_path_to_root(node_id, nodes)) for node_id in order}
    node_index = {node_id: k for k, node_id in enumerate(order)}
    pairs = [(node_index[n], node_index[a]) for n in order for a in ancestors[n]]
    return Topology(
        shape=shape,
        site_evses=site.evses,
        node_ids=order,
        row_node=tuple(row_node),
        row_phase=tuple(row_phase),
        mix_rows={n: tuple(m for a in path for m in own_mixes[a]) for n, path in ancestors.items()},
        phase_rows={
            n: (_on_path(own, path, 0), _on_path(own, path, 1), _on_path(own, path, 2))
            for n, path in ancestors.items()
        },
        power_rows={n: _on_path(own, path, POWER) for n, path in ancestors.items()},
        node_rows={
            n: (*(r for k in (0, 1, 2, POWER) for r in own[n][k]), *(r for r, _ in own_mixes[n]))
            for n in order
        },
        ancestors=ancestors,
        parent_of={node_id: nodes[node_id].parent_id for node_id in order},
        bottom_up=tuple(sorted(order, key=lambda n: (-len(ancestors[n]), n))),
        evses=evses,
        evse_ids=tuple(sorted(evses)),
        node_index=node_index,
        subtree_pairs=(
            np.asarray([below for below, _ in pairs], dtype=np.intp),
            np.asarray([above for _, above in pairs], dtype=np.intp),
        ),
    )


def _on_path(
    own: dict[str, tuple[list[int], list[int], list[int], list[int]]],
    path: tuple[str, ...],
    kind: int,
) -> tuple[int, ...]:
    return tuple(r for n in path for r in own[n][kind])


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
