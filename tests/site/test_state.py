from __future__ import annotations

from localctl.inputs.readings import InputFault
from localctl.site.state import InputStatus, SiteState
from tests.site.conftest import FakeClock, ems, reading


def make_state(clock: FakeClock) -> SiteState:
    return SiteState({"grid": "main", "sub": "sub-a"}, 10.0, 60.0, clock)


def test_an_unread_meter_counts_as_lost() -> None:
    state = make_state(FakeClock())
    assert [m.status for m in state.snapshot().meters] == [InputStatus.LOST, InputStatus.LOST]


def test_meter_ages_move_from_fresh_to_stale_to_lost() -> None:
    clock = FakeClock()
    state = make_state(clock)
    state.meter_reading(reading("grid", "main", (10, 10, 10), clock.now_s))
    statuses = []
    for advance_s in (0, 10, 0.5, 49.5, 0.5):
        clock.now_s += advance_s
        grid = next(m for m in state.snapshot().meters if m.meter_id == "grid")
        statuses.append(grid.status)
    assert statuses == [
        InputStatus.FRESH,
        InputStatus.FRESH,
        InputStatus.STALE,
        InputStatus.STALE,
        InputStatus.LOST,
    ]


def test_transitions_are_reported_once_each() -> None:
    clock = FakeClock()
    state = make_state(clock)
    first = state.transitions(state.snapshot())
    assert {(t.input_id, t.previous, t.current) for t in first} == {
        ("grid", None, InputStatus.LOST),
        ("sub", None, InputStatus.LOST),
    }
    state.meter_reading(reading("grid", "main", (1, 1, 1), clock.now_s))
    assert [(t.input_id, t.current) for t in state.transitions(state.snapshot())] == [
        ("grid", InputStatus.FRESH)
    ]
    assert state.transitions(state.snapshot()) == []
    clock.now_s += 11
    assert [(t.input_id, t.current) for t in state.transitions(state.snapshot())] == [
        ("grid", InputStatus.STALE)
    ]


def test_ems_limits_expire_and_the_expiry_is_a_transition() -> None:
    clock = FakeClock()
    state = make_state(clock)
    state.ems_limit(ems("main", 20_000, until_s=clock.now_s + 30))
    state.transitions(state.snapshot())
    assert not state.snapshot().ems_limits[0].expired
    clock.now_s += 30
    assert state.snapshot().ems_limits[0].expired
    changes = state.transitions(state.snapshot())
    assert [(t.input_id, t.current) for t in changes] == [("ems:main:vendor x", InputStatus.LOST)]


def test_faults_are_kept_with_their_meter_and_unknown_meters_are_refused() -> None:
    clock = FakeClock()
    state = make_state(clock)
    state.input_fault(InputFault("grid", "connection refused", clock.now_s))
    state.meter_reading(reading("ghost", "main", (1, 1, 1), clock.now_s))
    grid = next(m for m in state.snapshot().meters if m.meter_id == "grid")
    assert grid.last_fault is not None and grid.last_fault.description == "connection refused"
    assert all(m.meter_id != "ghost" for m in state.snapshot().meters)


def test_a_meter_jump_or_an_ems_limit_calls_for_a_reaction_and_small_changes_do_not() -> None:
    clock = FakeClock()
    state = make_state(clock)
    woken: list[float] = []
    state.on_change = lambda: woken.append(clock.now_s)
    state.meter_reading(reading("grid", "main", (10, 10, 10), clock.now_s))  # first reading
    state.meter_reading(reading("grid", "main", (11.5, 10, 10), clock.now_s))  # noise
    state.meter_reading(reading("grid", "main", (11.5, 14, 10), clock.now_s))  # a jump on L2
    state.ems_limit(ems("main", 20_000, until_s=clock.now_s + 30))
    assert len(woken) == 3
