from __future__ import annotations

from ocpp.v201 import call as call201

from localctl.sim import SimStation201, StubCsms
from tests.sim.helpers import profile_201

SINCE_2026 = "2026-01-01T00:00:00Z"


async def test_get_base_report_is_answered_then_notify_report_follows(csms: StubCsms) -> None:
    async with SimStation201(csms.url, "CS-201"):
        answer = await csms.call(
            "CS-201", call201.GetBaseReport(request_id=7, report_base="FullInventory")
        )
        await csms.wait_for_call("CS-201", "NotifyReport")
    assert answer.status == "Accepted"
    _, report = csms.received("CS-201")[0]
    assert report["requestId"] == 7
    rate_unit = next(r for r in report["reportData"] if r["variable"]["name"] == "RateUnit")
    assert rate_unit["component"] == {"name": "SmartChargingCtrlr"}
    assert rate_unit["variableAttribute"] == [
        {"type": "Actual", "value": "A,W", "mutability": "ReadOnly"}
    ]


async def test_station201_profiles_in_watts_are_limits_per_phase(csms: StubCsms) -> None:
    async with SimStation201(csms.url, "CS-201") as station:
        refused = await csms.call(
            "CS-201",
            call201.SetChargingProfile(evse_id=1, charging_profile=profile_201("TxProfile", 6.0)),
        )
        accepted = await csms.call(
            "CS-201",
            call201.SetChargingProfile(
                evse_id=0,
                charging_profile=profile_201(
                    "ChargingStationMaxProfile", 11040.0, "W", start_schedule=SINCE_2026
                ),
            ),
        )
        composite = await csms.call("CS-201", call201.GetCompositeSchedule(duration=60, evse_id=1))
        cleared = await csms.call(
            "CS-201",
            call201.ClearChargingProfile(
                charging_profile_criteria={"charging_profile_purpose": "ChargingStationMaxProfile"}
            ),
        )
        limit_after_clear_a = station.current_limit_a(1)
    assert (refused.status, accepted.status, cleared.status) == ("Rejected", "Accepted", "Accepted")
    assert refused.status_info == {"reason_code": "TxNotFound"}
    assert composite.schedule["charging_schedule_period"][0]["limit"] == 16.0
    assert limit_after_clear_a == station.identity.max_current_a


async def test_station201_remote_start_and_stop(csms: StubCsms) -> None:
    async with SimStation201(csms.url, "CS-201") as station:
        started = await csms.call(
            "CS-201",
            call201.RequestStartTransaction(
                id_token={"id_token": "APP", "type": "Central"}, remote_start_id=12
            ),
        )
        await csms.wait_for_call("CS-201", "TransactionEvent")
        transaction_id = station.transactions[1].transaction_id
        stopped = await csms.call(
            "CS-201", call201.RequestStopTransaction(transaction_id=transaction_id)
        )
        await csms.wait_for_call("CS-201", "TransactionEvent", count=2)
    assert (started.status, stopped.status) == ("Accepted", "Accepted")
    first, last = (p for a, p in csms.received("CS-201") if a == "TransactionEvent")
    assert (first["triggerReason"], first["transactionInfo"]["remoteStartId"]) == (
        "RemoteStart",
        12,
    )
    assert (last["triggerReason"], last["transactionInfo"]["stoppedReason"]) == (
        "RemoteStop",
        "Remote",
    )


async def test_station201_refuses_external_constraints_from_a_call(csms: StubCsms) -> None:
    profile = profile_201("ChargingStationExternalConstraints", 10.0)
    async with SimStation201(csms.url, "CS-201") as station:
        answer = await csms.call(
            "CS-201", call201.SetChargingProfile(evse_id=0, charging_profile=profile)
        )
    assert (answer.status, station.profiles.profiles) == ("Rejected", [])
