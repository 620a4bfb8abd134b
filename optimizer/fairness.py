"""Priority classes filled one after another, each max-min fair, by a pluggable method.

Rules of this file:
- Every admitted session first holds its floor (its minimum), whatever its class: admission
  comes before priority in the objective order.
- Classes are served from the highest priority down. A class is filled max-min fair (by
  ``weight``) in the capacity the higher classes left; lower classes sit at their floors.
- A ``Fill`` method (water-filling or LP) returns each member's value and the row that
  stopped it (``OWN_CAP`` when it reached its own cap).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]

OWN_CAP = -1
PRIORITY_HELD = -2
TOLERANCE_A = 1e-7


@dataclass(frozen=True, slots=True, eq=False)
class Problem:
    """The continuous problem: rows x sessions, as coordinate entries (A, phase-amps)."""

    entry_row: Ints
    entry_col: Ints
    entry_coef: Floats
    capacity_a: Floats
    lower_a: Floats
    upper_a: Floats
    weight: Floats
    priority: NDArray[np.int64]

    @property
    def row_count(self) -> int:
        return int(self.capacity_a.shape[0])

    @property
    def session_count(self) -> int:
        return int(self.lower_a.shape[0])

    def row_load(self, value_a: Floats) -> Floats:
        contribution = self.entry_coef * value_a[self.entry_col]
        load = np.bincount(self.entry_row, contribution, minlength=self.row_count)
        return np.asarray(load, dtype=np.float64)


Fill = Callable[[Problem, Floats, Ints], tuple[Floats, Ints]]


def solve_by_class(problem: Problem, fill: Fill) -> tuple[Floats, Ints]:
    """Values for every session and the row (or reason) that bound each."""
    value = problem.lower_a.copy()
    binding = np.full(problem.session_count, OWN_CAP, dtype=np.intp)
    classes = np.unique(problem.priority)[::-1]
    for rank, level in enumerate(classes):
        members = np.flatnonzero(problem.priority == level)
        others = value.copy()
        others[members] = 0.0
        room = problem.capacity_a - problem.row_load(others)
        member_value, member_binding = fill(problem, room, members)
        value[members] = member_value
        binding[members] = member_binding
        if rank > 0:
            _mark_priority_held(problem, value, binding, members, room)
    return value, binding


def _mark_priority_held(
    problem: Problem, value: Floats, binding: Ints, members: Ints, room: Floats
) -> None:
    """A member stopped by a row that higher classes had already filled is held by priority."""
    floors = problem.lower_a[members]
    floor_load = np.zeros(problem.session_count)
    floor_load[members] = floors
    full_before = room - problem.row_load(floor_load) <= TOLERANCE_A
    higher = problem.priority > problem.priority[members[0]]
    above_floor = higher & (value > problem.lower_a + TOLERANCE_A)
    entry_above = above_floor[problem.entry_col]
    row_has_higher = np.bincount(
        problem.entry_row, entry_above.astype(np.float64), minlength=problem.row_count
    )
    rows = binding[members]
    bound_by_row = rows >= 0
    held = np.zeros(members.shape[0], dtype=bool)
    held[bound_by_row] = full_before[rows[bound_by_row]] & (row_has_higher[rows[bound_by_row]] > 0)
    binding[members[held]] = PRIORITY_HELD
