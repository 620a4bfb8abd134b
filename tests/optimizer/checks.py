"""Independent checks of an allocation against the site, written without the optimizer's tree."""

from __future__ import annotations

import math
from collections.abc import Sequence

from optimizer import Allocation, EvseAllocation, Session, Site

TOLERANCE_A = 1e-9


def subtree_of(site: Site, node_id: str) -> set[str]:
    parents = {node.node_id: node.parent_id for node in site.nodes}
    below = set()
    for candidate in parents:
        walker: str | None = candidate
        while walker is not None:
            if walker == node_id:
                below.add(candidate)
                break
            walker = parents[walker]
    return below


def overloads(site: Site, allocation: Allocation) -> list[str]:
    """Every node phase or power limit the allocation plus non-EV load exceeds."""
    found = []
    for node in site.nodes:
        below = subtree_of(site, node.node_id)
        load = [0.0, 0.0, 0.0]
        for other in site.nodes:
            if other.node_id in below:
                load = [a + b for a, b in zip(load, other.non_ev_load_a, strict=True)]
        for evse in site.evses:
            if evse.node_id in below:
                grid = allocation.evse(evse.evse_id).grid_current_a
                load = [a + b for a, b in zip(load, grid, strict=True)]
        for limit in node.limits:
            if limit.max_current_a is not None:
                for phase in range(3):
                    if load[phase] > limit.max_current_a[phase] + TOLERANCE_A:
                        found.append(f"{node.node_id}:L{phase + 1}:{limit.source}")
            if limit.max_power_w is not None:
                power_w = sum(load) * node.nominal_voltage_v
                if power_w > limit.max_power_w + TOLERANCE_A * node.nominal_voltage_v:
                    found.append(f"{node.node_id}:power:{limit.source}")
    return found


def effective_minimum_a(min_current_a: float, step_a: float | None) -> float:
    step = step_a or 0.1
    return math.ceil(round(min_current_a / step, 6)) * step


def lower_class_overreach(
    site: Site, sessions: Sequence[Session], allocation: Allocation
) -> list[tuple[EvseAllocation, EvseAllocation]]:
    """Pairs (bound EVSE, lower-class EVSE above its floor on the limit that bound it)."""
    priority = {s.evse_id: s.priority for s in sessions}
    evses = {e.evse_id: e for e in site.evses}
    found = []
    for entry in allocation.evses:
        if not entry.bound_by.startswith("node:") or entry.evse_id not in priority:
            continue
        _, node_id, kind, _ = entry.bound_by.split(":")
        below = subtree_of(site, node_id)
        for other in allocation.evses:
            lower = priority.get(other.evse_id, priority[entry.evse_id])
            if lower >= priority[entry.evse_id] or evses[other.evse_id].node_id not in below:
                continue
            if kind[0] == "L" and other.grid_current_a[int(kind[1]) - 1] == 0.0:
                continue
            evse = evses[other.evse_id]
            floor = effective_minimum_a(evse.min_current_a, evse.current_step_a)
            if other.limit_a > floor + 1e-9:
                found.append((entry, other))
    return found
