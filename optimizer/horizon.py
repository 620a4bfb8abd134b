"""Energy by departure: a receding-horizon plan that turns into sharing weights.

Rules of this file:
- One LP (HiGHS) over the plugged-in sessions' remaining stays: a current per session and
  time block, every row of the tree within its capacity in every block (today's
  capacities, held for the whole horizon), each session's energy within what it still
  needs and its current within its cap. It maximises the energy delivered by departure,
  earlier energy worth up to ``1 + EARLY_BONUS`` times later energy: vehicles that come
  later compete for what is left, so energy deferred is energy at risk.
- Time blocks double in length after the first hour of periods (12 x 1, then 2, 2, 4, 4, ...
  periods): the first period is what is applied; the far future only needs to be roughly
  right, and this keeps the LP at a few hundred variables for a day-long horizon.
- The plan is not applied as such. Its first-period currents become each session's weight
  in the max-min fair filling, so everything else holds as before: rows exact, admission
  and classes first, nothing idle while a session is below its cap. At fill level 1 every
  session sits at its plan (the plan is feasible), above it the rest is shared in
  proportion to the plan.
- Sessions alike in everything the LP sees (column, bounds, stay, energy) get the mean of
  their plans: the constraints are symmetric in them, so the mean is feasible too, and
  identical sessions get the same weight.
- Sessions without departure or energy count as staying the whole horizon and taking
  their cap throughout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_array

from optimizer.demand import SessionPlan
from optimizer.errors import SolverError
from optimizer.fairness import Floats, Ints, Problem
from optimizer.model import Options

# Full month under the feasible rules (35 kW / 20 kW): 1 gave 96.33 / 77.70 %, 3 gave 96.28 %
# at 35 kW, 0.1 gave 96.52 / 77.61 %, 0.3 gives 96.50 / 77.72 %. Enough to hedge against the
# vehicles still to come, not so much that it trades away energy the plan can deliver.
EARLY_BONUS = 0.3
MIN_WEIGHT_A = 0.001  # keeps every weight positive (a level still raises everyone)
# The first hour of 5-minute periods is planned period by period (4 cost 0.05 point at
# 30 kW in the ACN replay); the far future in doubling blocks.
FIRST_SINGLE_PERIODS = 12


@dataclass(frozen=True, slots=True, eq=False)
class Stays:
    """Per problem column: periods left before departure, energy needed (Wh), Wh per A per
    period (voltage x phases x period), and a key naming what the LP sees of it."""

    periods_left: Ints
    energy_wh: Floats
    wh_per_a: Floats
    alike: Sequence[tuple[object, ...]]


def blocks(periods: int) -> Ints:
    """Block lengths in periods, covering ``periods``: 12 x 1, then 2, 2, 4, 4, 8, ..."""
    lengths: list[int] = []
    size = 1
    while sum(lengths) < periods:
        lengths.append(size)
        if len(lengths) >= FIRST_SINGLE_PERIODS and len(lengths) % 2 == 0:
            size *= 2
    return np.asarray(lengths, dtype=np.intp)


def horizon_weights(problem: Problem, stays: Stays) -> Floats:
    """Per column, its planned first-period current (A), floored at MIN_WEIGHT_A."""
    count = problem.session_count
    if count == 0:
        return np.zeros(0)
    lengths = blocks(int(stays.periods_left.max()))
    start = np.cumsum(lengths) - lengths
    # Share of each block a session is still plugged in for (0 once it has left).
    present = np.clip((stays.periods_left[:, None] - start[None, :]) / lengths[None, :], 0, 1)
    plan = _solve(problem, stays, lengths, start, present)
    weight: Floats = np.maximum(_mean_over_alike(plan, stays.alike), MIN_WEIGHT_A)
    return weight


def _solve(problem: Problem, stays: Stays, lengths: Ints, start: Ints, present: Floats) -> Floats:
    """The LP; variables column-major by block (block b of column i at b * count + i)."""
    count, block_count = problem.session_count, lengths.shape[0]
    horizon = float(lengths.sum())
    middle = (start + lengths / 2.0) / horizon
    energy_per_a = stays.wh_per_a[:, None] * lengths[None, :] * present
    value = energy_per_a * (1.0 + EARLY_BONUS * (1.0 - middle))[None, :]
    upper = np.where(present > 0, problem.upper_a[:, None], 0.0)
    rows = _block_rows(problem, count, block_count)
    energy = coo_array(
        (
            energy_per_a.T.ravel(),
            (np.tile(np.arange(count), block_count), _variables(count, block_count)),
        ),
        shape=(count, count * block_count),
    )
    outcome = linprog(
        -value.T.ravel(),
        A_ub=_stack(rows, energy),
        b_ub=np.concatenate((np.tile(problem.capacity_a, block_count), stays.energy_wh)),
        bounds=np.column_stack((np.zeros(count * block_count), upper.T.ravel())),
        method="highs",
    )
    if outcome.status != 0:
        raise SolverError(f"horizon LP failed: {outcome.message}")
    first: Floats = np.asarray(outcome.x[:count], dtype=np.float64)
    return first


def _variables(count: int, block_count: int) -> Ints:
    return np.arange(count * block_count, dtype=np.intp)


def _block_rows(problem: Problem, count: int, block_count: int) -> coo_array:
    """Every tree row once per block, on that block's variables. A session leaving within a
    block counts at its full current for the whole block: counting only its average load
    there (a more optimistic future) delivered less in the replay, 91.94 % against 92.15 %
    at 30 kW, as did planning with 70 % of today's capacity later on (90.85 %)."""
    entries = problem.entry_row.shape[0]
    block = np.repeat(np.arange(block_count, dtype=np.intp), entries)
    return coo_array(
        (
            np.tile(problem.entry_coef, block_count),
            (
                np.tile(problem.entry_row, block_count) + block * problem.row_count,
                np.tile(problem.entry_col, block_count) + block * count,
            ),
        ),
        shape=(problem.row_count * block_count, count * block_count),
    )


