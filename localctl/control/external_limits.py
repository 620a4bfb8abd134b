"""When to tell the CSMS about limits an external system imposes (OCPP 2.0.1 use case K14).

K14.FR.02: when an external (EMS) limit starts, or changes by more than the significance
(LimitChangeSignificance, a fraction), the local controller informs the CSMS with
NotifyChargingLimit; K14.FR.03: when it is released, with ClearedChargingLimit. The limit
itself travels inside the controller's leases, so releasing it needs no separate profile to
clear (K14.FR.04 is met by the next lease, which no longer carries it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from localctl.site.state import SiteSnapshot


@dataclass(frozen=True, slots=True)
class ExternalLimitChange:
    node_id: str
    kind: str  # "notify" or "cleared"
    power_w: float | None = None
    current_a: tuple[float, float, float] | None = None


def active_external_limits(
    snapshot: SiteSnapshot,
) -> dict[str, tuple[float | None, tuple[float, float, float] | None]]:
    """Per node, the EMS limit in force (power W, current A); the lowest of several sources."""
    active: dict[str, tuple[float | None, tuple[float, float, float] | None]] = {}
    for view in snapshot.ems_limits:
        if view.expired:
            continue
        previous = active.get(view.node_id)
        limit = (view.limit.power_w, view.limit.current_a)
        active[view.node_id] = limit if previous is None else _lower(previous, limit)
    return active


def external_limit_changes(
    previous: Mapping[str, tuple[float | None, tuple[float, float, float] | None]],
    current: Mapping[str, tuple[float | None, tuple[float, float, float] | None]],
    significance: float,
) -> list[ExternalLimitChange]:
    changes = []
    for node_id in sorted(set(previous) | set(current)):
        before, now = previous.get(node_id), current.get(node_id)
        if now is None:
            changes.append(ExternalLimitChange(node_id, "cleared"))
        elif before is None or _significant(before, now, significance):
            changes.append(ExternalLimitChange(node_id, "notify", now[0], now[1]))
    return changes


def _significant(
    before: tuple[float | None, tuple[float, float, float] | None],
    now: tuple[float | None, tuple[float, float, float] | None],
    significance: float,
) -> bool:
    pairs = [(before[0], now[0])]
    if before[1] is not None or now[1] is not None:
        pairs += list(zip(before[1] or (None,) * 3, now[1] or (None,) * 3, strict=True))
    for old, new in pairs:
        if (old is None) != (new is None):
            return True
        if old is not None and new is not None and abs(new - old) > significance * max(old, 1e-9):
            return True
    return False


def _lower(
    a: tuple[float | None, tuple[float, float, float] | None],
    b: tuple[float | None, tuple[float, float, float] | None],
) -> tuple[float | None, tuple[float, float, float] | None]:
    power = min((p for p in (a[0], b[0]) if p is not None), default=None)
    if a[1] is None or b[1] is None:
        current = a[1] or b[1]
    else:
        current = (min(a[1][0], b[1][0]), min(a[1][1], b[1][1]), min(a[1][2], b[1][2]))
    return power, current
