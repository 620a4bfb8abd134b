from __future__ import annotations

from typing import Any

import pytest

from localctl.control.csms_profiles import reserved_stack_rewriter
from localctl.control.strategy import STRATEGIES
from localctl.relay.frames import Call
from localctl.relay.versions import OcppVersion

STRATEGY = STRATEGIES["default"]  # floor 7, station lease 8, EVSE leases 8


def profile_16(purpose: str, stack_level: int, connector_id: int = 1) -> dict[str, Any]:
    return {
        "connectorId": connector_id,
        "csChargingProfiles": {
            "chargingProfileId": 5,
            "stackLevel": stack_level,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Relative",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 20}],
            },
        },
    }


def profile_201(purpose: str, stack_level: int, evse_id: int = 1) -> dict[str, Any]:
    return {
        "evseId": evse_id,
        "chargingProfile": {
            "id": 5,
            "stackLevel": stack_level,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [
                {
                    "id": 1,
                    "startSchedule": "2026-01-01T00:00:00Z",
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 20}],
                }
            ],
        },
    }


def rewrite(version: OcppVersion, payload: dict[str, Any]) -> dict[str, Any] | None:
    return reserved_stack_rewriter(STRATEGY, version)(Call("m", "SetChargingProfile", payload))


@pytest.mark.parametrize(
    ("purpose", "stack", "expected"),
    [
        ("ChargePointMaxProfile", 9, 6),
        ("ChargePointMaxProfile", 7, 6),
        ("TxDefaultProfile", 8, 7),
        ("TxProfile", 12, 7),
    ],
)
def test_csms_profiles_at_reserved_levels_move_below_them_in_16(
    purpose: str, stack: int, expected: int
) -> None:
    rewritten = rewrite(OcppVersion.V16, profile_16(purpose, stack, 0 if "Max" in purpose else 1))
    assert rewritten is not None
    assert rewritten["csChargingProfiles"]["stackLevel"] == expected
    assert (
        rewritten["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"]
        == 20
    )


def test_csms_profiles_below_the_reserved_levels_pass_untouched() -> None:
    assert rewrite(OcppVersion.V16, profile_16("ChargePointMaxProfile", 6, 0)) is None
    assert rewrite(OcppVersion.V16, profile_16("TxDefaultProfile", 7)) is None
    assert rewrite(OcppVersion.V201, profile_201("TxDefaultProfile", 0)) is None


def test_201_station_max_at_a_reserved_level_moves_below_it() -> None:
    rewritten = rewrite(OcppVersion.V201, profile_201("ChargingStationMaxProfile", 8, evse_id=0))
    assert rewritten is not None and rewritten["chargingProfile"]["stackLevel"] == 6


def test_an_unreadable_profile_is_left_for_the_station_to_refuse() -> None:
    assert rewrite(OcppVersion.V16, {"connectorId": 1}) is None
