"""Semi-continuous minimums: which sessions get at least their minimum, and which get 0.

Rules of this file:
- A session is either off (0 A) or at or above its EVSE's minimum current.
- When every session fits at its minimum on every row, all are admitted.
- Otherwise sessions are taken in rank order and admitted if their minimum still fits; the
  rank is: priority class (higher first); a session admitted less than one rotation
  interval ago keeps its slot; least laxity (known departure and energy); longest waiting
  (or, for admitted ones, most recently admitted last); then evse_id. This greedy order is
  exactly the lexicographic optimum of "admit the best-ranked sessions", and as waiting
  time grows, held sessions overtake admitted ones, so nobody starves.
- An EVSE that can switch to one phase is admitted on one phase when three do not fit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from optimizer.demand import SessionPlan
from optimizer.tree import SiteTree


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
    """Decide admission for every plan against the tree's row capacities."""
    remaining = [row.capacity_ma for row in tree.rows]
    phases = [plan.grid_phases for plan in plans]
    if _all_fit(plans, tree, remaining):
        return Admission(tuple(plan.cap_ma > 0 for plan in plans), tuple(phases))
    admitted = [False] * len(plans)
    for index in sorted(range(len(plans)), key=lambda i: rank_key(plans[i])):
        plan = plans[index]
        if plan.cap_ma <= 0:
            continue
        for option in _phase_options(plan):
            if _take(tree, plan, option, remaining):
                admitted[index] = True
                phases[index] = option
                break
    return Admission(tuple(admitted), tuple(phases))


def _phase_options(plan: SessionPlan) -> list[tuple[int, ...]]:
    if plan.single_phase is None or plan.single_phase == plan.grid_phases:
        return [plan.grid_phases]
    return [plan.grid_phases, plan.single_phase]


def _all_fit(plans: Sequence[SessionPlan], tree: SiteTree, capacity: list[int]) -> bool:
    load = [0] * len(capacity)
    for plan in plans:
        if plan.cap_ma <= 0:
            continue
        rows, coefs = tree.column(plan.evse, plan.grid_phases)
        for row, coef in zip(rows, coefs, strict=True):
            load[row] += coef * plan.floor_ma
    return all(used <= cap for used, cap in zip(load, capacity, strict=True))


def _take(tree: SiteTree, plan: SessionPlan, phases: tuple[int, ...], remaining: list[int]) -> bool:
    """Reserve the plan's minimum on its rows if it fits everywhere."""
    rows, coefs = tree.column(plan.evse, phases)
    if any(coef * plan.floor_ma > remaining[row] for row, coef in zip(rows, coefs, strict=True)):
        return False
    for row, coef in zip(rows, coefs, strict=True):
        remaining[row] -= coef * plan.floor_ma
    return True