def _stack(top: coo_array, bottom: coo_array) -> coo_array:
    return coo_array(
        (
            np.concatenate((top.data, bottom.data)),
            (
                np.concatenate((top.row, bottom.row + top.shape[0])),
                np.concatenate((top.col, bottom.col)),
            ),
        ),
        shape=(top.shape[0] + bottom.shape[0], top.shape[1]),
    )


def _mean_over_alike(plan: Floats, alike: Sequence[tuple[object, ...]]) -> Floats:
    groups: dict[tuple[object, ...], list[int]] = {}
    for column, key in enumerate(alike):
        groups.setdefault(key, []).append(column)
    mean = plan.copy()
    for members in groups.values():
        if len(members) > 1:
            mean[members] = float(np.mean(plan[members]))
    return mean


def periods_left(departure_s: float | None, now_s: float, period_s: float, horizon_s: float) -> int:
    """Whole or part periods before departure, at least 1, at most the horizon."""
    cap = max(1, math.ceil(horizon_s / period_s))
    if departure_s is None:
        return cap
    return int(min(cap, max(1, math.ceil((departure_s - now_s) / period_s - 1e-9))))


def stays_of(
    plans: Sequence[SessionPlan],
    grid_phases: Sequence[tuple[int, ...]],
    voltages_v: Sequence[float],
    now_s: float,
    options: Options,
) -> Stays:
    """The LP's view of each admitted session (one per problem column, in column order).

    Energy counts a session of unknown phases as one phase, as the one-period energy cap
    does: the larger current, never too small.
    """
    left = [
        periods_left(p.session.departure_s, now_s, options.period_s, options.horizon_s)
        for p in plans
    ]
    wh_per_a = [
        v * (p.session.phases_in_use or 1) * options.period_s / 3600.0
        for p, v in zip(plans, voltages_v, strict=True)
    ]
    energy = [
        p.session.energy_needed_wh
        if p.session.energy_needed_wh is not None
        else p.cap_ma / 1000.0 * k * n
        for p, k, n in zip(plans, wh_per_a, left, strict=True)
    ]
    alike = [
        (p.evse.node_id, g, p.floor_ma, p.cap_ma, p.session.priority, n, e, k)
        for p, g, n, e, k in zip(plans, grid_phases, left, energy, wh_per_a, strict=True)
    ]
    return Stays(
        periods_left=np.asarray(left, dtype=np.intp),
        energy_wh=np.asarray(energy, dtype=np.float64),
        wh_per_a=np.asarray(wh_per_a, dtype=np.float64),
        alike=alike,
    )
