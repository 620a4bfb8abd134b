"""Optimizer benchmark: solve times, fast/exact agreement, and baselines. Prints tables.

Run: python -m benchmarks.optimizer_bench [--quick] [--compare REV]

``--compare REV`` times the ``optimizer/`` package of git revision REV beside the working
tree's, in alternating subprocesses on the same instances (one steady-state cycle each,
the state of the previous cycle fed back as the controller does), and prints medians.

Instances: a three-phase tree (grid connection, sub-boards of about 100 EVSEs, circuits
of about 10), half single-phase EVSEs on any phase, half three-phase with any rotation,
80 % occupied, vehicles on one or three phases (a third reported as unknown), sized so
that the root and many circuits bind. Times are the best of several runs of the whole
``allocate`` call (tree compile, admission, filling, rounding, results).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy

from benchmarks.machine import cpu_model
from optimizer import (
    AllocatorState,
    Evse,
    Node,
    NodeLimit,
    Options,
    Session,
    Site,
    allocate,
)
from optimizer.tree import SiteTree, build_tree

PHASE_MAPS = ((0,), (1,), (2,), (0, 1, 2), (1, 2, 0), (2, 0, 1))


@dataclass(frozen=True, slots=True)
class Instance:
    site: Site
    sessions: list[Session]
    true_phases: dict[str, tuple[int, ...]]


def random_instance(evse_count: int, rng: random.Random, minimum_a: float = 6.0) -> Instance:
    """A site, its sessions, and the grid phases each vehicle really loads."""
    site = random_site(evse_count, rng, minimum_a)
    sessions: list[Session] = []
    true_phases: dict[str, tuple[int, ...]] = {}
    for evse in site.evses:
        if rng.random() < 0.2:
            continue
        used = rng.choice((1, 3)) if evse.phase_count == 3 else 1
        true_phases[evse.evse_id] = tuple(sorted(evse.phase_map[:used]))
        sessions.append(
            Session(
                evse.evse_id,
                arrival_s=float(rng.randrange(0, 3600)),
                phases_in_use=rng.choice((None, used, used)),
                ev_max_current_a=rng.choice((None, 10.0, 13.0, 16.0, 32.0)),
                priority=rng.choice((0, 0, 0, 1)),
            )
        )
    return Instance(site, sessions, true_phases)


def random_site(evse_count: int, rng: random.Random, minimum_a: float) -> Site:
    per_evse_a = 7.0
    root = _fuse(evse_count * per_evse_a * 0.5)
    nodes = [Node("grid", limits=(root,))]
    circuit_count = max(1, evse_count // 10)
    board_count = max(1, evse_count // 100)
    for board in range(board_count):
        nodes.append(Node(f"b{board}", "grid", (_fuse(evse_count / board_count * 5.6),)))
    for circuit in range(circuit_count):
        amps = rng.choice((32.0, 40.0, 50.0, 63.0))
        nodes.append(Node(f"c{circuit}", f"b{circuit % board_count}", (_fuse(amps),)))
    evses = tuple(
        Evse(
            f"e{index:05d}",
            f"c{index % circuit_count}",
            phase_map=rng.choice(PHASE_MAPS),
            min_current_a=minimum_a,
            max_current_a=rng.choice((16.0, 32.0)),
        )
        for index in range(evse_count)
    )
    return Site(tuple(nodes), evses)


def _fuse(amps: float) -> NodeLimit:
    rounded = round(amps, 1)
    return NodeLimit("fuse", (rounded, rounded, rounded))


def solver(instance: Instance, options: Options) -> Callable[[], object]:
    return lambda: allocate(instance.site, instance.sessions, 4000.0, options)


def steady_cycles_s(instance: Instance, repeat: int) -> tuple[list[float], str]:
    """CPU time of each of ``repeat`` cycles, each fed the state of the one before (after
    two warm-up cycles): how the control loop calls ``allocate``. Also a digest of the
    last cycle's limits and reasons, so that two versions can be shown to agree."""
    state = AllocatorState()
    times = []
    answer = ""
    for cycle in range(repeat + 2):
        start = time.process_time()
        allocation = allocate(instance.site, instance.sessions, 4000.0, Options(), state)
        if cycle >= 2:
            times.append(time.process_time() - start)
        state = allocation.state
        answer = repr([(e.evse_id, e.limit_a, e.bound_by) for e in allocation.evses])
    return times, hashlib.sha256(answer.encode()).hexdigest()[:16]


