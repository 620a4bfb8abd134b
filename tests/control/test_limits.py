from __future__ import annotations

from localctl.config.site import SiteConfig, StationConfig
from localctl.control.limits import CycleInputs, evse_key, wanted_limits
from localctl.control.planner import InstalledLimit, WantedLimit
from localctl.site.to_optimizer import EvseMode
from optimizer.model import AllocatorState
from optimizer.result import Allocation, EvseAllocation

SITE = SiteConfig.model_validate(
    {
        "nodes": [{"id": "main", "kind": "grid_connection", "fuse_a": 63}],
        "evses": [
            {"id": "a", "node": "main"},
            {"id": "b", "node": "main", "phases": 1, "wiring": ["L2"]},
            {"id": "c", "node": "main", "phases": 1, "wiring": ["L2"]},
        ],
    }
)
STATIONS = (
    StationConfig(id="CP-1", evses={1: "a", 2: "b"}),
    StationConfig(id="CP-2", evses={1: "c"}),
)


def allocation(**limits_a: float) -> Allocation:
    evses = tuple(
        EvseAllocation(
            evse_id, limit_a, (limit_a,), (limit_a, limit_a, limit_a), 3, "node:main:L1:fuse"
        )
        for evse_id, limit_a in sorted(limits_a.items())
    )
    return Allocation(evses, (), AllocatorState(), "fast")


def inputs(**overrides: object) -> CycleInputs:
    defaults: dict[str, object] = {
        "allocation": allocation(a=20.0, b=16.0, c=10.0),
        "evse_modes": {},
        "floors_a": {"a": 6.0, "b": 8.0, "c": 8.0},
        "installed": {},
        "csms_evse_limit_a": {},
        "csms_station_limit_a": {},
        "with_session": frozenset({"a", "b", "c"}),
    }
    return CycleInputs(**{**defaults, **overrides})  # type: ignore[arg-type]


def test_allocations_become_evse_limits_and_station_leases_per_worst_phase() -> None:
    wanted = wanted_limits(SITE, STATIONS, inputs())
    assert wanted.evses["a"] == WantedLimit(20.0, 3)
    assert wanted.why["a"] == "node:main:L1:fuse"
    # CP-1: a loads L1..L3 with 20 A, b adds 16 A on L2: the worst phase carries 36 A.
    assert wanted.stations == {"CP-1": WantedLimit(36.0, 3), "CP-2": WantedLimit(10.0, 3)}
    assert wanted.floors == {"CP-1": WantedLimit(14.0, 3), "CP-2": WantedLimit(8.0, 3)}


def test_an_evse_without_a_session_holds_zero() -> None:
    wanted = wanted_limits(SITE, STATIONS, inputs(with_session=frozenset({"a"})))
    assert wanted.evses["b"] == WantedLimit(0.0, 1) and wanted.why["b"] == "no_session"


def test_lost_input_means_floors_and_stale_input_means_no_increase() -> None:
    modes = {"a": EvseMode.FLOORS, "b": EvseMode.HOLD, "c": EvseMode.HOLD}
    installed = {
        evse_key("b"): InstalledLimit(12.0, 1, 1e9),
        evse_key("c"): InstalledLimit(13.0, 1, 1e9),
    }
    wanted = wanted_limits(SITE, STATIONS, inputs(evse_modes=modes, installed=installed))
    assert (wanted.evses["a"].limit_a, wanted.why["a"]) == (6.0, "fallback_floor")
    assert (wanted.evses["b"].limit_a, wanted.why["b"]) == (12.0, "stale_input_hold")
    assert (wanted.evses["c"].limit_a, wanted.why["c"]) == (
        10.0,
        "node:main:L1:fuse",
    )  # decrease ok


def test_the_lower_of_csms_and_local_limits_wins() -> None:
    wanted = wanted_limits(
        SITE,
        STATIONS,
        inputs(csms_evse_limit_a={"a": 13.0, "b": 30.0}, csms_station_limit_a={"CP-1": 25.0}),
    )
    assert (wanted.evses["a"].limit_a, wanted.why["a"]) == (13.0, "csms_profile")
    assert wanted.evses["b"].limit_a == 16.0
    assert wanted.stations["CP-1"] == WantedLimit(25.0, 3)
    assert wanted.floors["CP-1"] == WantedLimit(14.0, 3)
