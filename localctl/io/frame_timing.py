"""How long the relay holds a frame: from the complete message to its forward being written.

This is the latency the relay itself adds on top of the network and the kernel, measured for
every frame at the cost of two clock reads, and kept as histogram counts for /metrics.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

BUCKETS_S = (10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 10e-3, 50e-3)


@dataclass(slots=True)
class FrameTiming:
    """Cumulative-ready counts per bucket (the last one is +Inf) and the total time."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_S) + 1))
    total_s: float = 0.0

    def record(self, elapsed_s: float) -> None:
        self.counts[bisect_left(BUCKETS_S, elapsed_s)] += 1
        self.total_s += elapsed_s
