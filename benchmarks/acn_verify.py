"""One localctl replay at one capacity, with acnportal's network as the judge of feasibility."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.acn_control import Controller, Policy
from benchmarks.acn_play import load_vehicles, play
from benchmarks.acn_report import Row
from benchmarks.acn_rules import Rules, apply_rules, apply_rules_to_events
from benchmarks.acn_sim import (
    PERIOD_MIN,
    VOLTAGE_V,
    RunResult,
    acn_network,
    count_infeasible,
    load_events,
    max_excess_a,
    run_one,
)


def replay_localctl(
    data: Path, capacity_kw: float, rules: Rules = "acnportal", policy: Policy | None = None
) -> Row:
    """Lean replay (see acn_play), then every period's pilots checked by acnportal."""
    started = time.perf_counter()
    policy = policy or Policy()
    vehicles = apply_rules(load_vehicles(data), rules, PERIOD_MIN)
    network, reduced = acn_network(capacity_kw)
    controller = Controller(reduced, policy)

    def decide(offers: Any, period: int) -> dict[str, float]:
        return controller.period(offers, period * policy.period_s).limits_a

    playback = play(vehicles, list(network.station_ids), decide, PERIOD_MIN, VOLTAGE_V)
    pilots = np.vstack([playback.pilots_a[sid] for sid in network.station_ids])
    return Row(
        algorithm="localctl",
        capacity_kw=capacity_kw,
        share=playback.share(vehicles),
        infeasible_periods=count_infeasible(network, pilots),
        max_excess_a=max_excess_a(network, pilots),
        seconds=time.perf_counter() - started,
    )


def run_in_simulator(data: Path, capacity_kw: float, rules: Rules = "acnportal") -> RunResult:
    """The same controller driven by acnportal's own simulator (slower, for cross-checks)."""
    events = apply_rules_to_events(load_events(data), rules, PERIOD_MIN)
    return run_one(events, "localctl", capacity_kw, Policy())
