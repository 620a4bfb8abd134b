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


def _redistribute(grid: Grid, value_a: Floats, value_ma: Milliamps) -> None:
    groups = _equal_groups(grid, value_a, value_ma)
    load = grid.row_load(value_ma)
    for _ in range(64):
        if not _one_pass(grid, groups, value_ma, load):
            return


def _one_pass(grid: Grid, groups: list[Ints], value_ma: Milliamps, load: Milliamps) -> bool:
    """Offer every group one step, class by class; True if any group took one."""
    changed = False
    blocked = np.zeros(grid.capacity_ma.shape[0], dtype=bool)
    for level in np.unique(grid.priority)[::-1]:
        failed = np.zeros(value_ma.shape[0], dtype=bool)
        in_class = [g for g in groups if grid.priority[g[0]] == level]
        for members in sorted(in_class, key=lambda g: (int(value_ma[g[0]]), int(g[0]))):
            if (value_ma[members] + grid.step_ma[members] > grid.cap_ma[members]).any():
                continue
            if _try_step(grid, members, value_ma, load, blocked):
                changed = True
            else:
                failed[members] = True
        # Rows a class could not grow on are closed to lower classes this pass.
        blocked |= (
            np.bincount(grid.entry_row[failed[grid.entry_col]], minlength=blocked.shape[0]) > 0
        )
    return changed


def _try_step(
    grid: Grid, members: Ints, value_ma: Milliamps, load: Milliamps, blocked: NDArray[np.bool_]
) -> bool:
    member_mask = np.zeros(value_ma.shape[0], dtype=bool)
    member_mask[members] = True
    entries = member_mask[grid.entry_col]
    rows = grid.entry_row[entries]
    if blocked[rows].any():
        return False
    extra = grid.entry_coef[entries] * grid.step_ma[grid.entry_col[entries]]
    added = np.zeros_like(load)
    np.add.at(added, rows, extra)
    if (load + added > grid.capacity_ma).any():
        return False
    value_ma[members] += grid.step_ma[members]
    load += added
    return True


def _equal_groups(grid: Grid, value_a: Floats, value_ma: Milliamps) -> list[Ints]:
    """Sessions of one class with the same continuous value and step, below their cap."""
    eligible = np.flatnonzero(value_ma + grid.step_ma <= grid.cap_ma)
    if eligible.shape[0] == 0:
        return []
    keys = np.stack(
        (
            grid.priority[eligible],
            np.round(value_a[eligible] * 1e6).astype(np.int64),
            grid.step_ma[eligible],
        ),
        axis=1,
    )
    _, group_of = np.unique(keys, axis=0, return_inverse=True)
    group_of = group_of.ravel()
    order = np.argsort(group_of, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of[order])) + 1
    return [eligible[part] for part in np.split(order, bounds)]


def _group_order(grid: Grid, value_ma: Milliamps, members: Ints) -> tuple[int, int, int]:
    return (-int(grid.priority[members[0]]), int(value_ma[members[0]]), int(members[0]))
