"""Percentiles and the small records the relay benchmark reports."""

from __future__ import annotations

import math
from dataclasses import dataclass

PERCENTILES = (50, 90, 99)


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually observed, never an interpolation."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    samples: int
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float

    @classmethod
    def of_ns(cls, rtt_ns: list[int]) -> LatencySummary:
        values_us = sorted(ns / 1000 for ns in rtt_ns)
        p50, p90, p99 = (percentile(values_us, q) for q in PERCENTILES)
        return cls(len(values_us), p50, p90, p99, values_us[-1] if values_us else math.nan)

    def minus(self, baseline: LatencySummary) -> LatencySummary:
        """Percentile by percentile: what the relay adds. The two runs are independent samples,
        so this is a difference of percentiles, not a percentile of per-message differences."""
        return LatencySummary(
            self.samples,
            self.p50_us - baseline.p50_us,
            self.p90_us - baseline.p90_us,
            self.p99_us - baseline.p99_us,
            self.max_us - baseline.max_us,
        )


@dataclass(frozen=True, slots=True)
class CpuWindow:
    """CPU used by the relay and by the load generator over one measurement window."""

    start_s: float  # time.monotonic() at the window's start
    wall_s: float
    relay_cpu_s: float
    loadgen_cpu_s: float
    round_trips: int = 0  # completed during the window (closed-loop runs only)
    machine_busy_s: float = 0.0  # every process on the machine, this bench's included
    steal_s: float = 0.0  # time the hypervisor gave our virtual CPUs to someone else

    @property
    def others_cpu_percent(self) -> float:
        """CPU used by processes other than the relay and the load generator."""
        others_s = self.machine_busy_s - self.relay_cpu_s - self.loadgen_cpu_s
        return max(0.0, 100 * others_s / self.wall_s)

    @property
    def relay_cpu_percent(self) -> float:
        return 100 * self.relay_cpu_s / self.wall_s

    @property
    def loadgen_cpu_percent(self) -> float:
        return 100 * self.loadgen_cpu_s / self.wall_s


@dataclass(frozen=True, slots=True)
class GcPause:
    """One garbage collection in the relay that stopped it for a while."""

    at_s: float  # time.monotonic() at the end of the collection
    generation: int
    pause_ms: float


def pauses_in(pauses: list[GcPause], window: CpuWindow) -> list[GcPause]:
    return [p for p in pauses if window.start_s <= p.at_s < window.start_s + window.wall_s]
