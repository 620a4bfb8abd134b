"""Which limits to send this cycle: a pure function of wanted and installed limits.

- A decrease is always sent, and sent first: breakers do not wait.
- An increase is sent only if it is at least `min_increase_a` (hysteresis against chatter).
- A limit whose lease is about to run out is sent again even if unchanged, so it never lapses
  while the controller is alive.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from localctl.control.strategy import ProfileStrategy

_SAME_A = 0.05


@dataclass(frozen=True, slots=True)
class WantedLimit:
    limit_a: float
    phases: int


@dataclass(frozen=True, slots=True)
class InstalledLimit:
    limit_a: float
    phases: int
    lease_until_s: float


@dataclass(frozen=True, slots=True)
class LimitChange:
    key: str
    limit_a: float
    phases: int
    is_decrease: bool
    reason: str  # decrease, increase, renewal, phases, new


def plan_changes(
    wanted: Mapping[str, WantedLimit],
    installed: Mapping[str, InstalledLimit],
    strategy: ProfileStrategy,
    now_s: float,
) -> list[LimitChange]:
    """Changes to send, decreases first; each group in key order (deterministic)."""
    changes = [
        change
        for key in sorted(wanted)
        if (change := _change(key, wanted[key], installed.get(key), strategy, now_s)) is not None
    ]
    return sorted(changes, key=lambda c: (not c.is_decrease, c.key))


def _change(
    key: str,
    wanted: WantedLimit,
    installed: InstalledLimit | None,
    strategy: ProfileStrategy,
    now_s: float,
) -> LimitChange | None:
    if installed is None:
        return LimitChange(key, wanted.limit_a, wanted.phases, is_decrease=True, reason="new")
    if wanted.limit_a < installed.limit_a - _SAME_A:
        return LimitChange(key, wanted.limit_a, wanted.phases, is_decrease=True, reason="decrease")
    if wanted.phases != installed.phases:
        is_decrease = wanted.phases < installed.phases
        return LimitChange(key, wanted.limit_a, wanted.phases, is_decrease, reason="phases")
    if wanted.limit_a >= installed.limit_a + strategy.min_increase_a:
        return LimitChange(key, wanted.limit_a, wanted.phases, is_decrease=False, reason="increase")
    if installed.lease_until_s - now_s <= strategy.renew_before_s:
        # Renew at what is installed: a sub-threshold increase waits for the next real change.
        limit_a = min(wanted.limit_a, installed.limit_a)
        return LimitChange(key, limit_a, wanted.phases, is_decrease=False, reason="renewal")
    return None
