"""Who plugs in where and when: scripted lists for tests, or drawn from a seeded rng.

An `Arrival` is one charging session: the EV arrives at `at_s` (simulated seconds), plugs
into `evse_id`, authorizes with `id_token`, and leaves `stay_s` later whether full or not.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from localctl.sim.ev import EV_SPECS, EvSpec


@dataclass(frozen=True, slots=True)
class Arrival:
    at_s: float
    evse_id: str
    ev: EvSpec
    stay_s: float = 3600.0
    soc: float = 0.3
    reaction_delay_s: float | None = None
    """None: drawn from the site's rng when the EV arrives."""
    id_token: str = "04A1B2C3D4E5F6"

    @property
    def leaves_s(self) -> float:
        return self.at_s + self.stay_s


def random_arrivals(
    rng: random.Random,
    evse_ids: Sequence[str],
    *,
    horizon_s: float,
    mean_idle_s: float = 1800.0,
    stay_s: tuple[float, float] = (1800.0, 4 * 3600.0),
    specs: Sequence[EvSpec] = EV_SPECS,
) -> list[Arrival]:
    """Per EVSE: idle for an exponential time (mean `mean_idle_s`), a session of a uniform
    length in `stay_s`, idle again, ... until `horizon_s`. Sorted by arrival time."""
    arrivals: list[Arrival] = []
    for index, evse_id in enumerate(evse_ids):
        time_s = rng.expovariate(1.0 / mean_idle_s)
        while time_s < horizon_s:
            stay = rng.uniform(*stay_s)
            token = f"04{index:04X}{len(arrivals):08X}"
            ev = rng.choice(list(specs))
            soc = rng.uniform(0.1, 0.8)
            arrivals.append(Arrival(time_s, evse_id, ev, stay, soc, None, token))
            time_s += stay + rng.expovariate(1.0 / mean_idle_s)
    return sorted(arrivals, key=lambda arrival: arrival.at_s)
