"""From continuous amps to each EVSE's current step, never above a limit.

Rules of this file:
- Values are rounded down to the step, in integer milliamps, so that the row check is exact.
- If rounding noise still leaves a row over its capacity, the largest values on that row
  above their floor give one step each until it fits.
- Leftover capacity then goes back one step at a time to groups of sessions that had the
  same continuous value (so equal sessions stay equal), highest class and lowest value
  first; a group that does not fit blocks its rows for lower classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from optimizer.fairness import Floats, Ints

Milliamps = NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class Grid:
    """Integer view of the problem: entries, capacities, steps and bounds in mA."""

    entry_row: Ints
    entry_col: Ints
    entry_coef: Milliamps
    capacity_ma: Milliamps
    step_ma: Milliamps
    floor_ma: Milliamps
    cap_ma: Milliamps
    priority: NDArray[np.int64]

    def row_load(self, value_ma: Milliamps) -> Milliamps:
        load = np.zeros(self.capacity_ma.shape[0], dtype=np.int64)
        np.add.at(load, self.entry_row, self.entry_coef * value_ma[self.entry_col])
        return load


def quantize(grid: Grid, value_a: Floats) -> Milliamps:
    """Round down to the step, repair any overflow, then hand leftover back fairly."""
    steps = np.floor(value_a * 1000.0 / grid.step_ma + 1e-9).astype(np.int64)
    value_ma: Milliamps = np.clip(steps * grid.step_ma, grid.floor_ma, grid.cap_ma)
    _repair_overflow(grid, value_ma)
    _redistribute(grid, value_a, value_ma)
    return value_ma


def _repair_overflow(grid: Grid, value_ma: Milliamps) -> None:
    load = grid.row_load(value_ma)
    for row in np.flatnonzero(load > grid.capacity_ma):
        on_row = np.flatnonzero(grid.entry_row == row)
        excess = int(load[row] - grid.capacity_ma[row])
        by_value = sorted(on_row, key=lambda e: (-int(value_ma[grid.entry_col[e]]), int(e)))
        for entry in by_value:
            col, coef = int(grid.entry_col[entry]), int(grid.entry_coef[entry])
            step = int(grid.step_ma[col])
            spare_steps = (int(value_ma[col]) - int(grid.floor_ma[col])) // step
            steps = max(0, min(spare_steps, math.ceil(excess / (coef * step))))
            value_ma[col] -= steps * step
            excess -= steps * coef * step
            if excess <= 0:
                break
        load = grid.row_load(value_ma)


@dataclass(frozen=True, slots=True, eq=False)
class StepGroup:
    """Sessions that take a step together, with the load one step adds to each row."""

    members: Ints
    priority: int
    rows: Ints
    extra_ma: Milliamps


def _redistribute(grid: Grid, value_a: Floats, value_ma: Milliamps) -> None:
    groups = _equal_groups(grid, value_a, value_ma)
    load = grid.row_load(value_ma)
    for _ in range(64):
        if not _one_pass(grid, groups, value_ma, load):
            return


def _one_pass(grid: Grid, groups: list[StepGroup], value_ma: Milliamps, load: Milliamps) -> bool:
    """Offer every group one step, class by class; True if any group took one."""
    changed = False
    blocked = np.zeros(grid.capacity_ma.shape[0], dtype=bool)
    for level in sorted({group.priority for group in groups}, reverse=True):
        in_class = [g for g in groups if g.priority == level]
        failed = []
        for group in sorted(
            in_class, key=lambda g: (int(value_ma[g.members[0]]), int(g.members[0]))
        ):
            members = group.members
            if (value_ma[members] + grid.step_ma[members] > grid.cap_ma[members]).any():
                continue
            if _try_step(grid, group, value_ma, load, blocked):
                changed = True
            else:
                failed.append(group)
        # Rows a class could not grow on are closed to lower classes this pass.
        for group in failed:
            blocked[group.rows] = True
    return changed


def _try_step(
    grid: Grid, group: StepGroup, value_ma: Milliamps, load: Milliamps, blocked: NDArray[np.bool_]
) -> bool:
    rows = group.rows
    if blocked[rows].any() or (load[rows] + group.extra_ma > grid.capacity_ma[rows]).any():
        return False
    value_ma[group.members] += grid.step_ma[group.members]
    load[rows] += group.extra_ma
    return True


def _equal_groups(grid: Grid, value_a: Floats, value_ma: Milliamps) -> list[StepGroup]:
    """Sessions of one class with the same continuous value and step, below their cap."""
    eligible = np.flatnonzero(value_ma + grid.step_ma <= grid.cap_ma)
    if eligible.shape[0] == 0:
        return []
    priority = grid.priority[eligible]
    micro_a = np.round(value_a[eligible] * 1e6).astype(np.int64)
    step = grid.step_ma[eligible]
    order = np.lexsort((step, micro_a, priority))
    changes = (np.diff(priority[order]) != 0) | (np.diff(micro_a[order]) != 0)
    changes |= np.diff(step[order]) != 0
    parts = np.split(order, np.flatnonzero(changes) + 1)
    rows, extra_ma, bounds = _group_rows(grid, eligible[order], np.cumsum(np.r_[0, changes]))
    return [
        StepGroup(
            eligible[part],
            int(priority[part[0]]),
            rows[bounds[g] : bounds[g + 1]],
            extra_ma[bounds[g] : bounds[g + 1]],
        )
        for g, part in enumerate(parts)
    ]


def _group_rows(grid: Grid, members: Ints, group: Ints) -> tuple[Ints, Milliamps, Ints]:
    """For all groups at once: the rows each loads and the load one step adds there.

    ``members[k]`` belongs to group ``group[k]``. Returns rows and loads sorted by group
    then row, and where each group's run starts (one unique over (group, row) keys).
    """
    row_count = grid.capacity_ma.shape[0]
    group_of = np.full(grid.step_ma.shape[0], -1, dtype=np.intp)
    group_of[members] = group
    entry_group = group_of[grid.entry_col]
    keep = entry_group >= 0
    key = entry_group[keep] * row_count + grid.entry_row[keep]
    extra = grid.entry_coef[keep] * grid.step_ma[grid.entry_col[keep]]
    keys, inverse = np.unique(key, return_inverse=True)
    # Float sums of integers below 2**53 are exact, and bincount is much faster than add.at.
    sums = np.bincount(inverse.ravel(), extra.astype(np.float64), keys.shape[0])
    bounds = np.searchsorted(keys // row_count, np.arange(int(group[-1]) + 2))
    return keys % row_count, sums.astype(np.int64), bounds
