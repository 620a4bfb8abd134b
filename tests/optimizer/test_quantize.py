"""Rounding to each EVSE's step: never above a limit, leftover handed back fairly."""

from __future__ import annotations

from optimizer import Session, allocate
from tests.optimizer.site_builders import evse, fuse, site


def test_limits_round_down_to_a_tenth_of_an_amp_by_default() -> None:
    the_site = site(fuse("main", 20.0), evses=tuple(evse(e, phase_map=(0,)) for e in "abc"))
    allocation = allocate(the_site, [Session(e, 0.0) for e in "abc"], now_s=0.0)
    # 20 / 3 = 6.67: all three get 6.6 A; the 0.2 A left cannot go to all three alike.
    assert [entry.limit_a for entry in allocation.evses] == [6.6, 6.6, 6.6]
    assert allocation.node("main").headroom_a[0] == 0.2


def test_an_evse_with_a_one_amp_step_rounds_down_and_the_others_take_the_rest() -> None:
    the_site = site(
        fuse("main", 20.0),
        evses=(evse("coarse", phase_map=(0,), step_a=1.0), evse("fine", phase_map=(0,))),
    )
    sessions = [Session("coarse", 0.0), Session("fine", 0.0)]
    allocation = allocate(the_site, sessions, now_s=0.0)
    assert allocation.evse("coarse").limit_a == 10.0
    assert allocation.evse("fine").limit_a == 10.0
    odd = site(fuse("main", 21.0), evses=the_site.evses)
    allocation = allocate(odd, sessions, now_s=0.0)
    assert allocation.evse("coarse").limit_a == 10.0
    assert allocation.evse("fine").limit_a == 11.0


def test_a_minimum_off_the_step_grid_is_rounded_up_so_it_is_never_undercut() -> None:
    the_site = site(fuse("main", 16.0), evses=(evse("a", phase_map=(0,), min_a=6.2, step_a=1.0),))
    allocation = allocate(the_site, [Session("a", 0.0, ev_max_current_a=6.5)], now_s=0.0)
    assert allocation.evse("a").limit_a == 7.0
