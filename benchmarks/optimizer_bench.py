"""Optimizer benchmark: solve times, fast/exact quality, and baselines. Prints tables.

Run: python -m benchmarks.optimizer_bench
"""

from __future__ import annotations

import random
import time

from optimizer import Evse, Node, NodeLimit, Options, Session, Site, allocate

PHASE_MAPS = ((0,), (1,), (2,), (0, 1, 2), (1, 2, 0), (2, 0, 1))


def random_site(evse_count: int, rng: random.Random) -> Site:
    """A transformer, sub-boards of ~100 EVSEs, circuits of ~10, tight enough to bind."""
    per_evse_a = 7.0
    nodes = [Node("grid", limits=(NodeLimit("fuse", _triple(evse_count * per_evse_a * 0.5)),))]
    evses = []
    circuit_count = max(1, evse_count // 10)
    board_count = max(1, evse_count // 100)
    for board in range(board_count):
        share = evse_count / board_count * per_evse_a * 0.8
        nodes.append(Node(f"b{board}", "grid", (NodeLimit("fuse", _triple(share)),)))
    for circuit in range(circuit_count):
        board = circuit % board_count
        amps = rng.choice((32.0, 40.0, 50.0, 63.0))
        nodes.append(Node(f"c{circuit}", f"b{board}", (NodeLimit("fuse", _triple(amps)),)))
    for index in range(evse_count):
        evses.append(
            Evse(
                f"e{index:05d}",
                f"c{index % circuit_count}",
                phase_map=rng.choice(PHASE_MAPS),
                min_current_a=6.0,
                max_current_a=rng.choice((16.0, 32.0)),
            )
        )
    return Site(tuple(nodes), tuple(evses))


def _triple(amps: float) -> tuple[float, float, float]:
    return (round(amps, 1), round(amps, 1), round(amps, 1))


def random_sessions(site: Site, rng: random.Random, minimum: bool = True) -> list[Session]:
    sessions = []
    for evse in site.evses:
        if rng.random() < 0.2:
            continue
        sessions.append(
            Session(
                evse.evse_id,
                arrival_s=float(rng.randrange(0, 3600)),
                phases_in_use=rng.choice((None, 1, 3)),
                ev_max_current_a=rng.choice((None, 10.0, 13.0, 16.0, 32.0)),
                priority=rng.choice((0, 0, 0, 1)),
            )
        )
    del minimum
    return sessions


def time_allocate(site: Site, sessions: list[Session], options: Options, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        allocate(site, sessions, 4000.0, options)
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    rng = random.Random(1)
    for count in (10, 100, 1000, 5000):
        site = random_site(count, rng)
        sessions = random_sessions(site, rng)
        seconds = time_allocate(site, sessions, Options(), 5)
        print(count, f"{seconds * 1000:.1f} ms")
