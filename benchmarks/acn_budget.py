"""Per-branch current budgets that keep every transformer row within its limit.

localctl's tree adds currents arithmetically per phase; the Caltech transformer limits
the magnitude of phasor sums of the three delta branches (60 degrees apart at each line),
which is a convex, non-linear set. The replay therefore gives localctl one box per
period: a budget per branch such that *every* point of the box [0, budget] is feasible.
A convex function's maximum over a box sits at one of its 8 vertices, so checking the
vertices is exact, even for the primary rows, which are not monotone in each branch.

Budgets are filled max-min fair across branches (progressive filling): all branches rise
together, a branch stops at its demand or when a row through it becomes tight. With the
rows' symmetry this balances the branches, which is what lets a delta network carry its
rated power (three equal branches at ``L / sqrt(3)`` each meet ``L`` on every line).

Plain floats and complex numbers, not numpy: three branches and six rows are too small
for array overhead, and this runs every period of every replay.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy.spatial import ConvexHull

from benchmarks.acn_network import AcnNetwork
from optimizer import PhaseMix

Triple = tuple[float, float, float]
# Every non-empty subset of the three branches: the vertices of a box anchored at 0.
SUBSETS = tuple(s for s in itertools.product((0.0, 1.0), repeat=3) if any(s))
BISECTION_STEPS = 36
# Budgets stay this far (relative) inside each limit: the margin absorbs float noise.
SAFETY = 1e-7
# Simplex grid resolution for ``inner_mixes``: 12 gives 91 directions and 126 facets. 6 gives
# 28 directions and 36 facets, LPs about a third the size and runs twice as fast, and
# delivered 0.01 to 0.05 point less at 10, 20 and 25 kW (the same at 30 kW).
MIX_STEPS = 12


class BoxCheck:
    """The transformer rows, prepared for fast vertex checks."""

    def __init__(self, network: AcnNetwork) -> None:
        self.rows = [
            (complex(c[0]), complex(c[1]), complex(c[2]), float(limit) * (1.0 - SAFETY))
            for c, limit in zip(network.branch_coef, network.limit_a, strict=True)
        ]
        self.hair_a = max(1e-6, max(limit for *_, limit in self.rows) * 1e-6)

    def fits(self, budget: Sequence[float]) -> bool:
        """True when every vertex of the box [0, budget] meets every row."""
        b0, b1, b2 = budget
        for c0, c1, c2, limit in self.rows:
            for s0, s1, s2 in SUBSETS:
                if abs(c0 * (s0 * b0) + c1 * (s1 * b1) + c2 * (s2 * b2)) > limit:
                    return False
        return True


def branch_budgets(
    check: BoxCheck, demand_a: Sequence[float], floor_a: Triple = (0.0, 0.0, 0.0)
) -> Triple:
    """Max-min fair budgets per branch from ``floor_a``, never above the demand (A)."""
    budget = list(floor_a)
    if not check.fits(budget):
        return floor_a
    growing = [demand_a[k] > budget[k] for k in range(3)]
    while any(growing):
        level = _highest_level(check, budget, growing, demand_a)
        for k in range(3):
            if growing[k]:
                budget[k] = max(budget[k], min(demand_a[k], level))
        tight = _tight(check, budget, growing)
        for k in range(3):
            growing[k] = growing[k] and budget[k] < demand_a[k] and not tight[k]
    return (budget[0], budget[1], budget[2])


def _at_level(
    budget: list[float], growing: list[bool], demand_a: Sequence[float], level: float
) -> list[float]:
    return [max(budget[k], min(demand_a[k], level)) if growing[k] else budget[k] for k in range(3)]


def _highest_level(
    check: BoxCheck, budget: list[float], growing: list[bool], demand_a: Sequence[float]
) -> float:
    """Bisection on the common level of the growing branches (the box only grows with it)."""
    low = min(budget[k] for k in range(3) if growing[k])
    high = max(demand_a[k] for k in range(3) if growing[k])
    if check.fits(_at_level(budget, growing, demand_a, high)):
        return high
    for _ in range(BISECTION_STEPS):
        middle = 0.5 * (low + high)
        if check.fits(_at_level(budget, growing, demand_a, middle)):
            low = middle
        else:
            high = middle
    return low


def _tight(check: BoxCheck, budget: list[float], growing: list[bool]) -> list[bool]:
    """Growing branches that cannot rise by a hair on their own: a row through them binds."""
    tight = [False, False, False]
    for k in range(3):
        if growing[k]:
            trial = list(budget)
            trial[k] += check.hair_a
            tight[k] = not check.fits(trial)
    if not any(tight):
        # Bisection noise: nothing is measurably tight, so stop everything growing.
        return list(growing)
    return tight


def inner_mixes(network: AcnNetwork, steps: int = MIX_STEPS) -> tuple[PhaseMix, ...]:
    """Linear limits on the branch totals whose polytope lies inside the phasor limits.

    Along directions spread over the positive octant (a grid on the simplex), the farthest
    feasible point is ``min(limit / |coef . d|)`` over the rows; the convex hull of those
    points and the origin lies inside the feasible set (it is convex). Each hull facet away
    from the origin becomes a ``PhaseMix``; negative weights are dropped, which only
    tightens a facet. localctl can then plan and fill with the branch split left free.
    """
    coef = np.asarray(network.branch_coef)
    limit = np.asarray(network.limit_a) * (1.0 - SAFETY)
    grid = [(i, j, steps - i - j) for i in range(steps + 1) for j in range(steps + 1 - i)]
    directions = np.asarray(grid, dtype=np.float64) / steps
    with np.errstate(divide="ignore"):  # a row a direction does not load: no bound
        reach = np.min(limit[None, :] / np.abs(directions @ coef.T), axis=1)
    points = np.vstack((np.zeros(3), directions * reach[:, None]))
    mixes = []
    for equation in ConvexHull(points).equations:
        normal, offset = equation[:3], -equation[3]
        weights = np.maximum(normal, 0.0)
        if offset <= 1e-9 or weights.max() <= 0:
            continue
        scale = float(weights.max())
        triple = (float(weights[0] / scale), float(weights[1] / scale), float(weights[2] / scale))
        mixes.append(PhaseMix(triple, float(offset / scale)))
    return tuple(sorted(set(mixes), key=lambda m: (m.weights, m.max_current_a)))
