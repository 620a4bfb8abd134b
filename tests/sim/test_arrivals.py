from __future__ import annotations

import itertools
import random

from localctl.sim.arrivals import random_arrivals
from localctl.sim.ev import EV_SPECS


def test_random_arrivals_repeat_with_the_seed_and_never_overlap_on_an_evse() -> None:
    first = random_arrivals(random.Random(3), ["e1", "e2"], horizon_s=86_400.0)
    assert first == random_arrivals(random.Random(3), ["e1", "e2"], horizon_s=86_400.0)
    for evse_id in ("e1", "e2"):
        mine = [a for a in first if a.evse_id == evse_id]
        assert all(a.leaves_s <= b.at_s for a, b in itertools.pairwise(mine))
    assert first == sorted(first, key=lambda a: a.at_s)


def test_random_arrivals_draw_cars_from_the_given_specs_within_the_horizon() -> None:
    arrivals = random_arrivals(random.Random(9), ["e1"], horizon_s=3 * 86_400.0, specs=EV_SPECS[:1])
    assert arrivals
    assert {a.ev for a in arrivals} == {EV_SPECS[0]}
    assert all(0 <= a.at_s < 3 * 86_400.0 and 0.1 <= a.soc <= 0.8 for a in arrivals)
    assert len({a.id_token for a in arrivals}) == len(arrivals)
