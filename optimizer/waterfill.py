"""The fast path: progressive filling (water-filling) of one priority class, vectorised.

Every member's value follows one rising level t: ``clip(weight * t, lower, upper)``. Each
row's load is then a piecewise-linear, non-decreasing function of t, so the level at which
each row fills can be computed exactly from the sorted breakpoints. The row that fills first
freezes its members at that level (the classic max-min fair argument); so does every other
row whose members were not touched by a row that filled earlier in the same round, because
their level was computed with exactly the loads that still hold. Rows sharing members with
an earlier row wait for the next round. A round costs one sort of the breakpoints; a tree
usually needs about as many rounds as it has levels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from optimizer.fairness import OWN_CAP, TOLERANCE_A, Floats, Ints, Problem


@dataclass(frozen=True, slots=True, eq=False)
class Members:
    """The members' bounds and weights (indexed by member position)."""

    lower: Floats
    upper: Floats
    weight: Floats

    def at_level(self, group: Ints, level: Floats | float) -> Floats:
        value: Floats = np.clip(self.weight[group] * level, self.lower[group], self.upper[group])
        return value


def fill_waterfill(problem: Problem, room: Floats, members: Ints) -> tuple[Floats, Ints]:
    """Max-min fair values for ``members`` within ``room`` (capacity left per row)."""
    local = np.full(problem.session_count, -1, dtype=np.intp)
    local[members] = np.arange(members.shape[0])
    in_class = local[problem.entry_col] >= 0
    rows = problem.entry_row[in_class]
    cols = local[problem.entry_col[in_class]]
    coefs = problem.entry_coef[in_class]
    bounds = Members(problem.lower_a[members], problem.upper_a[members], problem.weight[members])
    events = Events.sorted(rows, cols, coefs, bounds)
    upper = bounds.upper
    value = bounds.lower.copy()
    binding = np.full(members.shape[0], OWN_CAP, dtype=np.intp)
    frozen = np.zeros(members.shape[0], dtype=bool)
    room = room.copy()
    while not frozen.all():
        active = ~frozen[cols]
        if not active.any():
            # Members on no limited row at all: only their own caps stop them.
            value[~frozen] = upper[~frozen]
            break
        rows_now, cols_now = rows[active], cols[active]
        lowest_load = coefs[active] * bounds.lower[cols_now]
        base = np.asarray(np.bincount(rows_now, lowest_load, room.shape[0]), dtype=np.float64)
        levels = _fill_levels(events.of(active), base, room)
        finite = np.flatnonzero(np.isfinite(levels))
        if finite.shape[0] == 0:
            value[~frozen] = upper[~frozen]
            break
        freeze_rows, freeze_cols = _first_filled(levels, rows_now, cols_now, frozen.shape[0])
        value[freeze_cols] = bounds.at_level(freeze_cols, levels[freeze_rows])
        at_cap = value[freeze_cols] >= upper[freeze_cols] - TOLERANCE_A
        binding[freeze_cols] = np.where(at_cap, OWN_CAP, freeze_rows)
        frozen[freeze_cols] = True
        frozen_mask = frozen[cols] & active
        room -= np.bincount(
            rows[frozen_mask], coefs[frozen_mask] * value[cols[frozen_mask]], room.shape[0]
        )
    return value, binding


@dataclass(frozen=True, slots=True, eq=False)
class Events:
    """Every entry's two breakpoints (its member starts rising, stops at its cap), sorted by
    row then level once per class: a round keeps the active ones, which stay in order, so
    it needs no sort of its own and gets the very order a fresh stable sort would give."""

    entry: Ints
    row: Ints
    level: Floats
    slope: Floats

    @staticmethod
    def sorted(rows: Ints, cols: Ints, coefs: Floats, bounds: Members) -> Events:
        lower, upper, weight = bounds.lower, bounds.upper, bounds.weight
        slope = coefs * weight[cols]
        entry = np.arange(rows.shape[0], dtype=np.intp)
        event_row = np.concatenate((rows, rows))
        event_level = np.concatenate((lower[cols] / weight[cols], upper[cols] / weight[cols]))
        order = np.lexsort((event_level, event_row))
        return Events(
            entry=np.concatenate((entry, entry))[order],
            row=event_row[order],
            level=event_level[order],
            slope=np.concatenate((slope, -slope))[order],
        )

    def of(self, active: NDArray[np.bool_]) -> Events:
        keep = active[self.entry]
        return Events(self.entry[keep], self.row[keep], self.level[keep], self.slope[keep])


def _first_filled(levels: Floats, rows: Ints, cols: Ints, member_count: int) -> tuple[Ints, Ints]:
    """Members whose first-filling row is settled this round, with that row.

    A row is settled when, for each of its members, it is the lowest-level row holding that
    member (ties go to the lower row index): no other row can freeze one of them earlier,
    so the level computed for it is exact. The lowest row overall is always settled.
    """
    entry_level = levels[rows]
    lowest = np.full(member_count, np.inf)
    np.minimum.at(lowest, cols, entry_level)
    at_lowest = entry_level == lowest[cols]
    first_row = np.full(member_count, np.iinfo(np.intp).max, dtype=np.intp)
    np.minimum.at(first_row, cols[at_lowest], rows[at_lowest])
    owns = at_lowest & (first_row[cols] == rows) & np.isfinite(entry_level)
    disowned = np.bincount(rows[~owns], minlength=levels.shape[0]) > 0
    settled = ~disowned[rows] & owns
    return rows[settled], cols[settled]


def _fill_levels(events: Events, base: Floats, room: Floats) -> Floats:
    """Per row, the level t at which its load reaches its room (inf if it never does).

    ``base`` is each row's load with every active member at its lower bound.
    """
    row_count = room.shape[0]
    levels = np.full(row_count, np.inf)
    present = np.bincount(events.row, minlength=row_count) > 0
    event_row, event_level, event_slope = events.row, events.level, events.slope
    starts_mask = np.ones(event_row.shape[0], dtype=bool)
    starts_mask[1:] = event_row[1:] != event_row[:-1]
    segment = np.cumsum(starts_mask) - 1
    slope_after = _segmented_cumsum(event_slope, starts_mask, segment)
    width = np.zeros(event_row.shape[0])
    width[:-1] = event_level[1:] - event_level[:-1]
    width[np.flatnonzero(starts_mask)[1:] - 1] = 0.0
    width[-1] = 0.0
    gain = slope_after * width
    load_end = base[event_row] + _segmented_cumsum(gain, starts_mask, segment)
    need = room[event_row]
    hits = np.flatnonzero((load_end >= need - TOLERANCE_A * 1e-3) & (slope_after > 1e-12))
    hit_rows, first = np.unique(event_row[hits], return_index=True)
    k = hits[first]
    load_start = load_end[k] - gain[k]
    levels[hit_rows] = event_level[k] + np.maximum(need[k] - load_start, 0.0) / slope_after[k]
    already_full = present & (base >= room - TOLERANCE_A * 1e-3)
    levels[already_full] = 0.0
    return levels


def _segmented_cumsum(values: Floats, starts_mask: NDArray[np.bool_], segment: Ints) -> Floats:
    """Running sum that restarts at every segment start."""
    total = np.cumsum(values)
    start_index = np.flatnonzero(starts_mask)
    offset = total[start_index] - values[start_index]
    result: Floats = total - offset[segment]
    return result
