"""A simulated electric vehicle behind an AC charging point, stepped by the caller.

Rules of this file:
- Pure and stepwise: `Ev.step(offered_a, dt_s)` advances the EV's own time by `dt_s` and
  returns the current it drew per phase over that step. No clock reads; the only randomness is
  the default reaction delay, drawn once from the `random.Random` given.
- A change of the offered current reaches the draw only after the reaction delay (IEC 61851-1
  gives the EV a few seconds to follow the pilot signal; real cars take 1 to 10 s).
- Below 6 A offered (IEC 61851-1), or below the EV's own minimum, the EV draws nothing.
- Above `taper_from_soc` the battery accepts less: the current the EV asks for falls linearly
  from its maximum to `taper_floor_a` at 100 %; a full battery draws nothing.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, replace

NOMINAL_VOLTAGE_V = 230.0
IEC_MIN_OFFER_A = 6.0
"""IEC 61851-1: the pilot signal cannot offer less than 6 A; below that the EV must not draw."""
REACTION_DELAY_RANGE_S = (1.0, 10.0)


@dataclass(frozen=True, slots=True)
class EvSpec:
    """What a car model can take. Currents are per phase."""

    name: str
    phases: int = 3
    min_current_a: float = IEC_MIN_OFFER_A
    max_current_a: float = 16.0
    capacity_wh: float = 60_000.0
    taper_from_soc: float = 0.8
    taper_floor_a: float | None = None
    """The current at 100 % state of charge; default: `min_current_a`."""
    shortfall_a: float = 0.0
    """How far under the offered current the onboard charger settles (real cars: a few
    tenths of an ampere); never below the car's minimum."""

    def __post_init__(self) -> None:
        if self.phases not in (1, 2, 3):
            raise ValueError(f"{self.name}: phases must be 1, 2 or 3")
        if not 0 <= self.min_current_a <= self.floor_a <= self.max_current_a:
            raise ValueError(f"{self.name}: needs min_current_a <= taper_floor_a <= max_current_a")
        if self.capacity_wh <= 0 or not 0 < self.taper_from_soc <= 1:
            raise ValueError(f"{self.name}: capacity_wh > 0 and 0 < taper_from_soc <= 1")
        if self.shortfall_a < 0:
            raise ValueError(f"{self.name}: shortfall_a must not be negative")

    @property
    def floor_a(self) -> float:
        return self.min_current_a if self.taper_floor_a is None else self.taper_floor_a

    def on_phases(self, supply_phases: int) -> EvSpec:
        """The same car on a supply with fewer conductors (a 3-phase car on a 1-phase EVSE)."""
        return replace(self, phases=min(self.phases, supply_phases))

    def battery_limit_a(self, soc: float) -> float:
        """The current per phase the battery accepts at state of charge `soc` (0..1)."""
        if soc >= 1.0:
            return 0.0
        if soc <= self.taper_from_soc:
            return self.max_current_a
        fraction = (soc - self.taper_from_soc) / (1.0 - self.taper_from_soc)
        return self.max_current_a - fraction * (self.max_current_a - self.floor_a)


EV_SPECS: tuple[EvSpec, ...] = (
    EvSpec("compact 1x16 A", phases=1, max_current_a=16.0, capacity_wh=40_000.0, shortfall_a=0.3),
    EvSpec("van 1x32 A", phases=1, max_current_a=32.0, capacity_wh=75_000.0, shortfall_a=0.5),
    EvSpec("sedan 3x16 A", phases=3, max_current_a=16.0, capacity_wh=60_000.0, shortfall_a=0.2),
    EvSpec("suv 3x32 A", phases=3, max_current_a=32.0, capacity_wh=90_000.0, shortfall_a=0.4),
    EvSpec("hybrid 1x13 A", phases=1, min_current_a=8.0, max_current_a=13.0, capacity_wh=12_000.0),
)
"""A few typical cars for random arrivals."""


class Ev:
    """One car plugged in: its battery and how it follows the offered current.

    `reaction_delay_s` defaults to a draw from `rng` in 1..10 s; give one of the two.
    """

    def __init__(
        self,
        spec: EvSpec,
        *,
        soc: float = 0.5,
        reaction_delay_s: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if reaction_delay_s is None:
            if rng is None:
                raise ValueError("give reaction_delay_s or an rng to draw it from")
            reaction_delay_s = rng.uniform(*REACTION_DELAY_RANGE_S)
        self.spec = spec
        self.soc = min(max(soc, 0.0), 1.0)
        self.reaction_delay_s = reaction_delay_s
        self.energy_wh = 0.0
        """Energy taken since plug-in."""
        self._time_s = 0.0
        self._seen_offer_a = 0.0
        # Offers not yet followed, oldest first: (time the EV follows it, offered current).
        self._pending: deque[tuple[float, float]] = deque()
        self._followed_offer_a = 0.0

    @property
    def followed_offer_a(self) -> float:
        """The offered current the EV currently acts on (the offer of `reaction_delay_s` ago)."""
        return self._followed_offer_a

    @property
    def full(self) -> bool:
        return self.soc >= 1.0

    def step(self, offered_a: float, dt_s: float) -> tuple[float, ...]:
        """Advance by `dt_s` with `offered_a` per phase offered; the current drawn per phase."""
        if dt_s < 0:
            raise ValueError("dt_s must not be negative")
        if offered_a != self._seen_offer_a:
            self._seen_offer_a = offered_a
            self._pending.append((self._time_s + self.reaction_delay_s, offered_a))
        self._time_s += dt_s
        while self._pending and self._pending[0][0] <= self._time_s:
            self._followed_offer_a = self._pending.popleft()[1]
        drawn_a = self._draw_a(self._followed_offer_a)
        self._charge(drawn_a * self.spec.phases, dt_s)
        return (drawn_a,) * self.spec.phases

    def _draw_a(self, offer_a: float) -> float:
        spec = self.spec
        if offer_a < max(IEC_MIN_OFFER_A, spec.min_current_a):
            return 0.0
        settled_a = max(spec.min_current_a, offer_a - spec.shortfall_a)
        return min(settled_a, spec.battery_limit_a(self.soc))

    def _charge(self, total_a: float, dt_s: float) -> None:
        energy_wh = total_a * NOMINAL_VOLTAGE_V * dt_s / 3600.0
        self.energy_wh += energy_wh
        self.soc = min(1.0, self.soc + energy_wh / self.spec.capacity_wh)
