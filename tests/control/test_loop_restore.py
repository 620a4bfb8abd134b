"""What the control loop believes a station holds after a restart, and how it plans from it."""

from __future__ import annotations

from localctl.clocks import Clocks
from localctl.config.model import LocalctlConfig
from localctl.control.planner import WantedLimit, plan_changes
from localctl.control.state_records import InstallRecord
from localctl.control.strategy import STRATEGIES
from localctl.relay.events import LinkOpened
from localctl.relay.versions import OcppVersion
from localctl.service import Controller

WALL_S = 1_800_000_000.0


def restarted_controller() -> Controller:
    config = LocalctlConfig.model_validate(
        {
            "relay": {"listen": "127.0.0.1:0", "upstream_url": "ws://127.0.0.1:1/ocpp"},
            "site": {
                "nodes": [{"id": "main", "kind": "grid_connection", "fuse_a": 32}],
                "evses": [{"id": "a", "node": "main"}, {"id": "b", "node": "main"}],
            },
            "stations": [{"id": "CP-1", "evses": {1: "a", 2: "b"}}],
        }
    )
    controller = Controller(config, Clocks(monotonic=lambda: 7.0, wall=lambda: WALL_S))
    assert controller.registry is not None and controller.loop is not None
    station = controller.registry.stations["CP-1"]
    station.evses[1].transaction_id = "42"
    station.evses[2].transaction_id = "43"
    controller.registry.on_link_event("CP-1", LinkOpened(OcppVersion.V16))
    controller.loop.restore(
        "CP-1",
        {
            "floor:CP-1": InstallRecord(6.0, 3, None, None),
            "lease:CP-1": InstallRecord(20.0, 3, WALL_S + 30, None),
            "evse:a": InstallRecord(16.0, 3, WALL_S + 30, "42"),
            "evse:b": InstallRecord(16.0, 3, WALL_S + 30, "41"),  # an earlier transaction
        },
    )
    return controller


def test_restored_limits_count_while_valid_and_are_sent_again() -> None:
    controller = restarted_controller()
    assert controller.loop is not None and controller.registry is not None
    believed = controller.loop.believed_installed(controller.registry.stations["CP-1"])
    assert set(believed) == {"floor:CP-1", "lease:CP-1", "evse:a"}  # b's TxProfile is gone
    strategy = STRATEGIES["default"]
    same = {k: WantedLimit(v.limit_a, v.phases) for k, v in believed.items()}
    changes = plan_changes(same, believed, strategy, now_s=7.0)
    # Unchanged, yet sent again on the new connection, as renewals (not ahead of decreases).
    assert [(c.key, c.reason, c.is_decrease) for c in changes] == [
        ("evse:a", "renewal", False),
        ("floor:CP-1", "renewal", False),
        ("lease:CP-1", "renewal", False),
    ]


def test_a_change_from_a_restored_limit_is_a_decrease_or_an_increase() -> None:
    controller = restarted_controller()
    assert controller.loop is not None and controller.registry is not None
    believed = controller.loop.believed_installed(controller.registry.stations["CP-1"])
    wanted = {"evse:a": WantedLimit(10.0, 3), "lease:CP-1": WantedLimit(28.0, 3)}
    changes = plan_changes(wanted, believed, STRATEGIES["default"], now_s=7.0)
    assert [(c.key, c.reason, c.is_decrease) for c in changes] == [
        ("evse:a", "decrease", True),
        ("lease:CP-1", "increase", False),
    ]
    # Without what was restored, both would be "new", and an increase would be sent as early
    # as a decrease.
    fresh = plan_changes(wanted, {}, STRATEGIES["default"], now_s=7.0)
    assert all(c.reason == "new" and c.is_decrease for c in fresh)


def test_a_lapsed_lease_is_not_believed() -> None:
    controller = restarted_controller()
    assert controller.loop is not None and controller.registry is not None
    controller.clocks.wall = lambda: WALL_S + 31
    believed = controller.loop.believed_installed(controller.registry.stations["CP-1"])
    assert set(believed) == {"floor:CP-1"}
