from __future__ import annotations

from localctl.control.limits import WantedLimits
from localctl.control.overrides import (
    PAUSED,
    NodeOverride,
    OperatorOverrides,
    SessionOverride,
)
from localctl.control.planner import WantedLimit
from optimizer.model import NodeLimit, Session


def sessions() -> list[Session]:
    return [
        Session("a", arrival_s=0.0, priority=0, departure_s=900.0, energy_needed_wh=1000.0),
        Session("b", arrival_s=1.0),
    ]


def test_a_node_limit_holds_until_it_expires_and_is_then_forgotten() -> None:
    overrides = OperatorOverrides()
    overrides.limit_node(NodeOverride("main", 16.0, None, until_s=100.0))
    assert overrides.active_node_limits(99.9) == {
        "main": NodeLimit("operator", max_current_a=(16.0, 16.0, 16.0))
    }
    assert overrides.active_node_limits(100.0) == {}
    assert overrides.node_limits == {}


def test_session_fields_left_unset_keep_what_the_station_reported() -> None:
    overrides = OperatorOverrides()
    overrides.set_session("a", SessionOverride(priority=3))
    a, b = overrides.adjust(sessions())
    assert (a.priority, a.departure_s, a.energy_needed_wh) == (3, 900.0, 1000.0)
    assert b == sessions()[1]
    overrides.set_session("a", SessionOverride())  # nothing set: the override is dropped
    assert overrides.sessions == {}


def test_a_paused_evse_leaves_the_optimizer_and_reads_operator_pause() -> None:
    overrides = OperatorOverrides()
    overrides.pause("a")
    assert [s.evse_id for s in overrides.adjust(sessions())] == ["b"]
    wanted = WantedLimits(
        {"a": WantedLimit(0.0, 3), "b": WantedLimit(10.0, 3)}, {}, {}, {"a": "no_session", "b": "x"}
    )
    assert overrides.label(wanted).why == {"a": PAUSED, "b": "x"}
    overrides.resume("a")
    assert overrides.label(wanted) is wanted


def test_every_change_wakes_the_loop() -> None:
    woken: list[int] = []
    overrides = OperatorOverrides()
    overrides.on_change = lambda: woken.append(1)
    overrides.limit_node(NodeOverride("main", None, 5000.0, until_s=1.0))
    overrides.clear_node_limit("main")
    overrides.set_session("a", SessionOverride(energy_needed_wh=1.0))
    overrides.pause("a")
    overrides.resume("a")
    assert len(woken) == 5
