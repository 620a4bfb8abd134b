"""The exact method: max-min fairness of one class by successive linear programs (HiGHS).

Lexicographic max-min by the textbook procedure: maximise the common level t that every
unfrozen member reaches (``x >= weight * t``); then, for each unfrozen member, maximise its
own value with everyone else kept at their level or above. Members that cannot rise above
the level are frozen there; the others go on to the next round. It makes no use of the
tree structure, so it checks the fast path independently. Rounding is shared with the fast
path; admission is solved exactly, by MILPs (``admit_exact``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import coo_array, csr_array, hstack, vstack

from optimizer.admission import Admission, ranked
from optimizer.demand import SessionPlan
from optimizer.errors import SolverError
from optimizer.fairness import OWN_CAP, Floats, Ints, Problem
from optimizer.tree import SiteTree

FREEZE_TOLERANCE_A = 1e-6
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class ClassLp:
    """One class's LP data: rows x members, room per row, member bounds and weights."""

    matrix: csr_array
    room: Floats
    lower: Floats
    upper: Floats
    weight: Floats

    @property
    def size(self) -> int:
        return int(self.lower.shape[0])

    def bounds(self, floor: Floats, frozen: Bools, value: Floats) -> list[tuple[float, float]]:
        return [
            (float(value[i]), float(value[i])) if frozen[i] else (float(floor[i]), self.upper[i])
            for i in range(self.size)
        ]


def fill_exact(problem: Problem, room: Floats, members: Ints) -> tuple[Floats, Ints]:
    """Max-min fair values for ``members`` within ``room``, solved as LPs."""
    lp = _class_lp(problem, room, members)
    frozen = np.zeros(lp.size, dtype=bool)
    value = lp.lower.copy()
    binding = np.full(lp.size, OWN_CAP, dtype=np.intp)
    while not frozen.all():
        level = _max_common_level(lp, frozen, value)
        floor = np.where(frozen, value, np.clip(lp.weight * level, lp.lower, lp.upper))
        for member in (int(m) for m in np.flatnonzero(~frozen)):
            solution = _max_single(lp, floor, frozen, value, member)
            if solution[member] <= floor[member] + FREEZE_TOLERANCE_A:
                value[member] = floor[member]
                binding[member] = _tight_row(lp, solution, member)
                frozen[member] = True
    return value, binding


def _class_lp(problem: Problem, room: Floats, members: Ints) -> ClassLp:
    local = np.full(problem.session_count, -1, dtype=np.intp)
    local[members] = np.arange(members.shape[0])
    in_class = local[problem.entry_col] >= 0
    coordinates = (problem.entry_row[in_class], local[problem.entry_col[in_class]])
    matrix = coo_array(
        (problem.entry_coef[in_class], coordinates), shape=(problem.row_count, members.shape[0])
    ).tocsr()
    return ClassLp(
        matrix=matrix,
        room=room,
        lower=problem.lower_a[members].copy(),
        upper=problem.upper_a[members],
        weight=problem.weight[members],
    )


def _max_common_level(lp: ClassLp, frozen: Bools, value: Floats) -> float:
    """The highest t with every unfrozen member at ``weight * t`` or more (variables x, t)."""
    size = lp.size
    bounds = lp.bounds(lp.lower, frozen, value)
    bounds.append((0.0, float(np.max(lp.upper / lp.weight))))
    growing = np.flatnonzero(~frozen)
    count = growing.shape[0]
    # weight * t - x <= 0 for every growing member.
    level_rows = coo_array(
        (
            np.concatenate((-np.ones(count), lp.weight[growing])),
            (np.tile(np.arange(count), 2), np.concatenate((growing, np.full(count, size)))),
        ),
        shape=(count, size + 1),
    )
    capacity_rows = hstack([lp.matrix, csr_array((lp.matrix.shape[0], 1))])
    objective = np.zeros(size + 1)
    objective[size] = -1.0
    outcome = linprog(
        objective,
        A_ub=vstack([capacity_rows, level_rows]).tocsr(),
        b_ub=np.concatenate((lp.room, np.zeros(count))),
        bounds=bounds,
        method="highs",
    )
    if outcome.status != 0:
        raise SolverError(f"level LP failed: {outcome.message}")
    return float(outcome.x[size])


