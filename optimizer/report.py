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
    topology = tree.topology
    found = dict(topology.idle_results(_idle))
    masks: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[Masks, Masks]] = {}
    for plan, phases, limit_ma, reason in zip(
        plans, admission.grid_phases, limits_ma, reasons, strict=True
    ):
        evse = plan.evse
        mask = masks.get((evse.phase_map, phases))
        if mask is None:
            mask = masks[evse.phase_map, phases] = _masks(evse, phases)
        found[evse.evse_id] = _allocation(evse.evse_id, mask, limit_ma / 1000.0, reason)
    return tuple([found[evse_id] for evse_id in topology.evse_ids])


# 1.0 where the EVSE loads that conductor (or grid phase), else 0.0: a product makes the tuple.
Masks = tuple[float, ...]


def _masks(evse: Evse, grid_phases: tuple[int, ...]) -> tuple[Masks, Masks]:
    conductors = tuple(1.0 if phase in grid_phases else 0.0 for phase in evse.phase_map)
    grid = tuple(1.0 if phase in grid_phases else 0.0 for phase in range(3))
    return conductors, grid


def _idle(evse: Evse) -> result.EvseAllocation:
    zeros = tuple(0.0 for _ in evse.phase_map)
    return result.EvseAllocation(
        evse.evse_id, 0.0, zeros, (0.0, 0.0, 0.0), evse.phase_count, result.NO_SESSION
    )


def _allocation(
    evse_id: str, masks: tuple[Masks, Masks], limit_a: float, reason: str
) -> result.EvseAllocation:
    conductors, grid = masks
    # Positional: this runs once per EVSE per cycle.
    return result.EvseAllocation(
        evse_id,
        limit_a,
        (limit_a,) if len(conductors) == 1 else tuple([limit_a * m for m in conductors]),
        (limit_a * grid[0], limit_a * grid[1], limit_a * grid[2]),
        len(grid) - grid.count(0.0),
        reason,
    )


def node_headrooms(
    tree: SiteTree,
    plans: Sequence[SessionPlan],
    admission: Admission,
    limits_ma: Sequence[int],
    row_load_ma: Sequence[int],
) -> tuple[result.NodeHeadroom, ...]:
    """Per node: EV load per grid phase below it, and what each of its own rows has left."""
    topology = tree.topology
    own = np.zeros((len(topology.node_ids), 3), dtype=np.int64)
    if plans:
        node = np.asarray([topology.node_index[p.evse.node_id] for p in plans], dtype=np.intp)
        loaded = np.asarray([_on_phase(phases) for phases in admission.grid_phases])
        np.add.at(own, node, loaded * np.asarray(limits_ma, dtype=np.int64)[:, None])
    below, above = topology.subtree_pairs
    # Per phase: float sums of integer mA below 2**53 are exact, and bincount is fast.
    load = np.stack(
        [np.bincount(above, own[below, k].astype(np.float64), own.shape[0]) for k in range(3)],
        axis=1,
    ).astype(np.int64)
    return tuple(
        _headroom(tree, node_id, load[k].tolist(), row_load_ma)
        for k, node_id in enumerate(topology.node_ids)
    )


def _on_phase(grid_phases: tuple[int, ...]) -> tuple[int, int, int]:
    return (int(0 in grid_phases), int(1 in grid_phases), int(2 in grid_phases))


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
        elif row.phase >= 0:  # a phase mix has no single phase to report
            headroom[row.phase] = left_a
    return result.NodeHeadroom(
        node_id=node_id,
        ev_load_a=(load_ma[0] / 1000.0, load_ma[1] / 1000.0, load_ma[2] / 1000.0),
        headroom_a=(headroom[0], headroom[1], headroom[2]),
        headroom_w=headroom_w,
    )
