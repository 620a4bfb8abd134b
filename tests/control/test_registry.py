from __future__ import annotations

from typing import Any

import pytest

from localctl.config.site import SiteConfig, StationConfig
from localctl.control.registry import StationRegistry
from localctl.relay.events import FrameRelayed, LinkClosed, LinkOpened, Side
from localctl.relay.frames import MessageType
from localctl.relay.versions import OcppVersion

STATION, CSMS = Side.STATION, Side.CSMS
CALL, RESULT = MessageType.CALL, MessageType.CALLRESULT

SITE = SiteConfig.model_validate(
    {
        "nodes": [{"id": "main", "kind": "grid_connection", "fuse_a": 63}],
        "evses": [
            {"id": "a", "node": "main", "wiring": ["L2", "L3", "L1"]},
            {"id": "b", "node": "main", "phases": 1, "wiring": ["L3"], "default_priority": 2},
        ],
    }
)
STATIONS = (StationConfig(id="CP-1", evses={1: "a", 2: "b"}),)


class Clock:
    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


def frame(
    source: Side, kind: MessageType, action: str, message_id: str, payload: dict[str, Any]
) -> FrameRelayed:
    return FrameRelayed(source, kind, action, message_id, payload)


def registry_16() -> tuple[StationRegistry, Clock]:
    clock = Clock()
    registry = StationRegistry(SITE, STATIONS, clock, lambda: 1_700_000_000.0)
    registry.on_link_event("CP-1", LinkOpened(OcppVersion.V16))
    return registry, clock


def status_16(registry: StationRegistry, connector: int, status: str, message_id: str) -> None:
    payload = {"connectorId": connector, "errorCode": "NoError", "status": status}
    registry.on_link_event("CP-1", frame(STATION, CALL, "StatusNotification", message_id, payload))


def start_16(registry: StationRegistry, connector: int, transaction_id: int) -> None:
    start = {
        "connectorId": connector,
        "idTag": "TAG",
        "meterStart": 0,
        "timestamp": "2026-01-01T00:00:00Z",
    }
    registry.on_link_event("CP-1", frame(STATION, CALL, "StartTransaction", f"s{connector}", start))
    answer = {"transactionId": transaction_id, "idTagInfo": {"status": "Accepted"}}
    registry.on_link_event("CP-1", frame(CSMS, RESULT, "StartTransaction", f"s{connector}", answer))


def meter_16(registry: StationRegistry, connector: int, currents: list[float]) -> None:
    samples = [
        {"value": str(c), "measurand": "Current.Import", "phase": f"L{n + 1}", "unit": "A"}
        for n, c in enumerate(currents)
    ]
    payload = {
        "connectorId": connector,
        "meterValue": [{"timestamp": "2026-01-01T00:00:10Z", "sampledValue": samples}],
    }
    registry.on_link_event("CP-1", frame(STATION, CALL, "MeterValues", f"m{connector}", payload))


def test_a_running_transaction_becomes_an_optimizer_session_with_its_draw() -> None:
    registry, clock = registry_16()
    status_16(registry, 1, "Preparing", "p1")
    assert registry.sessions() == []  # a vehicle, but no transaction yet
    clock.now_s = 105.0
    start_16(registry, 1, 42)
    meter_16(registry, 1, [16.0, 15.5, 16.2])
    [session] = registry.sessions()
    assert (session.evse_id, session.arrival_s, session.phases_in_use) == ("a", 100.0, 3)
    assert session.measured_current_a == (16.0, 15.5, 16.2)
    # EVSE a's conductors L1, L2, L3 sit on grid L2, L3, L1.
    assert registry.ev_draw_a() == {"a": (16.2, 16.0, 15.5)}


def test_a_single_phase_car_and_the_priority_class_come_through() -> None:
    registry, _ = registry_16()
    status_16(registry, 2, "Charging", "c2")
    meter_16(registry, 2, [10.0])
    [session] = registry.sessions()
    assert (session.evse_id, session.priority, session.phases_in_use) == ("b", 2, 1)
    assert registry.ev_draw_a() == {"b": (0.0, 0.0, 10.0)}


