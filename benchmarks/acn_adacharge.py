"""The published MPC, run here: adacharge's MPC on the sessions, network and rules localctl gets.

The notebook behind the published comparison (acnportal-experiments, example 2.1) runs
"MPC_CM": adacharge's ``AdaptiveSchedulingAlgorithm`` with total energy (weight 1000), the
SCE TOU EV-4 tariff's energy cost, a demand charge scaled by the days left in the month, a
quick-charge term (1e-4) and an equal-share term (1e-12), solved by MOSEK. This module
builds the same algorithm (same objective components, weights and defaults: second-order
cone constraints, recomputed at every arrival and departure) and runs it in acnportal's
simulator with an open conic solver (ECOS by default), so MPC's value at each capacity is
measured instead of reconstructed from the published statistics.

Requirement (not installed by ``make bench``, adacharge is not on PyPI):
``pip install -e '.[bench,mpc]'`` (cvxpy, ECOS and adacharge at a pinned commit).

``python -m benchmarks.acn_adacharge [--rules feasible] [--arrivals LO HI] KW ...`` prints one
line per capacity; ``--out FILE`` writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from acnportal import acnsim  # type: ignore[import-untyped]
from acnportal.acnsim import analysis  # type: ignore[import-untyped]
from acnportal.signals.tariffs import TimeOfUseTariff  # type: ignore[import-untyped]

from benchmarks.acn_rules import RULES, Rules, apply_rules_to_events
from benchmarks.acn_sim import (
    PERIOD_MIN,
    START,
    VOLTAGE_V,
    count_infeasible,
    load_events,
    max_excess_a,
)

TARIFF = "sce_tou_ev_4_march_2019"
DAYS_IN_MONTH = 30  # as the notebook states it (March has 31; its last day keeps scale 1)
PERIODS_PER_DAY = 24 * 60 // PERIOD_MIN


@dataclass(frozen=True, slots=True)
class MpcRun:
    capacity_kw: float
    rules: str
    solver: str
    arrivals: tuple[int, int] | None
    sessions: int
    requested_kwh: float
    delivered_kwh: float
    delivered_share: float
    peak_kw: float
    infeasible_periods: int
    max_excess_a: float
    seconds: float


def _scaled_demand_charge(
    rates: Any, infrastructure: Any, interface: Any, baseline_peak: float = 0, **kwargs: Any
) -> Any:
    """The notebook's demand charge: the month's charge spread over the days left."""
    import adacharge

    day = min(interface.current_time // PERIODS_PER_DAY, DAYS_IN_MONTH - 1)
    charge = adacharge.demand_charge(rates, infrastructure, interface, baseline_peak, **kwargs)
    return charge / (DAYS_IN_MONTH - day)


def mpc_cm(solver: str) -> Any:
    """MPC_CM exactly as the notebook builds it, but for the solver."""
    import adacharge

    objective = [
        adacharge.ObjectiveComponent(adacharge.total_energy, 1000),
        adacharge.ObjectiveComponent(adacharge.tou_energy_cost),
        adacharge.ObjectiveComponent(_scaled_demand_charge),
        adacharge.ObjectiveComponent(adacharge.quick_charge, 1e-4),
        adacharge.ObjectiveComponent(adacharge.equal_share, 1e-12),
    ]
    return adacharge.AdaptiveSchedulingAlgorithm(objective, solver=solver)


def session_events(data: Path, rules: Rules, arrivals: tuple[int, int] | None) -> Any:
    """The data set's plug-in events under the rules, optionally only arrivals in [lo, hi)."""
    events = apply_rules_to_events(load_events(data), rules, PERIOD_MIN)
    if arrivals is None:
        return events
    low, high = arrivals
    kept = [event for _, event in events.queue if low <= event.ev.arrival < high]
    return acnsim.EventQueue(kept)


def run(
    data: Path, capacity_kw: float, rules: Rules, solver: str, arrivals: tuple[int, int] | None
) -> MpcRun:
    started = time.perf_counter()
    events = session_events(data, rules, arrivals)
    sessions = len(events.queue)
    network = acnsim.sites.caltech_acn(
        basic_evse=True, voltage=VOLTAGE_V, transformer_cap=capacity_kw
    )
    sim = acnsim.Simulator(
        network,
        mpc_cm(solver),
        events,
        START,
        period=PERIOD_MIN,
        signals={"tariff": TimeOfUseTariff(TARIFF)},
        verbose=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sim.run()
    vehicles = list(sim.ev_history.values())
    requested = sum(ev.requested_energy for ev in vehicles)
    delivered = sum(ev.energy_delivered for ev in vehicles)
    pilots = np.asarray(sim.pilot_signals)
    return MpcRun(
        capacity_kw=capacity_kw,
        rules=rules,
        solver=solver,
        arrivals=arrivals,
        sessions=sessions,
        requested_kwh=float(requested),
        delivered_kwh=float(delivered),
        delivered_share=float(analysis.proportion_of_energy_delivered(sim)),
        peak_kw=float(np.max(analysis.aggregate_power(sim))),
        infeasible_periods=count_infeasible(sim.network, pilots),
        max_excess_a=max_excess_a(sim.network, pilots),
        seconds=time.perf_counter() - started,
    )


def describe(result: MpcRun) -> str:
    lost = result.requested_kwh - result.delivered_kwh
    return (
        f"MPC_CM ({result.solver}, {result.rules} rules) {result.capacity_kw:g} kW: "
        f"{100 * result.delivered_share:.6f} % of {result.requested_kwh:.1f} kWh "
        f"({lost:.3f} kWh lost, {result.sessions} sessions), peak {result.peak_kw:.2f} kW, "
        f"{result.infeasible_periods} infeasible periods, {result.seconds:.0f} s"
    )


def main(argv: Sequence[str] | None = None) -> int:
    from benchmarks.acn_replay import DEFAULT_DATA

    parser = argparse.ArgumentParser(prog="python -m benchmarks.acn_adacharge")
    parser.add_argument("capacities_kw", nargs="+", type=float)
    parser.add_argument("--rules", choices=RULES, default="feasible")
    parser.add_argument("--solver", default="ECOS")
    parser.add_argument("--arrivals", nargs=2, type=int, metavar=("LO", "HI"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    arrivals = tuple(args.arrivals) if args.arrivals else None
    results = []
    for capacity_kw in args.capacities_kw:
        result = run(args.data, capacity_kw, args.rules, args.solver, arrivals)
        print(describe(result), flush=True)
        results.append(asdict(result))
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
