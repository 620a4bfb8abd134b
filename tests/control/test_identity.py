from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from localctl.control.identity import ControllerIdentity
from localctl.relay.frames import Call
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
SCHEMAS = SchemaRegistry()


def group_cap_16(
    limit_a: float, purpose: str = "ChargePointMaxProfile", valid_to: str | None = None
) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "chargingProfileId": 1,
        "stackLevel": 0,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "startSchedule": "2026-11-22T09:00:00Z",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": limit_a},
                {"startPeriod": 5400, "limit": limit_a / 2},
            ],
        },
    }
    if valid_to:
        profile["validTo"] = valid_to
    return {"connectorId": 0, "csChargingProfiles": profile}


def answer(
    identity: ControllerIdentity, action: str, payload: dict[str, Any], now: datetime = NOW
) -> Any:
    result = identity.handle(Call("m", action, payload), now)
    if isinstance(result, dict):
        assert SCHEMAS.validate(identity.version, action, result, is_response=True) is None
    return result


def test_a_group_cap_becomes_the_group_limit_and_its_schedule_is_reported() -> None:
    identity = ControllerIdentity("LC-1", OcppVersion.V16, 230.0)
    assert identity.group_limit_a(NOW) is None
    assert answer(identity, "SetChargingProfile", group_cap_16(100.0)) == {"status": "Accepted"}
    assert identity.group_limit_a(NOW) == 100.0
    assert identity.group_limit_a(NOW + timedelta(hours=1)) == 50.0
    composite = answer(identity, "GetCompositeSchedule", {"connectorId": 0, "duration": 3600})
    assert composite["status"] == "Accepted"
    assert composite["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 100.0},
        {"startPeriod": 1801, "limit": 50.0},
    ]


def test_profiles_that_need_transactions_are_rejected() -> None:
    identity = ControllerIdentity("LC-1", OcppVersion.V16, 230.0)
    tx_default = group_cap_16(10.0, purpose="TxDefaultProfile")
    assert answer(identity, "SetChargingProfile", tx_default) == {"status": "Rejected"}
    assert identity.group_limit_a(NOW) is None


def test_a_cleared_cap_is_gone() -> None:
    identity = ControllerIdentity("LC-1", OcppVersion.V16, 230.0)
    answer(identity, "SetChargingProfile", group_cap_16(100.0))
    assert answer(identity, "ClearChargingProfile", {"id": 1}) == {"status": "Accepted"}
    assert identity.group_limit_a(NOW) is None
    assert answer(identity, "ClearChargingProfile", {"id": 1}) == {"status": "Unknown"}


def test_201_group_cap_and_composite() -> None:
    identity = ControllerIdentity("LC-1", OcppVersion.V201, 230.0)
    payload = {
        "evseId": 0,
        "chargingProfile": {
            "id": 3,
            "stackLevel": 0,
            "chargingProfilePurpose": "ChargingStationMaxProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [
                {
                    "id": 1,
                    "startSchedule": "2026-11-22T09:00:00Z",
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 69000.0, "numberPhases": 3}
                    ],
                }
            ],
        },
    }
    assert answer(identity, "SetChargingProfile", payload) == {"status": "Accepted"}
    assert identity.group_limit_a(NOW) == 100.0  # 69 kW over 3 phases at 230 V
    composite = answer(identity, "GetCompositeSchedule", {"evseId": 0, "duration": 600})
    assert composite["schedule"]["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 100.0}]


def test_other_calls_get_not_supported_and_the_boot_is_valid() -> None:
    identity = ControllerIdentity("LC-1", OcppVersion.V201, 230.0)
    refusal = identity.handle(Call("m", "Reset", {"type": "Immediate"}), NOW)
    assert isinstance(refusal, tuple) and refusal[0] == "NotSupported"
    action, payload = identity.boot_payload()
    assert SCHEMAS.validate(OcppVersion.V201, action, payload, is_response=False) is None
    assert identity.boot_answered({"status": "Accepted", "interval": 120, "currentTime": "x"})
    assert identity.heartbeat_interval_s == 120
    assert answer(identity, "TriggerMessage", {"requestedMessage": "Heartbeat"}) == {
        "status": "Accepted"
    }
    assert identity.triggered == ["Heartbeat"]
