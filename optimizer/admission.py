"""Semi-continuous minimums: which sessions get at least their minimum, and which get 0.

Rules of this file:
- A session is either off (0 A) or at or above its EVSE's minimum current.
- When every session fits at its minimum on every row, all are admitted.
- Otherwise sessions are taken in rank order and admitted if their minimum still fits; the
  rank is: priority class (higher first); a session admitted less than one rotation
  interval ago keeps its slot; least laxity (known departure and energy); longest waiting
  (or, for admitted ones, most recently admitted last); then evse_id. Without phase
  switching this greedy is exactly the lexicographic optimum of "admit the best-ranked
  sessions" (exact.admit_exact solves it by MILPs, phase switching included). As waiting
  time grows, held sessions overtake admitted ones, so nobody starves.
- An EVSE that can switch to one phase is admitted on one phase when three do not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from optimizer.demand import SessionPlan
from optimizer.model import Evse
from optimizer.tree import SiteTree

Ints64 = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Admission:
    """Per plan (same order): admitted or not, and the grid phases it will load."""

    admitted: tuple[bool, ...]
    grid_phases: tuple[tuple[int, ...], ...]


def rank_key(plan: SessionPlan) -> tuple[int, bool, float, float, str]:
    """Sort key: the first sorted session is the first admitted."""
    return (
        -plan.session.priority,
        not plan.protected,
        plan.laxity_s,
        -plan.turn_s,
        plan.evse.evse_id,
    )


def admit(plans: Sequence[SessionPlan], tree: SiteTree) -> Admission:
    """Decide admission for every plan against the tree's row capacities.

    Only rows that cannot hold every minimum at once ("contended") can turn anyone away,
    so only the sessions on them go through the ranked greedy, checked on those rows only.
    A one-phase option loads a subset of its three-phase rows, so this stays exact.
    """
    wanting = [plan.cap_ma > 0 for plan in plans]
    phases = [plan.grid_phases for plan in plans]
    capacity = tree.capacity_ma
    contended = _floor_load(plans, wanting, tree) > capacity
    if not contended.any():
        return Admission(tuple(wanting), tuple(phases))
    admitted = list(wanting)
    remaining = capacity.tolist()
    checks = _ContendedChecks(tree, contended)
    on_contended = [
        index
        for index, plan in enumerate(plans)
        if wanting[index] and checks.pairs(plan.evse, plan.grid_phases)
    ]
    for index in ranked(plans, on_contended):
        plan = plans[index]
        admitted[index] = False
        for option in _phase_options(plan):
            if _take(checks.pairs(plan.evse, option), plan.floor_ma, remaining):
                admitted[index] = True
                phases[index] = option
                break
    return Admission(tuple(admitted), tuple(phases))


class _ContendedChecks:
    """Per column, its (row, coefficient) pairs on contended rows; columns are shared."""

    def __init__(self, tree: SiteTree, contended: NDArray[np.bool_]) -> None:
        self._tree = tree
        self._contended = contended.tolist()
        self._memo: dict[int, list[tuple[int, int]]] = {}

    def pairs(self, evse: Evse, phases: tuple[int, ...]) -> list[tuple[int, int]]:
        column = self._tree.column(evse, phases)
        found = self._memo.get(id(column))
        if found is None:
            found = [
                (row, coef)
                for row, coef in zip(column.rows, column.coefs, strict=True)
                if self._contended[row]
            ]
            self._memo[id(column)] = found
        return found


def ranked(plans: Sequence[SessionPlan], indices: list[int]) -> list[int]:
    """``indices`` sorted by rank_key, vectorised (plans are already in evse_id order)."""
    chosen = [plans[i] for i in indices]
    order = np.lexsort(
        (
            np.asarray(indices),
            -np.asarray([p.turn_s for p in chosen]),
            np.asarray([p.laxity_s for p in chosen]),
            ~np.asarray([p.protected for p in chosen], dtype=bool),
            -np.asarray([p.session.priority for p in chosen], dtype=np.int64),
        )
    )
    return [indices[k] for k in order.tolist()]


def _phase_options(plan: SessionPlan) -> list[tuple[int, ...]]:
    if plan.single_phase is None or plan.single_phase == plan.grid_phases:
        return [plan.grid_phases]
    return [plan.grid_phases, plan.single_phase]


def _floor_load(plans: Sequence[SessionPlan], wanting: list[bool], tree: SiteTree) -> Ints64:
    """Per row, the load if every session wanting current got its minimum."""
    chosen = [plan for plan, wants in zip(plans, wanting, strict=True) if wants]
    row_count = tree.capacity_ma.shape[0]
    if not chosen or not row_count:
        return np.zeros(row_count, dtype=np.int64)
    topology = tree.topology
    kinds = np.asarray([topology.kind(p.evse.node_id, p.grid_phases) for p in chosen])
    rows, cols, coefs = topology.table.entries(kinds.astype(np.intp))
    floors = np.asarray([plan.floor_ma for plan in chosen], dtype=np.int64)
    # Float sums of integers below 2**53 are exact, and bincount is much faster than add.at.
    load = np.bincount(rows, (coefs * floors[cols]).astype(np.float64), row_count)
    return load.astype(np.int64)


def _take(pairs: list[tuple[int, int]], floor_ma: int, remaining: list[int]) -> bool:
    """Reserve a minimum on its contended rows if it fits on all of them."""
    for row, coef in pairs:
        if coef * floor_ma > remaining[row]:
            return False
    for row, coef in pairs:
        remaining[row] -= coef * floor_ma
    return True
