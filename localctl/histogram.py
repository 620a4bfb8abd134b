"""Fixed-bucket histograms for /metrics: one list increment and one addition per observation."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field


@dataclass(slots=True)
class Histogram:
    """Counts per bucket (upper bounds `bounds_s`, then +Inf) and the sum of what was seen."""

    bounds_s: tuple[float, ...]
    counts: list[int] = field(init=False)
    total_s: float = 0.0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds_s) + 1)

    def record(self, elapsed_s: float) -> None:
        self.counts[bisect_left(self.bounds_s, elapsed_s)] += 1
        self.total_s += elapsed_s

    def cumulative(self) -> list[tuple[str, float]]:
        """(upper bound, observations up to it) per bucket, as Prometheus exposes them."""
        running, buckets = 0, []
        for bound, count in zip([*map(str, self.bounds_s), "+Inf"], self.counts, strict=True):
            running += count
            buckets.append((bound, float(running)))
        return buckets