def _max_single(lp: ClassLp, floor: Floats, frozen: Bools, value: Floats, member: int) -> Floats:
    """The best value ``member`` can reach with every other member at its floor or above."""
    objective = np.zeros(lp.size)
    objective[member] = -1.0
    bounds = lp.bounds(floor, frozen, value)
    outcome = linprog(objective, A_ub=lp.matrix, b_ub=lp.room, bounds=bounds, method="highs")
    if outcome.status != 0:
        raise SolverError(f"member LP failed: {outcome.message}")
    solution: Floats = outcome.x
    return solution


def _tight_row(lp: ClassLp, solution: Floats, member: int) -> int:
    """The lowest-index full row holding ``member``, or OWN_CAP when it is at its cap."""
    if solution[member] >= lp.upper[member] - FREEZE_TOLERANCE_A:
        return OWN_CAP
    slack = lp.room - lp.matrix @ solution
    column = lp.matrix[:, [member]].toarray().ravel()
    tight = np.flatnonzero((column > 0) & (slack <= FREEZE_TOLERANCE_A * 10))
    return int(tight[0]) if tight.shape[0] else OWN_CAP


def admit_exact(plans: Sequence[SessionPlan], tree: SiteTree) -> Admission:
    """Admission as a sequence of MILPs: the exact lexicographic optimum, phase switching too.

    In rank order, each session is admitted if some choice of phases for it and for every
    session admitted before it fits every row at the minimums (one feasibility MILP per
    session; binaries pick three phases or, where allowed, one). The ranked greedy of the
    fast path equals this when no EVSE can switch phases; with switching it may keep an
    earlier session on three phases where one phase would have let a later one in.
    Finally the phase choice of the admitted set maximises the number on their full phases.
    """
    capacity = np.asarray([row.capacity_ma for row in tree.rows], dtype=np.float64)
    options = [_options_of(plan, tree) for plan in plans]
    admitted: list[int] = []
    for index in ranked(plans, [i for i, plan in enumerate(plans) if plan.cap_ma > 0]):
        if _fits(options, [*admitted, index], capacity, prefer_full=False) is not None:
            admitted.append(index)
    choice = _fits(options, admitted, capacity, prefer_full=True)
    if choice is None:
        raise SolverError("the admitted set was feasible a moment ago and is not any more")
    flags = tuple(i in choice for i in range(len(plans)))
    phases = tuple(
        plans[i].grid_phases if i not in choice else _phase_set(plans[i], choice[i])
        for i in range(len(plans))
    )
    return Admission(flags, phases)


def _options_of(plan: SessionPlan, tree: SiteTree) -> list[tuple[list[int], list[int]]]:
    """(rows, floor loads in mA) of each phase option: full phases first, then one phase."""
    choices = [plan.grid_phases]
    if plan.single_phase is not None and plan.single_phase != plan.grid_phases:
        choices.append(plan.single_phase)
    found: list[tuple[list[int], list[int]]] = []
    for phases in choices:
        column = tree.column(plan.evse, phases)
        found.append((list(column.rows), [c * plan.floor_ma for c in column.coefs]))
    return found


def _phase_set(plan: SessionPlan, option: int) -> tuple[int, ...]:
    return plan.grid_phases if option == 0 or plan.single_phase is None else plan.single_phase


def _fits(
    options: list[list[tuple[list[int], list[int]]]],
    members: list[int],
    capacity: Floats,
    prefer_full: bool,
) -> dict[int, int] | None:
    """A phase option per member with every row within capacity, or None if none exists."""
    variables = [(member, k) for member in members for k in range(len(options[member]))]
    if not variables:
        return {}
    if capacity.shape[0] == 0:
        return dict.fromkeys(members, 0)
    loads = np.zeros((capacity.shape[0], len(variables)))
    for column, (member, k) in enumerate(variables):
        rows, floors = options[member][k]
        loads[rows, column] += floors
    pick_one = np.zeros((len(members), len(variables)))
    for column, (member, _) in enumerate(variables):
        pick_one[members.index(member), column] = 1.0
    objective = np.asarray([-1.0 if prefer_full and k == 0 else 0.0 for _, k in variables])
    outcome = milp(
        objective,
        constraints=[
            LinearConstraint(loads, -np.inf, capacity),
            LinearConstraint(pick_one, 1.0, 1.0),
        ],
        integrality=np.ones(len(variables)),
        bounds=Bounds(0.0, 1.0),
        options={"mip_rel_gap": 0.0},
    )
    if outcome.status != 0:
        return None
    chosen = np.flatnonzero(np.round(outcome.x) == 1.0)
    return {variables[c][0]: variables[c][1] for c in chosen.tolist()}