def best_time_s(action: Callable[[], object], repeat: int) -> float:
    """Best CPU time of this process over the runs: other jobs on a shared machine stretch
    wall time, much less the CPU time the call itself needs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best


def best_wall_s(action: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


# --- baselines -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """Limits per EVSE id (A per phase)."""

    limits: dict[str, float]


def demand_a(instance: Instance, session: Session) -> float:
    evse = next(e for e in instance.site.evses if e.evse_id == session.evse_id)
    return min(evse.max_current_a, session.ev_max_current_a or evse.max_current_a)


def _worst_phases(tree: SiteTree, session: Session) -> tuple[int, ...]:
    evse = tree.evses[session.evse_id]
    if session.phases_in_use is None:
        return tuple(sorted(evse.phase_map))
    return tuple(sorted(evse.phase_map[: session.phases_in_use]))


def equal_split(instance: Instance) -> Outcome:
    """Every row divided equally among the sessions on it; each takes its smallest share."""
    tree = build_tree(instance.site)
    columns = {
        s.evse_id: tree.column(tree.evses[s.evse_id], _worst_phases(tree, s))
        for s in instance.sessions
    }
    weight = [0] * len(tree.rows)
    for column in columns.values():
        for row, coef in zip(column.rows, column.coefs, strict=True):
            weight[row] += coef
    limits = {}
    for session in instance.sessions:
        column = columns[session.evse_id]
        shares = [tree.rows[r].capacity_ma / 1000.0 / weight[r] for r in column.rows]
        limits[session.evse_id] = _floor_tenth(min([demand_a(instance, session), *shares]))
    return Outcome(limits)


def first_come_first_served(instance: Instance) -> Outcome:
    """By arrival, each takes what its worst row has left (evcc-style headroom)."""
    tree = build_tree(instance.site)
    return _sequential(
        instance, tree, sorted(instance.sessions, key=lambda s: (s.arrival_s, s.evse_id)), False
    )


def worst_phase_times_three(instance: Instance) -> Outcome:
    """By priority then arrival, every session counted on all three phases of the worst one."""
    tree = build_tree(instance.site)
    order = sorted(instance.sessions, key=lambda s: (-s.priority, s.arrival_s, s.evse_id))
    return _sequential(instance, tree, order, True)


def _sequential(
    instance: Instance, tree: SiteTree, order: Sequence[Session], three: bool
) -> Outcome:
    remaining = [row.capacity_ma / 1000.0 for row in tree.rows]
    node_phase_rows = {n: [tree.phase_rows[n][p] for p in range(3)] for n in tree.node_ids}
    limits = {}
    for session in order:
        evse = tree.evses[session.evse_id]
        phases = (0, 1, 2) if three else _worst_phases(tree, session)
        column = tree.column(evse, phases)
        if three:
            # The worst phase's headroom, assumed on all three phases.
            worst = min(
                (
                    min((remaining[r] for r in node_phase_rows[evse.node_id][p]), default=1e9)
                    for p in range(3)
                ),
            )
            available = min(
                worst, *(remaining[r] / c for r, c in zip(column.rows, column.coefs, strict=True))
            )
        else:
            available = min(
                (remaining[r] / c for r, c in zip(column.rows, column.coefs, strict=True)),
                default=1e9,
            )
        limit = _floor_tenth(max(0.0, min(demand_a(instance, session), available)))
        limits[session.evse_id] = limit
        for row, coef in zip(column.rows, column.coefs, strict=True):
            remaining[row] -= coef * limit
    return Outcome(limits)


def _floor_tenth(value_a: float) -> float:
    return int(value_a * 10 + 1e-9) / 10


def ours(instance: Instance) -> Outcome:
    allocation = allocate(instance.site, instance.sessions, 4000.0)
    return Outcome({e.evse_id: e.limit_a for e in allocation.evses})


def score(instance: Instance, outcome: Outcome) -> tuple[float, int, int]:
    """Current delivered (A summed over the phases really used), held below min, at zero."""
    minimum = {e.evse_id: e.min_current_a for e in instance.site.evses}
    delivered = 0.0
    below = zero = 0
    for session in instance.sessions:
        limit = outcome.limits.get(session.evse_id, 0.0)
        if limit == 0.0:
            zero += 1
        elif limit < minimum[session.evse_id] - 1e-9:
            below += 1
        else:
            delivered += limit * len(instance.true_phases[session.evse_id])
    return delivered, below, zero


# --- tables ----------------------------------------------------------------------------


def machine() -> str:
    return (
        f"{cpu_model()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {np.__version__}, scipy {scipy.__version__}"
    )


def timing_table(sizes: Sequence[int], repeat: int) -> None:
    print(f"\n## Solve time (ms, best of {repeat} runs: CPU time, wall time in brackets)\n")
    print(
        "| EVSEs | sessions | fast, no minimums | fast, 6 A minimums | exact (LP), 6 A minimums |"
    )
    print("|---:|---:|---:|---:|---:|")
    for count in sizes:
        rng = random.Random(count)
        free = random_instance(count, rng, minimum_a=0.0)
        rng = random.Random(count)
        strict = random_instance(count, rng, minimum_a=6.0)
        fast_free = best_time_s(solver(free, Options()), repeat)
        fast_min = best_time_s(solver(strict, Options()), repeat)
        wall_free = best_wall_s(solver(free, Options()), repeat)
        wall_min = best_wall_s(solver(strict, Options()), repeat)
        exact = "not run (one LP per session per round)"
        if count <= 100:
            exact = f"{best_time_s(solver(strict, Options(method='exact')), 1) * 1000:.0f}"
        print(
            f"| {count:,} | {len(strict.sessions):,} | {fast_free * 1000:.1f} "
            f"({wall_free * 1000:.1f}) | {fast_min * 1000:.1f} ({wall_min * 1000:.1f}) | {exact} |"
        )


def quality_table(instances: int, size: int) -> None:
    print(f"\n## Fast path against the exact method ({instances} random instances, {size} EVSEs)\n")
    worst_ratio = 1.0
    worst_gap = 0.0
    for seed in range(instances):
        instance = random_instance(size, random.Random(1000 + seed))
        fast = allocate(instance.site, instance.sessions, 4000.0)
        exact = allocate(instance.site, instance.sessions, 4000.0, Options(method="exact"))
        worst_ratio = min(worst_ratio, fast.total_current_a / max(exact.total_current_a, 1e-9))
        for one, other in zip(fast.evses, exact.evses, strict=True):
            worst_gap = max(worst_gap, abs(one.limit_a - other.limit_a))
    print("| instances | worst total ratio fast/exact | largest per-EVSE difference (A) |")
    print("|---:|---:|---:|")
    print(f"| {instances} | {worst_ratio * 100:.3f} % | {worst_gap:.1f} |")


def baseline_table(instances: int, size: int) -> None:
    print(f"\n## Against baselines ({instances} random instances of {size} EVSEs, 6 A minimums)\n")
    methods: dict[str, Callable[[Instance], Outcome]] = {
        "equal split": equal_split,
        "first come, first served headroom": first_come_first_served,
        "worst phase x 3, by priority": worst_phase_times_three,
        "localctl (fast path)": ours,
    }
    totals = {name: [0.0, 0.0, 0.0] for name in methods}
    sessions = 0
    for seed in range(instances):
        instance = random_instance(size, random.Random(2000 + seed))
        sessions += len(instance.sessions)
        for name, method in methods.items():
            delivered, below, zero = score(instance, method(instance))
            totals[name][0] += delivered
            totals[name][1] += below
            totals[name][2] += zero
    ours_total = totals["localctl (fast path)"][0]
    print(
        "| method | current delivered (A, sum) | vs localctl | charging (>= minimum) "
        "| held below minimum | at 0 A |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, row in totals.items():
        served = sessions - int(row[1]) - int(row[2])
        print(
            f"| {name} | {row[0]:,.0f} | {row[0] / ours_total * 100:.1f} % | "
            f"{served} of {sessions} | {int(row[1])} | {int(row[2])} |"
        )


@dataclass(frozen=True, slots=True)
class Visit:
    """A synthetic charging visit for the multi-period replay."""

    evse_id: str
    arrival_s: float
    departure_s: float
    energy_wh: float


def synthetic_day(evse_count: int, rng: random.Random) -> list[Visit]:
    """Two visits per EVSE over a day: arrivals around 8:00 and 13:00, 2 to 9 hours, 5-40 kWh."""
    visits = []
    for index in range(evse_count):
        for peak_h in (8.0, 13.0):
            arrival_s = max(0.0, rng.gauss(peak_h, 1.5)) * 3600.0
            stay_s = rng.uniform(2.0, 9.0) * 3600.0
            energy_wh = rng.uniform(5_000.0, 40_000.0)
            visits.append(Visit(f"e{index:03d}", arrival_s, arrival_s + stay_s, energy_wh))
    return visits


def replay_share(visits: list[Visit], capacity_a: float, fairness: str) -> float:
    """Share of requested energy delivered by departure, 5-minute periods, one 3-phase bus
    feeding single-phase EVSEs spread over its phases; vehicles draw their full limit."""
    period_s = 300.0
    options = Options(period_s=period_s, fairness=fairness)  # type: ignore[arg-type]
    nodes = (Node("bus", limits=(_fuse(capacity_a),)),)
    evse_ids = sorted({v.evse_id for v in visits})
    chargers = tuple(Evse(e, "bus", phase_map=(k % 3,)) for k, e in enumerate(evse_ids))
    site = Site(nodes, chargers)
    left = {id(v): v.energy_wh for v in visits}
    state = None
    for step in range(int(24 * 3600 / period_s)):
        now_s = step * period_s
        present: dict[str, Visit] = {}
        for visit in visits:
            if visit.arrival_s <= now_s < visit.departure_s and left[id(visit)] > 1.0:
                present.setdefault(visit.evse_id, visit)
        sessions = [
            Session(v.evse_id, v.arrival_s, 1, None, None, 0, v.departure_s, left[id(v)])
            for v in present.values()
        ]
        allocation = allocate(site, sessions, now_s, options, state)
        state = allocation.state
        for visit in present.values():
            delivered_wh = allocation.evse(visit.evse_id).limit_a * 230.0 * period_s / 3600.0
            left[id(visit)] = max(0.0, left[id(visit)] - delivered_wh)
    requested = sum(v.energy_wh for v in visits)
    return 1.0 - sum(left.values()) / requested


def energy_table(evse_count: int) -> None:
    visits = synthetic_day(evse_count, random.Random(7))
    print(
        f"\n## Energy delivered by departure (synthetic day, {evse_count} single-phase EVSEs, "
        "5-minute periods)\n"
    )
    print("| bus capacity (A per phase) | equal sharing | deadline sharing |")
    print("|---:|---:|---:|")
    for capacity_a in (40.0, 80.0, 120.0, 160.0, 200.0):
        equal = replay_share(visits, capacity_a, "equal")
        deadline = replay_share(visits, capacity_a, "deadline")
        print(f"| {capacity_a:.0f} | {equal * 100:.1f} % | {deadline * 100:.1f} % |")


def calibration_ms() -> float:
    """CPU time of a fixed pure-Python loop: how fast this machine is right now."""
    return best_time_s(lambda: sum(i * i for i in range(200_000)), 7) * 1000


# --- old against new ----------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent


def _worker(size: int, minimum_a: float, repeat: int) -> None:
    """Subprocess side of --compare: print the steady-cycle CPU times as JSON."""
    instance = random_instance(size, random.Random(size), minimum_a)
    package = str(Path(sys.modules["optimizer"].__file__ or "").parent.parent)
    times, digest = steady_cycles_s(instance, repeat)
    print(json.dumps({"package_root": package, "times_s": times, "digest": digest}))


def _run_worker(
    pythonpath: str, size: int, minimum_a: float, repeat: int
) -> tuple[list[float], str]:
    command = [sys.executable, "-m", "benchmarks.optimizer_bench", "--worker"]
    command += [str(size), str(minimum_a), str(repeat)]
    root = pythonpath.split(os.pathsep, maxsplit=1)[0]
    # ``-m`` puts the working directory first on sys.path: start where the package is.
    output = subprocess.run(
        command,
        cwd=root,
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    answer = json.loads(output)
    if Path(answer["package_root"]).resolve() != Path(root).resolve():
        raise RuntimeError(f"timed the optimizer in {answer['package_root']}, not in {root}")
    return list(answer["times_s"]), str(answer["digest"])


def compare_table(revision: str, sizes: Sequence[int], rounds: int, repeat: int) -> None:
    """Old (``revision``) and new optimizer, alternating subprocesses, same instances."""
    with tempfile.TemporaryDirectory() as old_root:
        archive = subprocess.run(
            ["git", "archive", revision, "optimizer"], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", old_root], input=archive, check=True)
        paths = {"old": f"{old_root}{os.pathsep}{REPO}", "new": str(REPO)}
        print(
            f"\n## Old ({revision[:10]}) against new: CPU ms per steady-state cycle, median over "
            f"{rounds} alternating rounds of {repeat} cycles (range of round medians)\n"
        )
        print("| EVSEs | minimums | old | new | new / old | same limits and reasons |")
        print("|---:|---:|---:|---:|---:|---|")
        for size in sizes:
            for minimum_a in (0.0, 6.0):
                medians: dict[str, list[float]] = {"old": [], "new": []}
                digests = set()
                for _ in range(rounds):
                    for name, path in paths.items():
                        times, digest = _run_worker(path, size, minimum_a, repeat)
                        medians[name].append(statistics.median(times) * 1000)
                        digests.add(digest)
                old, new = (statistics.median(medians[k]) for k in ("old", "new"))
                print(
                    f"| {size:,} | {minimum_a:.0f} A | {old:.1f} ({_span(medians['old'])}) "
                    f"| {new:.1f} ({_span(medians['new'])}) | {new / old:.2f} "
                    f"| {'yes' if len(digests) == 1 else 'NO'} |"
                )


def _span(values: list[float]) -> str:
    return f"{min(values):.1f}-{max(values):.1f}"


def main(argv: Sequence[str]) -> None:
    if argv and argv[0] == "--worker":
        _worker(int(argv[1]), float(argv[2]), int(argv[3]))
        return
    quick = "--quick" in argv
    if "--compare" in argv:
        revision = argv[argv.index("--compare") + 1]
        sizes = (1000, 5000) if quick else (100, 1000, 5000)
        compare_table(revision, sizes, 3 if quick else 5, 11 if quick else 21)
        return
    print(f"Machine: {machine()}")
    print(f"Calibration (fixed pure-Python loop, lower is faster): {calibration_ms():.1f} ms")
    timing_table((10, 100, 1000) if quick else (10, 100, 1000, 5000), 3 if quick else 15)
    quality_table(10 if quick else 50, 30)
    baseline_table(5 if quick else 20, 200)
    energy_table(20 if quick else 40)


if __name__ == "__main__":
    main(sys.argv[1:])
