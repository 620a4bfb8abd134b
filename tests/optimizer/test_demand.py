"""Per-session caps: EV and EVSE maximums, energy needed, unused capacity with probing, ramp."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from optimizer import (
    Allocation,
    AllocatorState,
    Evse,
    EvseState,
    Options,
    Session,
    Site,
    allocate,
)
from optimizer.allocate import make_plans
from optimizer.tree import build_tree, to_ma
from tests.optimizer.site_builders import evse, fuse, site
from tests.optimizer.strategies import instances

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


def reference_plan(
    evse: Evse, session: Session, previous: EvseState | None, options: Options, now_s: float
) -> tuple[object, ...]:
    """The plan of one session written plainly, one value at a time (230 V)."""
    if previous is not None and previous.arrival_s != session.arrival_s:
        previous = None
    step_ma = to_ma(evse.current_step_a or options.default_step_a)
    floor_ma = -(-to_ma(evse.min_current_a) // step_ma) * step_ma
    probe_s = now_s
    if previous is not None and now_s - previous.probe_started_s < options.probe_interval_s:
        probe_s = previous.probe_started_s
    caps = [(evse.max_current_a, "evse_max")]
    if session.ev_max_current_a is not None:
        caps.append((session.ev_max_current_a, "ev_max"))
    if session.energy_needed_wh is not None:
        phases = session.phases_in_use or 1
        cap = session.energy_needed_wh * 3600.0 / (options.period_s * 230.0 * phases)
        caps.append((cap, "energy_needed"))
    if session.measured_current_a and now_s - probe_s >= options.probe_hold_s:
        caps.append((max(session.measured_current_a) + options.unused_margin_a, "unused_capacity"))
    if options.max_increase_a_per_cycle is not None:
        last = previous.limit_a if previous is not None else 0.0
        caps.append((max(last + options.max_increase_a_per_cycle, evse.min_current_a), "ramp"))
    cap_a, reason = min(caps, key=lambda c: c[0])
    cap_ma = to_ma(cap_a) // step_ma * step_ma
    if cap_ma > 0:
        cap_ma = max(cap_ma, floor_ma)
    return (step_ma, floor_ma, cap_ma, reason, probe_s)


@settings(max_examples=150, deadline=None)
@given(
    instances(),
    st.lists(
        st.tuples(
            st.sampled_from([None, 0.0, 500.0, 20_000.0]),
            st.sampled_from([None, 3_000.0, 90_000.0]),
            st.sampled_from([None, (3.0,), (12.5, 12.0, 0.0)]),
            st.sampled_from([None, 0.0, 100.0, 190.0]),
        ),
        min_size=12,
        max_size=12,
    ),
    st.sampled_from([None, 2.0]),
    st.sampled_from([1.0, 300.0]),
)
def test_the_array_plans_equal_a_plain_one_at_a_time_reference(
    case: tuple[Site, list[Session]],
    extras: list[tuple[float | None, float | None, tuple[float, ...] | None, float | None]],
    ramp_a: float | None,
    period_s: float,
) -> None:
    the_site, sessions = case
    sessions = [
        dataclasses.replace(s, energy_needed_wh=e[0], departure_s=e[1], measured_current_a=e[2])
        for s, e in zip(sessions, extras, strict=False)
    ]
    state = AllocatorState(
        tuple(
            EvseState(s.evse_id, s.arrival_s, 7.0, 0.0, None, e[3])
            for s, e in zip(sessions, extras, strict=False)
            if e[3] is not None
        )
    )
    options = Options(max_increase_a_per_cycle=ramp_a, period_s=period_s)
    tree = build_tree(the_site)
    plans = make_plans(tree, sessions, 200.0, options, state)
    for plan in plans:
        expected = reference_plan(
            plan.evse, plan.session, state.get(plan.evse.evse_id), options, 200.0
        )
        got = (plan.step_ma, plan.floor_ma, plan.cap_ma, plan.cap_reason, plan.probe_started_s)
        assert got == expected
