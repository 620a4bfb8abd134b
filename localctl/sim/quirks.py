"""How a simulated station model deviates from the specification, as data.

Real stations differ; the controller must cope with each of these, and the end-to-end tests
build stations with them rather than subclassing the station classes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StationQuirks:
    ignores_profiles: bool = False
    """Accepts every valid profile and reports it, but lets the EV draw as if unlimited."""
    watts_only: bool = False
    """Rejects profiles whose schedule is in A (its chargingRateUnit must be W)."""
    slow_apply_s: float = 0.0
    """A profile accepted now takes effect only this many seconds later."""
    max_stack_level: int = 8
    """Profiles above this stack level are rejected (1.6 ChargeProfileMaxStackLevel, 2.0.1
    SmartChargingCtrlr.ProfileStackLevel)."""

    def __post_init__(self) -> None:
        if self.slow_apply_s < 0 or self.max_stack_level < 0:
            raise ValueError("slow_apply_s and max_stack_level must not be negative")


COMPLIANT = StationQuirks()
