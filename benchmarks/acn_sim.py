"""Runs one replay in acnportal's simulator: our controller, or one of its baseline algorithms.

acnportal (PyPI ``acnportal==0.3.3``, BSD-3-Clause) is used as a library: its simulator
plays the sessions period by period, applies the pilots to its battery model, and checks
every schedule against its own network constraints (phasor magnitudes).
"""

from __future__ import annotations

import gzip
import json
import time
import warnings
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from acnportal import acnsim, algorithms  # type: ignore[import-untyped]
from acnportal.acnsim import analysis  # type: ignore[import-untyped]

from benchmarks.acn_control import Controller, Plugged, Policy
from benchmarks.acn_network import AcnNetwork, reduce_network

PERIOD_MIN = 5
VOLTAGE_V = 208.0
EV_MAX_KW = 6.6  # every battery of this data set: 6.6 kW at 208 V
START = datetime(2019, 3, 1, tzinfo=ZoneInfo("America/Los_Angeles"))
BASELINES = ("FCFS", "RR", "EDF", "LLF")


@dataclass(frozen=True, slots=True)
class RunResult:
    algorithm: str
    capacity_kw: float
    delivered_share: float
    infeasible_periods: int
    max_excess_a: float
    warned_periods: int
    seconds: float


def load_events(path: Path) -> Any:
    """The data set's EventQueue (JSON-encoded twice), written by acnportal 0.2.1."""
    with gzip.open(path, "rt", encoding="utf-8") as handle, warnings.catch_warnings():
        # acnportal warns that the file's versions (0.2.1, numpy 1.19) are not the current.
        warnings.simplefilter("ignore", UserWarning)
        return acnsim.EventQueue.from_json(json.load(handle))


class LocalctlAlgorithm(algorithms.BaseAlgorithm):  # type: ignore[misc]
    """acnportal scheduler that asks localctl's optimizer for every period's pilots."""

    def __init__(self, network: AcnNetwork, policy: Policy) -> None:
        super().__init__()
        self.max_recompute = 1  # one allocation per period, like the live loop
        self._controller = Controller(network, policy)

    def schedule(self, active_sessions: list[Any]) -> dict[str, list[float]]:
        period_s = self._controller.policy.period_s
        now_s = float(self.interface.current_time) * period_s
        ev_max_a = EV_MAX_KW * 1000.0 / VOLTAGE_V
        plugged = [
            Plugged(
                station_id=str(s.station_id),
                arrival_s=float(s.arrival) * period_s,
                departure_s=float(s.departure) * period_s,
                energy_needed_wh=max(0.0, float(s.remaining_demand) * 1000.0),
                ev_max_a=ev_max_a,
            )
            for s in active_sessions
        ]
        limits = self._controller.period(plugged, now_s).limits_a
        return {sid: [limit] for sid, limit in limits.items()}


def baseline(name: str) -> Any:
    """acnportal's own uncontrolled charging, FCFS, round robin, EDF and LLF, as the
    published notebook built them."""
    if name == "Unctrl":
        return algorithms.UncontrolledCharging()
    if name == "RR":
        return algorithms.RoundRobin(algorithms.first_come_first_served)
    sort = {
        "FCFS": algorithms.first_come_first_served,
        "EDF": algorithms.earliest_deadline_first,
        "LLF": algorithms.least_laxity_first,
    }[name]
    return algorithms.SortedSchedulingAlgo(sort)


def acn_network(capacity_kw: float) -> tuple[Any, AcnNetwork]:
    """acnportal's Caltech network at this capacity, and its reduction for localctl."""
    network = acnsim.sites.caltech_acn(
        basic_evse=True, voltage=VOLTAGE_V, transformer_cap=capacity_kw
    )
    reduced = reduce_network(
        station_ids=list(network.station_ids),
        angles_deg=np.asarray(network._phase_angles, dtype=np.float64),
        matrix=np.asarray(network.constraint_matrix, dtype=np.float64),
        limits_a=np.asarray(network.magnitudes, dtype=np.float64),
        names=list(network.constraint_index),
    )
    return network, reduced


def run_one(
    events: Any, algorithm: str, capacity_kw: float, policy: Policy | None = None
) -> RunResult:
    """Replay March 2019 at one capacity and measure the share of energy delivered."""
    started = time.perf_counter()
    network, reduced = acn_network(capacity_kw)
    scheduler = (
        LocalctlAlgorithm(reduced, policy or Policy())
        if algorithm == "localctl"
        else baseline(algorithm)
    )
    sim = acnsim.Simulator(
        network, scheduler, deepcopy(events), START, period=PERIOD_MIN, verbose=False
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sim.run()
    pilots = np.asarray(sim.pilot_signals)
    warned = sum("Invalid schedule" in str(w.message) for w in caught)
    return RunResult(
        algorithm=algorithm,
        capacity_kw=capacity_kw,
        delivered_share=float(analysis.proportion_of_energy_delivered(sim)),
        infeasible_periods=count_infeasible(sim.network, pilots),
        max_excess_a=max_excess_a(sim.network, pilots),
        warned_periods=warned,
        seconds=time.perf_counter() - started,
    )


def count_infeasible(network: Any, pilots_a: np.ndarray) -> int:
    """Periods that acnportal's ``is_feasible`` rejects, vectorised over the whole run.

    Same rule and tolerance as acnportal (its default absorbs float noise of 1e-14 A,
    such as four pilots that sum to 80.00000000000001 A on an 80 A pod).
    """
    return int(np.count_nonzero((excess_a(network, pilots_a) > _tolerance_a(network)).any(axis=0)))


def max_excess_a(network: Any, pilots_a: np.ndarray) -> float:
    """Largest amount by which any constraint current exceeds its exact limit (A), or 0."""
    return max(0.0, float(excess_a(network, pilots_a).max(initial=0.0)))


def excess_a(network: Any, pilots_a: np.ndarray) -> np.ndarray:
    currents = np.abs(network.constraint_current(pilots_a))
    limits = np.asarray(network.magnitudes, dtype=np.float64)[:, None]
    result: np.ndarray = currents - limits
    return result


def _tolerance_a(network: Any) -> np.ndarray:
    limits = np.asarray(network.magnitudes, dtype=np.float64)
    relative = limits * float(network.relative_tolerance)
    result: np.ndarray = np.maximum(float(network.violation_tolerance), relative)[:, None]
    return result
