"""MPC's share per capacity, reconstructed from what the published notebook states exactly.

The notebook (acnportal-experiments, example 2.1, three-phase Caltech network, same
sessions) prints MPC's value at 10 kW only; per capacity it shows a figure. Its summary
table, though, gives six exact statistics of MPC's 27 runs (capacities 10 to 125 kW in
steps of 5, plus 130, 140 and 150). Sorted, the runs rise with capacity, so pandas'
quantiles name single runs or pairs:

- minimum: 10 kW; 25 % quantile (position 6.5): the mean of 40 and 45 kW;
- median (position 13): 75 kW, so 50 to 70 kW are at most that and 80 to 150 kW at least;
- 75 % quantile (position 19.5): the mean of 110 and 115 kW; maximum: one of 120 to 150 kW;
- the mean fixes the sum of all 27.

What stays unknown is the split of the remaining sum among 15 to 35 kW (and 50 to 70 kW).
The figure gives the shape: its curve, read at each capacity (segment fits on the PNG,
vertex = intersection of the neighbouring segments), lies above the exact values by a
near-constant offset (read at 10 kW: +0.52 point for MPC, +0.43 for round robin, +0.39
for FCFS, whose exact values are printed). One offset, fixed by the exact sum, gives
15 to 40 kW; 45 kW follows from the 25 % quantile. 50 to 70 kW are taken at their upper
bound, the median; a lower 50 kW value would raise 15 to 35 kW by a fifth of the
difference each. Uncertainty: about +/-0.1 point for 15 to 45 kW (spread of the read-off
biases above); from the table alone 50 kW is known only to be at most 99.944 % (the figure
cannot tell 99.84 from 99.94 %: 0.25 point per pixel).

Where MPC was run here (``benchmarks.acn_adacharge``, ``results/acn_mpc_measured.json``),
the measured value replaces the estimate and enters the sum the offset is fixed by.

``python -m benchmarks.acn_mpc [RESULT.json [MEASURED.json]]`` prints the reconstruction
and, given a sweep's result file, localctl's margin at each capacity.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# MPC (three-phase) in the notebook's summary table, in % (27 runs).
MEAN_PCT = 95.060465
MIN_PCT = 51.399712  # 10 kW
Q25_PCT = 98.821403
MEDIAN_PCT = 99.944282
Q75_PCT = 99.945693
MAX_PCT = 99.948161
RUNS = 27
# MPC's curve as read off the published figure (before the offset), in %.
FIGURE_READ_PCT = {15: 67.405, 20: 77.675, 25: 85.875, 30: 92.395, 35: 96.56, 40: 98.61}
FIGURED_KW = (15, 20, 25, 30, 35)  # the offset is fixed over these
UNCERTAINTY_PCT = 0.1
# MPC run here (ECOS instead of MOSEK) against the exactly published runs: 10 kW +0.0016
# point, 75 kW (the median) -0.0087 point. See docs/acn-replay.md, "MPC measured".
MEASURED_TOLERANCE_PCT = 0.01
MEASURED_PATH = Path(__file__).resolve().parent / "results/acn_mpc_measured.json"
ABOVE_MEDIAN_KW = (80, 85, 90, 95, 100, 105, 110, 115, 120, 125, 130, 140, 150)
AT_MOST_MEDIAN_KW = (50, 55, 60, 65, 70)


@dataclass(frozen=True, slots=True)
class Estimate:
    capacity_kw: int
    share_pct: float
    exact: bool
    upper_bound: bool
    measured: bool = False


Measured = Mapping[int, float]


def above_median_sum_pct() -> float:
    """80 to 150 kW: 5 runs between median and q75, the q75 pair, 5 between q75 and the
    maximum, the maximum; the midpoint of the range that leaves (spread 0.02 point)."""
    low = 5 * MEDIAN_PCT + 2 * Q75_PCT + 5 * Q75_PCT + MAX_PCT
    high = 5 * Q75_PCT + 2 * Q75_PCT + 6 * MAX_PCT
    return (low + high) / 2.0


def reconstruct(measured: Measured | None = None) -> list[Estimate]:
    """Per capacity: the exact value, the bound, the offset figure reading, or, where MPC
    was run here (``benchmarks.acn_adacharge``), the measured value, which also enters the
    sum the offset is fixed by."""
    known = dict(measured or {})
    total = RUNS * MEAN_PCT
    pair_40_45 = 2.0 * Q25_PCT
    fixed = MIN_PCT + pair_40_45 + MEDIAN_PCT + above_median_sum_pct()
    fixed += sum(known.get(c, MEDIAN_PCT) for c in AT_MOST_MEDIAN_KW)
    read_kw = [c for c in FIGURED_KW if c not in known]
    fixed += sum(known[c] for c in FIGURED_KW if c in known)
    if read_kw:
        offset = (total - fixed - sum(FIGURE_READ_PCT[c] for c in read_kw)) / len(read_kw)
    else:
        offset = sum(known[c] - FIGURE_READ_PCT[c] for c in FIGURED_KW) / len(FIGURED_KW)
    at_40 = known.get(40, FIGURE_READ_PCT[40] + offset)
    estimates = [Estimate(10, MIN_PCT, exact=True, upper_bound=False)]
    estimates += [Estimate(c, FIGURE_READ_PCT[c] + offset, False, False) for c in FIGURED_KW]
    estimates += [Estimate(40, at_40, False, False), Estimate(45, pair_40_45 - at_40, False, False)]
    estimates += [Estimate(c, MEDIAN_PCT, False, upper_bound=True) for c in AT_MOST_MEDIAN_KW]
    estimates.append(Estimate(75, MEDIAN_PCT, exact=True, upper_bound=False))
    estimates += [Estimate(c, MAX_PCT, False, upper_bound=True) for c in ABOVE_MEDIAN_KW]
    return [_measured_or(e, known) for e in estimates]


def _measured_or(estimate: Estimate, known: Measured) -> Estimate:
    """A capacity run here is taken as measured unless the table states it exactly."""
    value = known.get(estimate.capacity_kw)
    if value is None or estimate.exact:
        return estimate
    return Estimate(estimate.capacity_kw, value, False, False, measured=True)


def offset_pct(measured: Measured | None = None) -> float:
    """How far the figure reads above the reconstruction (negative: figure too high)."""
    first = next(e for e in reconstruct(measured) if not e.measured and e.capacity_kw in FIGURED_KW)
    return first.share_pct - FIGURE_READ_PCT[first.capacity_kw]


def compare(shares_pct: Mapping[float, float], measured: Measured | None = None) -> list[str]:
    """localctl against MPC at each capacity, with a verdict beyond the uncertainty."""
    lines = ["capacity kW | MPC | localctl | margin | verdict"]
    for estimate in reconstruct(measured):
        mine = shares_pct.get(float(estimate.capacity_kw))
        if mine is None:
            continue
        margin = mine - estimate.share_pct
        lines.append(
            f"{estimate.capacity_kw:>11} | {_mark(estimate):>8} {estimate.share_pct:7.3f} % | "
            f"{mine:7.3f} % | {margin:+6.3f} | {_verdict(estimate, margin)}"
        )
    return lines


def _mark(estimate: Estimate) -> str:
    if estimate.measured:
        return "measured"
    return "<=" if estimate.upper_bound else ("=" if estimate.exact else "~")


def _verdict(estimate: Estimate, margin: float) -> str:
    if estimate.exact or estimate.upper_bound:
        if margin > 0.0:
            return "above"
        return "below" if estimate.exact else "below the bound: undecided"
    tolerance = MEASURED_TOLERANCE_PCT if estimate.measured else UNCERTAINTY_PCT
    if margin > tolerance:
        return "above"
    return "below" if margin < -tolerance else "within the uncertainty"


def load_measured(path: Path) -> dict[int, float]:
    """MPC's share per capacity from ``benchmarks.acn_adacharge --out`` (whole-month runs)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    return {
        int(row["capacity_kw"]): 100.0 * row["delivered_share"]
        for row in rows
        if row["arrivals"] is None
    }


def main(argv: Sequence[str]) -> int:
    measured = load_measured(Path(argv[1]) if len(argv) > 1 else MEASURED_PATH)
    print(f"figure offset {offset_pct(measured):+.3f} point (one offset, fixed by the exact mean)")
    if not argv:
        for estimate in reconstruct(measured):
            print(f"{estimate.capacity_kw:>4} kW {_mark(estimate):>2} {estimate.share_pct:8.3f} %")
        return 0
    result = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    shares = {
        row["capacity_kw"]: 100.0 * row["share"]
        for row in result["rows"]
        if row["algorithm"] == "localctl"
    }
    print("\n".join(compare(shares, measured)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
