"""Turn the solved limits into per-EVSE allocations and per-node headroom."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optimizer import result
from optimizer.admission import Admission
from optimizer.demand import SessionPlan
from optimizer.model import Evse
from optimizer.tree import POWER, SiteTree


def evse_results(
    tree: SiteTree,
    plans: Sequence[SessionPlan],
    admission: Admission,
    limits_ma: Sequence[int],
    reasons: Sequence[str],
) -> tuple[result.EvseAllocation, ...]:
    """Every EVSE of the site, sorted by id; those without a session get 0."""
    by_evse = {plan.evse.evse_id: index for index, plan in enumerate(plans)}
    entries = []
    for evse_id in sorted(tree.evses):
        evse = tree.evses[evse_id]
        index = by_evse.get(evse_id)
        if index is None:
            entries.append(_idle(evse))
            continue
        phases = admission.grid_phases[index]
        entries.append(_allocation(evse, phases, limits_ma[index] / 1000.0, reasons[index]))
    return tuple(entries)


def _idle(evse: Evse) -> result.EvseAllocation:
    zeros = tuple(0.0 for _ in evse.phase_map)
    return result.EvseAllocation(
        evse.evse_id, 0.0, zeros, (0.0, 0.0, 0.0), evse.phase_count, result.NO_SESSION
    )


def _allocation(
    evse: Evse, grid_phases: tuple[int, ...], limit_a: float, reason: str
) -> result.EvseAllocation:
    per_conductor = tuple([limit_a if phase in grid_phases else 0.0 for phase in evse.phase_map])
    grid = (
        limit_a if 0 in grid_phases else 0.0,
        limit_a if 1 in grid_phases else 0.0,
        limit_a if 2 in grid_phases else 0.0,
    )
    # Positional: this runs once per EVSE per cycle.
    return result.EvseAllocation(
        evse.evse_id, limit_a, per_conductor, grid, len(grid_phases), reason
    )


def node_headrooms(
    tree: SiteTree,
    plans: Sequence[SessionPlan],
    admission: Admission,
    limits_ma: Sequence[int],
    row_load_ma: Sequence[int],
) -> tuple[result.NodeHeadroom, ...]:
    """Per node: EV load per grid phase below it, and what each of its own rows has left."""
    node_index = {node_id: index for index, node_id in enumerate(tree.node_ids)}
    slots: list[int] = []
    amounts: list[int] = []
    for plan, phases, limit_ma in zip(plans, admission.grid_phases, limits_ma, strict=True):
        base = 3 * node_index[plan.evse.node_id]
        for phase in phases:
            slots.append(base + phase)
            amounts.append(limit_ma)
    flat = np.zeros(3 * len(tree.node_ids), dtype=np.int64)
    np.add.at(flat, np.asarray(slots, dtype=np.intp), np.asarray(amounts, dtype=np.int64))
    load = flat.reshape(-1, 3)
    for node_id in tree.bottom_up:
        parent = tree.parent_of[node_id]
        if parent is not None:
            load[node_index[parent]] += load[node_index[node_id]]
    return tuple(
        _headroom(tree, node_id, load[node_index[node_id]].tolist(), row_load_ma)
        for node_id in tree.node_ids
    )


def _headroom(
    tree: SiteTree, node_id: str, load_ma: list[int], row_load_ma: Sequence[int]
) -> result.NodeHeadroom:
    headroom: list[float | None] = [None, None, None]
    headroom_w = None
    for row_index in tree.node_rows[node_id]:
        row = tree.rows[row_index]
        left_a = (row.capacity_ma - row_load_ma[row_index]) / 1000.0
        if row.phase == POWER:
            headroom_w = left_a * row.voltage_v
        else:
            headroom[row.phase] = left_a
    return result.NodeHeadroom(
        node_id=node_id,
        ev_load_a=(load_ma[0] / 1000.0, load_ma[1] / 1000.0, load_ma[2] / 1000.0),
        headroom_a=(headroom[0], headroom[1], headroom[2]),
        headroom_w=headroom_w,
    )
