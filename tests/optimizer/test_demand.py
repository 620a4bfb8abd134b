"""Per-session caps: EV and EVSE maximums, energy needed, unused capacity with probing, ramp."""

from __future__ import annotations

from optimizer import Allocation, AllocatorState, Options, Session, allocate
from tests.optimizer.site_builders import evse, fuse, site

PAIR = site(
    fuse("main", 32.0), evses=(evse("taper", phase_map=(0,)), evse("other", phase_map=(0,)))
)


def run(
    sessions: list[Session], now_s: float, state: AllocatorState, **options: float
) -> Allocation:
    return allocate(PAIR, sessions, now_s, Options(**options), state)  # type: ignore[arg-type]


def test_a_session_drawing_less_than_allowed_is_capped_at_draw_plus_margin() -> None:
    tapering = Session("taper", 0.0, measured_current_a=(5.0,))
    first = run([tapering, Session("other", 0.0)], 0.0, AllocatorState())
    # During the first probe window it keeps its fair share.
    assert first.evse("taper").limit_a == 16.0
    later = run([tapering, Session("other", 0.0)], 60.0, first.state)
    assert later.evse("taper").limit_a == 7.0
    assert later.evse("taper").bound_by == "unused_capacity"
    assert later.evse("other").limit_a == 25.0


def test_a_capped_session_is_probed_upward_periodically_so_it_can_recover() -> None:
    tapering = Session("taper", 0.0, measured_current_a=(5.0,))
    sessions = [tapering, Session("other", 0.0)]
    state = run(sessions, 0.0, AllocatorState()).state
    limits = {}
    for now_s in (60.0, 299.0, 300.0, 320.0, 340.0):
        allocation = run(sessions, now_s, state, probe_interval_s=300.0, probe_hold_s=30.0)
        state = allocation.state
        limits[now_s] = allocation.evse("taper").limit_a
    assert limits == {60.0: 7.0, 299.0: 7.0, 300.0: 16.0, 320.0: 16.0, 340.0: 7.0}


def test_a_new_session_at_the_same_evse_starts_fresh() -> None:
    tapering = Session("taper", 0.0, measured_current_a=(5.0,))
    state = run([tapering], 0.0, AllocatorState()).state
    state = run([tapering], 60.0, state).state
    newcomer = Session("taper", 100.0, measured_current_a=(0.0,))
    assert run([newcomer], 101.0, state).evse("taper").limit_a == 32.0


def test_increases_are_limited_per_cycle_and_decreases_are_immediate() -> None:
    alone = [Session("taper", 0.0)]
    first = run(alone, 0.0, AllocatorState(), max_increase_a_per_cycle=4.0)
    assert first.evse("taper").limit_a == 6.0
    assert first.evse("taper").bound_by == "ramp"
    second = run(alone, 1.0, first.state, max_increase_a_per_cycle=4.0)
    assert second.evse("taper").limit_a == 10.0
    crowded = [*alone, Session("other", 0.0)]
    third = run(crowded, 2.0, second.state, max_increase_a_per_cycle=4.0)
    assert third.evse("taper").limit_a == 14.0
    assert third.evse("other").limit_a == 6.0
    squeezed = allocate(
        site(fuse("main", 12.0), evses=PAIR.evses),
        crowded,
        3.0,
        Options(max_increase_a_per_cycle=4.0),
        third.state,
    )
    assert squeezed.evse("taper").limit_a == 6.0


def test_the_energy_cap_never_gives_more_than_the_remaining_energy_within_one_period() -> None:
    almost_full = Session("taper", 0.0, phases_in_use=1, energy_needed_wh=230.0)
    allocation = run([almost_full, Session("other", 0.0)], 0.0, AllocatorState(), period_s=300.0)
    # 230 Wh in 300 s at 230 V on one phase is 12 A.
    assert allocation.evse("taper").limit_a == 12.0
    assert allocation.evse("taper").bound_by == "energy_needed"
    assert allocation.evse("other").limit_a == 20.0


def test_an_ev_maximum_below_the_evse_minimum_still_gets_the_minimum() -> None:
    weak = Session("taper", 0.0, ev_max_current_a=4.0)
    allocation = run([weak], 0.0, AllocatorState())
    assert allocation.evse("taper").limit_a == 6.0
    assert allocation.evse("taper").bound_by == "ev_max"
