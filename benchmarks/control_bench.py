"""Control benchmark: reaction latency at 50 and 500 EVSEs, and one simulated hour of a
20-EVSE site beside an equal-split baseline.

    .venv/bin/python -m benchmarks.control_bench            # full run, about 10 minutes
    .venv/bin/python -m benchmarks.control_bench --quick    # smoke run, about 3 minutes

Prints a table and writes benchmarks/results/control.json. Method and figures:
docs/control-benchmark.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.control_hour import WINDOW_S, run_equal_split, run_localctl
from benchmarks.control_latency import measure_latency
from benchmarks.control_site import machine

RESULTS_PATH = Path(__file__).parent / "results" / "control.json"
LATENCY_TARGET_MS = 500.0


@dataclass(frozen=True, slots=True)
class Plan:
    mode: str
    latency_sizes: tuple[int, ...]
    latency_steps: int
    hour_s: float
    speedup: float


FULL = Plan("full", (50, 500), 25, 3600.0, 20.0)
QUICK = Plan("quick", (50, 500), 5, 600.0, 20.0)


def _say(started: float, what: str) -> None:
    print(f"[{time.monotonic() - started:6.1f} s] {what}", file=sys.stderr, flush=True)


def render(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"machine: {m['nproc']} CPUs, {m['cpu_model']}, Python {m['python']}, "
        f"load at start {m['loadavg_at_start']}; mode {result['mode']}",
        "",
        "Reaction latency, meter reading with the step delivered -> last SetChargingProfile "
        "of the reaction written (target p99 <= 500 ms)",
        f"{'EVSEs':>6} {'stations':>8} {'samples':>7} {'frames':>6} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'max ms':>8} {'arrived p99':>11} {'target':>6}",
    ]
    for row in result["latency"]:
        met = "met" if row["p99_ms"] <= LATENCY_TARGET_MS else "MISSED"
        lines.append(
            f"{row['evses']:>6} {row['stations']:>8} {row['samples']:>7} "
            f"{row['frames_per_reaction_p50']:>6} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['max_ms']:>8.1f} {row['arrived_p99_ms']:>11.1f} {met:>6}"
        )
    hour = result["hour"]
    lines += [
        "",
        f"{hour[0]['simulated_s'] / 60:.0f} simulated minutes, 20 EVSEs on 3 x 63 A, base-load "
        f"steps; overload beyond the {WINDOW_S:g} s window (target 0 A·s)",
        f"{'controller':<12} {'beyond A·s':>10} {'total A·s':>9} {'s over':>6} {'longest s':>9} "
        f"{'peak +A':>7} {'sessions':>8} {'kWh':>7} {'Jain E':>6} {'Jain I':>6} {'speed-up':>8}",
    ]
    for row in hour:
        lines.append(
            f"{row['controller']:<12} {row['overload_beyond_window_as']:>10.1f} "
            f"{row['overload_total_as']:>9.1f} {row['seconds_over_fuse_s']:>6.0f} "
            f"{row['longest_overload_s']:>9.0f} {row['peak_excess_a']:>7.1f} "
            f"{row['sessions']:>8} {row['energy_kwh']:>7.2f} {row['jain_energy']:>6.3f} "
            f"{row['jain_average_current']:>6.3f} {row['speedup_achieved']:>8.1f}"
        )
    return "\n".join(lines)


async def run(plan: Plan) -> dict[str, Any]:
    started = time.monotonic()
    result: dict[str, Any] = {"machine": machine(), "mode": plan.mode, "latency": [], "hour": []}
    for size in plan.latency_sizes:
        _say(started, f"latency at {size} EVSEs, {plan.latency_steps} steps")
        measured = await measure_latency(size, plan.latency_steps)
        result["latency"].append(measured.summary())
        result.setdefault("latency_samples_ms", {})[str(size)] = [
            round(x, 1) for x in measured.samples_ms
        ]
    _say(started, f"equal-split baseline, {plan.hour_s:g} simulated s")
    result["hour"].append(run_equal_split(plan.hour_s, seed=1).summary())
    _say(started, f"localctl, {plan.hour_s:g} simulated s at speed-up {plan.speedup:g}")
    result["hour"].insert(0, (await run_localctl(plan.hour_s, plan.speedup, seed=1)).summary())
    result["hour_window_s"] = WINDOW_S
    result["hour_speedup"] = plan.speedup
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--out", type=Path, default=RESULTS_PATH)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    result = asyncio.run(run(QUICK if args.quick else FULL))
    print(render(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