def test_unplugging_ends_the_session_and_forgets_the_draw() -> None:
    registry, _ = registry_16()
    start_16(registry, 1, 7)
    meter_16(registry, 1, [16.0, 16.0, 16.0])
    stop = {"transactionId": 7, "meterStop": 1000, "timestamp": "2026-01-01T01:00:00Z"}
    registry.on_link_event("CP-1", frame(STATION, CALL, "StopTransaction", "x", stop))
    status_16(registry, 1, "Available", "av")
    assert registry.sessions() == []
    assert registry.ev_draw_a() == {}


def test_a_disconnected_station_has_no_sessions() -> None:
    registry, _ = registry_16()
    start_16(registry, 1, 7)
    registry.on_link_event("CP-1", LinkClosed())
    assert registry.sessions() == []


def profile_16(profile_id: int, limit_a: float) -> dict[str, Any]:
    return {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": profile_id,
            "stackLevel": 1,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "startSchedule": "2026-01-01T00:00:00Z",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit_a}],
            },
        },
    }


@pytest.mark.parametrize(("status", "recorded"), [("Accepted", True), ("Rejected", False)])
def test_csms_profiles_are_recorded_only_once_the_station_accepted_them(
    status: str, recorded: bool
) -> None:
    registry, _ = registry_16()
    registry.on_link_event(
        "CP-1", frame(CSMS, CALL, "SetChargingProfile", "sp", profile_16(5, 10.0))
    )
    assert registry.stations["CP-1"].csms_profiles == {}
    registry.on_link_event(
        "CP-1", frame(STATION, RESULT, "SetChargingProfile", "sp", {"status": status})
    )
    assert (5 in registry.stations["CP-1"].csms_profiles) is recorded


def test_an_accepted_clear_forgets_csms_profiles() -> None:
    registry, _ = registry_16()
    registry.on_link_event(
        "CP-1", frame(CSMS, CALL, "SetChargingProfile", "sp", profile_16(5, 10.0))
    )
    registry.on_link_event(
        "CP-1", frame(STATION, RESULT, "SetChargingProfile", "sp", {"status": "Accepted"})
    )
    registry.on_link_event("CP-1", frame(CSMS, CALL, "ClearChargingProfile", "cl", {"id": 5}))
    registry.on_link_event(
        "CP-1", frame(STATION, RESULT, "ClearChargingProfile", "cl", {"status": "Accepted"})
    )
    assert registry.stations["CP-1"].csms_profiles == {}


def test_transaction_events_of_201_open_and_close_sessions() -> None:
    clock = Clock()
    registry = StationRegistry(SITE, STATIONS, clock, lambda: 1_700_000_000.0)
    registry.on_link_event("CP-1", LinkOpened(OcppVersion.V201))
    started = {
        "eventType": "Started",
        "timestamp": "2026-01-01T00:00:00Z",
        "triggerReason": "CablePluggedIn",
        "seqNo": 0,
        "transactionInfo": {"transactionId": "tx-1", "chargingState": "Charging"},
        "evse": {"id": 2, "connectorId": 1},
        "meterValue": [
            {
                "timestamp": "2026-01-01T00:00:00Z",
                "sampledValue": [{"value": 12.5, "measurand": "Current.Import", "phase": "L1"}],
            }
        ],
    }
    registry.on_link_event("CP-1", frame(STATION, CALL, "TransactionEvent", "t1", started))
    [session] = registry.sessions()
    assert session.evse_id == "b"
    assert registry.ev_draw_a() == {"b": (0.0, 0.0, 12.5)}
    ended = {**started, "eventType": "Ended", "seqNo": 1, "triggerReason": "EVDeparted"}
    ended["transactionInfo"] = {"transactionId": "tx-1", "stoppedReason": "EVDisconnected"}
    registry.on_link_event("CP-1", frame(STATION, CALL, "TransactionEvent", "t2", ended))
    assert registry.sessions() == []


def test_stations_outside_the_configuration_are_ignored() -> None:
    registry, _ = registry_16()
    registry.on_link_event("CP-9", LinkOpened(OcppVersion.V16))
    registry.on_link_event("CP-9", frame(STATION, CALL, "Heartbeat", "h", {}))
    assert "CP-9" not in registry.stations
