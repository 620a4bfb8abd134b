"""ACN replay: 954 real Caltech sessions (March 2019) under localctl, transformer swept.

Run: python -m benchmarks.acn_replay [--quick] [--baselines] [--simulator] [--data PATH]
     [--rules acnportal|feasible] [--capacities KW ...]

Needs ``acnportal==0.3.3`` (network model, baselines, simulator; a benchmark-only
dependency). Method, mapping and discussion: docs/acn-replay.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from benchmarks.acn_report import Row, published_rows, render, summary
from benchmarks.acn_rules import RULES, Rules, apply_rules_to_events
from benchmarks.acn_verify import replay_localctl, run_in_simulator

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared/data/acn/caltech_2019-03_5m_208V_6.6kW.json.gz"
OUTPUT = {
    "acnportal": REPO / "benchmarks/results/acn.json",
    "feasible": REPO / "benchmarks/results/acn_feasible.json",
}
# The published notebook's list: range(10, 126, 5), 24 capacities (kW).
SWEEP_KW = tuple(float(c) for c in range(10, 126, 5))
# Its published means pooled 27 runs: these three older capacities were in its results too.
EXTRA_KW = (130.0, 140.0, 150.0)
QUICK_KW = (10.0, 30.0)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    capacities = args.capacities or (QUICK_KW if args.quick else SWEEP_KW + EXTRA_KW)
    rows = _sweep(args.data, capacities, args.workers, args.baselines, args.rules)
    checks = [_simulator_check(args.data, c, args.rules) for c in args.simulator]
    result = summary(rows, SWEEP_KW, EXTRA_KW, args.rules)
    result["simulator_checks"] = checks
    result["runtime_s"] = round(time.perf_counter() - started, 1)
    result["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print(render(result, published_rows()))
    partial = args.quick or args.capacities
    output = args.output or (None if partial else OUTPUT[args.rules])
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {output}")
    return 1 if any(row.infeasible_periods for row in rows) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.acn_replay")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--quick", action="store_true", help=f"only {QUICK_KW} kW")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--rules",
        choices=RULES,
        default="acnportal",
        help="acnportal: as released (0.2.1 and 0.3.3 alike); feasible: every request "
        "capped at 6.6 kW x stay, as the published MPC runs (see benchmarks/acn_rules.py)",
    )
    parser.add_argument(
        "--capacities", type=float, nargs="+", default=None, metavar="KW", help="only these"
    )
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="also run acnportal's FCFS, RR, EDF, LLF (slow: minutes per run)",
    )
    parser.add_argument(
        "--simulator",
        type=float,
        nargs="*",
        default=[],
        metavar="KW",
        help="replay localctl inside acnportal's own simulator at these capacities too",
    )
    return parser


def _sweep(
    data: Path, capacities: Sequence[float], workers: int, baselines: bool, rules: Rules
) -> list[Row]:
    jobs = [(data, "localctl", c, rules) for c in capacities]
    if baselines:
        names = ("FCFS", "RR", "EDF", "LLF")
        jobs += [(data, name, c, rules) for name in names for c in capacities]
    with get_context("spawn").Pool(max(1, workers)) as pool:
        rows = pool.starmap(_run_job, jobs)
    return sorted(rows, key=lambda r: (r.algorithm, r.capacity_kw))


def _run_job(data: Path, algorithm: str, capacity_kw: float, rules: Rules) -> Row:
    if algorithm == "localctl":
        return replay_localctl(data, capacity_kw, rules)
    from benchmarks.acn_sim import PERIOD_MIN, load_events, run_one

    events = apply_rules_to_events(load_events(data), rules, PERIOD_MIN)
    result = run_one(events, algorithm, capacity_kw)
    return Row(
        algorithm=algorithm,
        capacity_kw=capacity_kw,
        share=result.delivered_share,
        infeasible_periods=result.infeasible_periods,
        max_excess_a=result.max_excess_a,
        seconds=result.seconds,
    )


def _simulator_check(data: Path, capacity_kw: float, rules: Rules) -> dict[str, Any]:
    """Our controller inside acnportal's simulator: the same share as the lean loop?"""
    lean = replay_localctl(data, capacity_kw, rules)
    sim = run_in_simulator(data, capacity_kw, rules)
    return {
        "capacity_kw": capacity_kw,
        "lean_loop_share": lean.share,
        "simulator_share": sim.delivered_share,
        "simulator_infeasible_periods": sim.infeasible_periods,
        "simulator_max_excess_a": sim.max_excess_a,
        "simulator_warnings": sim.warned_periods,
    }


if __name__ == "__main__":
    raise SystemExit(main())
