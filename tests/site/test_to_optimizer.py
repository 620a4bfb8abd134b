from __future__ import annotations

import pytest

from localctl.config.control import ControlConfig
from localctl.site.state import SiteState
from localctl.site.to_optimizer import EvseMode, NonEvHold, build_control_input, grid_draw_a
from tests.site.conftest import CONTROL, FakeClock, ems, office_site, reading


def state_with(clock: FakeClock) -> SiteState:
    return SiteState(
        {"grid": "main", "sub": "sub-a"}, CONTROL.meter_stale_s, CONTROL.meter_lost_s, clock
    )


def test_non_ev_load_is_what_the_meters_see_minus_what_is_known_below() -> None:
    clock = FakeClock()
    state = state_with(clock)
    # sub-a meter: 30 A per phase, of which a1 draws 16 A on every phase and a2 10 A on L2.
    state.meter_reading(reading("sub", "sub-a", (30, 40, 30), clock.now_s))
    # main meter sees sub-a (30/40/30), b1 (8 A on each phase) and 20 A of other load on L1.
    state.meter_reading(reading("grid", "main", (58, 48, 38), clock.now_s))
    draw = {"a1": (16.0, 16.0, 16.0), "a2": (0.0, 10.0, 0.0), "b1": (8.0, 8.0, 8.0)}
    result = build_control_input(office_site(), CONTROL, state.snapshot(), draw)
    loads = {n.node_id: n.non_ev_load_a for n in result.site.nodes}
    assert loads["sub-a"] == pytest.approx((14, 14, 14))
    assert loads["main"] == pytest.approx((20, 0, 0))
    assert loads["sub-b"] == (0.0, 0.0, 0.0)
    assert set(result.evse_modes.values()) == {EvseMode.NORMAL}


def test_non_ev_load_never_goes_negative() -> None:
    clock = FakeClock()
    state = state_with(clock)
    state.meter_reading(reading("grid", "main", (5, 5, 5), clock.now_s))
    state.meter_reading(reading("sub", "sub-a", (0, 0, 0), clock.now_s))
    draw = {"b1": (8.0, 8.0, 8.0)}  # the meter lags the EVs: never a negative load
    result = build_control_input(office_site(), CONTROL, state.snapshot(), draw)
    assert {n.node_id: n.non_ev_load_a for n in result.site.nodes}["main"] == (0.0, 0.0, 0.0)


def test_stale_meter_holds_and_lost_meter_falls_back_below_its_node_only() -> None:
    clock = FakeClock()
    state = state_with(clock)
    state.meter_reading(reading("grid", "main", (1, 1, 1), clock.now_s + 50))
    state.meter_reading(reading("sub", "sub-a", (1, 1, 1), clock.now_s))
    clock.now_s += 55  # sub: 55 s old (stale); grid: 5 s old (fresh)
    result = build_control_input(office_site(), CONTROL, state.snapshot(), {})
    assert result.evse_modes == {"a1": EvseMode.HOLD, "a2": EvseMode.HOLD, "b1": EvseMode.NORMAL}
    assert result.mode_reasons["a1"] == "meter sub stale (55 s)"
    clock.now_s += 10  # sub: 65 s (lost); grid: 15 s (stale)
    result = build_control_input(office_site(), CONTROL, state.snapshot(), {})
    assert result.evse_modes == {"a1": EvseMode.FLOORS, "a2": EvseMode.FLOORS, "b1": EvseMode.HOLD}


def test_an_unread_meter_puts_everything_below_on_floors() -> None:
    state = state_with(FakeClock())
    result = build_control_input(office_site(), CONTROL, state.snapshot(), {})
    assert set(result.evse_modes.values()) == {EvseMode.FLOORS}
    assert result.mode_reasons["b1"] == "meter grid not read yet"


def test_valid_ems_limit_joins_the_fuse_and_an_expired_one_gives_the_safe_limit() -> None:
    clock = FakeClock()
    state = state_with(clock)
    state.meter_reading(reading("grid", "main", (0, 0, 0), clock.now_s))
    state.meter_reading(reading("sub", "sub-a", (0, 0, 0), clock.now_s))
    state.ems_limit(ems("main", 30_000, until_s=clock.now_s + 5))
    control = ControlConfig(meter_stale_s=10, meter_lost_s=60, ems_safe_power_w=11_000)
    result = build_control_input(office_site(), control, state.snapshot(), {})
    main = next(n for n in result.site.nodes if n.node_id == "main")
    assert [(limit.source, limit.max_power_w) for limit in main.limits] == [
        ("fuse", None),
        ("ems-vendor_x", 30_000),
    ]
    clock.now_s += 5
    result = build_control_input(office_site(), control, state.snapshot(), {})
    main = next(n for n in result.site.nodes if n.node_id == "main")
    assert [(limit.source, limit.max_power_w) for limit in main.limits] == [
        ("fuse", None),
        ("ems_safe", 11_000),
    ]
    result = build_control_input(office_site(), CONTROL, state.snapshot(), {})
    assert set(result.evse_modes.values()) == {EvseMode.FLOORS}  # no safe limit: floors


def test_evse_wiring_maps_to_grid_phases() -> None:
    site = office_site()
    b1 = next(e for e in site.evses if e.id == "b1")
    a2 = next(e for e in site.evses if e.id == "a2")
    assert grid_draw_a(b1, (10.0, 20.0, 30.0)) == (20.0, 30.0, 10.0)
    assert grid_draw_a(a2, (16.0,)) == (0.0, 16.0, 0.0)
    optimizer_b1 = next(
        e
        for e in build_control_input(
            site, CONTROL, state_with(FakeClock()).snapshot(), {}
        ).site.evses
        if e.evse_id == "b1"
    )
    assert optimizer_b1.phase_map == (2, 0, 1)


def test_the_non_ev_load_estimate_holds_its_peak_while_evs_follow_a_decrease() -> None:
    hold = NonEvHold(hold_s=10.0)
    assert hold.apply("main", (20.0, 5.0, 5.0), now_s=0.0) == (20.0, 5.0, 5.0)
    # The meter already sees the EVs' decrease, the stations still report the old draw.
    assert hold.apply("main", (8.0, 5.0, 6.0), now_s=3.0) == (20.0, 5.0, 6.0)
    assert hold.apply("main", (8.0, 5.0, 5.0), now_s=10.5) == (8.0, 5.0, 6.0)
    assert hold.apply("main", (8.0, 5.0, 5.0), now_s=13.5) == (8.0, 5.0, 5.0)
