"""The fallback plan: per-EVSE floor currents that stay safe if the controller vanishes.

Rules of this file:
- Worst case: every EVSE charges at once and loads every phase it is wired to with its
  full floor. Every row coefficient is non-negative, so a plan that holds in that case
  holds for any subset of sessions and any phases in use (the property tests check it).
- Within that, the floors are max-min fair (water-filling), capped by each EVSE's maximum
  and rounded down to its step; the row that stopped each floor is named.
- The floors are computed against the lowest limit known now and the measured non-EV
  load; recompute whenever either changes.
- A floor below the EVSE's minimum current is still safe, but a vehicle will pause rather
  than charge on it: ``below_minimum`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer import result
from optimizer.fairness import OWN_CAP, Problem, solve_by_class
from optimizer.model import Options, Site
from optimizer.quantize import Grid, quantize
from optimizer.tree import POWER, SiteTree, build_tree, to_ma
from optimizer.waterfill import fill_waterfill


@dataclass(frozen=True, slots=True)
class FallbackFloor:
    """The floor for one EVSE and what stopped it from being higher."""

    evse_id: str
    floor_a: float
    bound_by: str
    below_minimum: bool


@dataclass(frozen=True, slots=True)
class FallbackNode:
    """What the floors cost a node in the worst case: capacity reserved, capacity left."""

    node_id: str
    reserved_a: tuple[float, float, float]
    headroom_a: tuple[float | None, float | None, float | None]
    headroom_w: float | None


@dataclass(frozen=True, slots=True)
class FallbackPlan:
    """Floors sorted by evse_id, per-node cost, and the total floor current over all phases."""

    floors: tuple[FallbackFloor, ...]
    nodes: tuple[FallbackNode, ...]
    total_floor_a: float

    def floor(self, evse_id: str) -> FallbackFloor:
        for entry in self.floors:
            if entry.evse_id == evse_id:
                return entry
        raise KeyError(evse_id)


def fallback_plan(site: Site, options: Options | None = None) -> FallbackPlan:
    """Floors for every EVSE of ``site`` that fit every node on every phase in any case."""
    options = options or Options()
    tree = build_tree(site)
    evse_ids = sorted(tree.evses)
    grid = _worst_case_grid(tree, evse_ids, options)
    problem = Problem(
        entry_row=grid.entry_row,
        entry_col=grid.entry_col,
        entry_coef=grid.entry_coef.astype(np.float64),
        capacity_a=grid.capacity_ma / 1000.0,
        lower_a=np.zeros(len(evse_ids)),
        upper_a=grid.cap_ma / 1000.0,
        weight=np.ones(len(evse_ids)),
        priority=np.zeros(len(evse_ids), dtype=np.int64),
    )
    value_a, binding = solve_by_class(problem, fill_waterfill)
    floors_ma = quantize(grid, value_a)
    floors = tuple(
        _floor(tree, evse_id, int(floors_ma[col]), int(binding[col]))
        for col, evse_id in enumerate(evse_ids)
    )
    row_load = grid.row_load(floors_ma).tolist()
    nodes = tuple(_node(tree, node_id, floors, row_load) for node_id in tree.node_ids)
    total = sum(f.floor_a * tree.evses[f.evse_id].phase_count for f in floors)
    return FallbackPlan(floors, nodes, round(total, 3))


def _worst_case_grid(tree: SiteTree, evse_ids: list[str], options: Options) -> Grid:
    columns = [tree.column(tree.evses[e], tuple(sorted(tree.evses[e].phase_map))) for e in evse_ids]
    sizes = [len(column.rows) for column in columns]
    steps = [to_ma(tree.evses[e].current_step_a or options.default_step_a) for e in evse_ids]
    caps = [
        to_ma(tree.evses[e].max_current_a) // step * step
        for e, step in zip(evse_ids, steps, strict=True)
    ]
    empty = np.zeros(0, dtype=np.int64)
    return Grid(
        entry_row=np.concatenate([c.row_array for c in columns]) if columns else empty,
        entry_col=np.repeat(np.arange(len(columns), dtype=np.intp), sizes),
        entry_coef=np.concatenate([c.coef_array for c in columns]) if columns else empty,
        capacity_ma=np.asarray([row.capacity_ma for row in tree.rows], dtype=np.int64),
        step_ma=np.asarray(steps, dtype=np.int64),
        floor_ma=np.zeros(len(evse_ids), dtype=np.int64),
        cap_ma=np.asarray(caps, dtype=np.int64),
        priority=np.zeros(len(evse_ids), dtype=np.int64),
    )


def _floor(tree: SiteTree, evse_id: str, floor_ma: int, row: int) -> FallbackFloor:
    evse = tree.evses[evse_id]
    reason = result.EVSE_MAX if row == OWN_CAP else tree.rows[row].label
    return FallbackFloor(
        evse_id=evse_id,
        floor_a=floor_ma / 1000.0,
        bound_by=reason,
        below_minimum=floor_ma < to_ma(evse.min_current_a),
    )


def _node(
    tree: SiteTree, node_id: str, floors: tuple[FallbackFloor, ...], row_load: list[int]
) -> FallbackNode:
    reserved = [0.0, 0.0, 0.0]
    for entry in floors:
        evse = tree.evses[entry.evse_id]
        if node_id in tree.ancestors[evse.node_id]:
            for phase in evse.phase_map:
                reserved[phase] += entry.floor_a
    headroom: list[float | None] = [None, None, None]
    headroom_w = None
    for index in tree.node_rows[node_id]:
        row = tree.rows[index]
        left_a = (row.capacity_ma - row_load[index]) / 1000.0
        if row.phase == POWER:
            headroom_w = left_a * row.voltage_v
        elif row.phase >= 0:  # a phase mix has no single phase to report
            headroom[row.phase] = left_a
    return FallbackNode(
        node_id=node_id,
        reserved_a=(round(reserved[0], 3), round(reserved[1], 3), round(reserved[2], 3)),
        headroom_a=(headroom[0], headroom[1], headroom[2]),
        headroom_w=headroom_w,
    )
