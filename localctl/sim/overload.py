"""Overload accounting: how long, how far and how continuously each fuse was exceeded.

The site simulation feeds every step's currents (held for the step's length) per node and
grid phase; the tracker adds up, for each phase above its fuse rating (plus an optional
tolerance), the time spent there, the excess in A·s, the highest excess and the longest
continuous run. End-to-end tests and benchmarks then assert that no run outlasted the
controller's reaction window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from localctl.config.site import GRID_PHASES, SiteConfig

PhaseCurrents = tuple[float, float, float]


@dataclass(slots=True)
class PhaseOverload:
    """What one phase of one node went through."""

    node_id: str
    phase: str
    fuse_a: float
    seconds_over_s: float = 0.0
    excess_as: float = 0.0
    """Integral of (current - fuse) over the time above the fuse (A·s)."""
    peak_excess_a: float = 0.0
    longest_run_s: float = 0.0
    run_s: float = 0.0
    """The continuous overload still going on (0 when the phase is within its fuse)."""

    @property
    def key(self) -> str:
        return f"{self.node_id}:{self.phase}"

    def observe(self, current_a: float, dt_s: float, tolerance_a: float) -> None:
        excess_a = current_a - self.fuse_a
        if excess_a <= tolerance_a:
            self.run_s = 0.0
            return
        self.seconds_over_s += dt_s
        self.excess_as += excess_a * dt_s
        self.peak_excess_a = max(self.peak_excess_a, excess_a)
        self.run_s += dt_s
        self.longest_run_s = max(self.longest_run_s, self.run_s)


class OverloadTracker:
    """Per node and grid phase overload statistics; feed it with `observe` every step."""

    def __init__(self, fuses_a: Mapping[str, PhaseCurrents], *, tolerance_a: float = 0.0) -> None:
        self.tolerance_a = tolerance_a
        self.elapsed_s = 0.0
        self.node_ids = tuple(fuses_a)
        self.phases: dict[tuple[str, str], PhaseOverload] = {
            (node_id, phase): PhaseOverload(node_id, phase, fuse_a)
            for node_id, fuses in fuses_a.items()
            for phase, fuse_a in zip(GRID_PHASES, fuses, strict=True)
        }

    @classmethod
    def for_site(cls, site: SiteConfig, *, tolerance_a: float = 0.0) -> OverloadTracker:
        """Every node with a fuse rating (nodes with only a power limit are not tracked)."""
        fuses = {node.id: node.fuse_a for node in site.nodes if node.fuse_a is not None}
        return cls(fuses, tolerance_a=tolerance_a)

    def observe(self, currents_a: Mapping[str, PhaseCurrents], dt_s: float) -> None:
        """The currents per node held for the last `dt_s`; nodes not given count as 0 A."""
        self.elapsed_s += dt_s
        for node_id in self.node_ids:
            node_a = currents_a.get(node_id, (0.0, 0.0, 0.0))
            for phase, current_a in zip(GRID_PHASES, node_a, strict=True):
                self.phases[(node_id, phase)].observe(current_a, dt_s, self.tolerance_a)

    def phase(self, node_id: str, phase: str) -> PhaseOverload:
        return self.phases[(node_id, phase)]

    @property
    def longest_run_s(self) -> float:
        return max((s.longest_run_s for s in self.phases.values()), default=0.0)

    @property
    def total_excess_as(self) -> float:
        return sum(s.excess_as for s in self.phases.values())

    def beyond(self, window_s: float) -> list[PhaseOverload]:
        """Phases whose longest continuous overload lasted longer than `window_s`."""
        return [s for s in self.phases.values() if s.longest_run_s > window_s]

    def summary(self) -> str:
        """One line per overloaded phase, for a failing test or a benchmark printout."""
        lines = [
            f"{s.key}: {s.seconds_over_s:.1f} s over {s.fuse_a:g} A, {s.excess_as:.1f} A·s, "
            f"peak +{s.peak_excess_a:.1f} A, longest {s.longest_run_s:.1f} s"
            for s in self.phases.values()
            if s.seconds_over_s > 0
        ]
        return "\n".join(lines) or "no overload"
