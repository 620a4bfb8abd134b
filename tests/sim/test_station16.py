from __future__ import annotations

import pytest
from ocpp.v16 import call as call16

from localctl.sim import PeerCallError, SimStation16, StubCsms
from tests.sim.helpers import actions, tx_default_16


async def test_transaction_ids_increase_across_stations(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "A") as first, SimStation16(csms.url, "B") as second:
        one = await first.start_transaction(1, "T")
        two = await second.start_transaction(1, "T")
    assert (one.transaction_id, two.transaction_id) == (1, 2)


async def test_station16_applies_the_lowest_profile_and_reports_it(csms: StubCsms) -> None:
    station_max = {
        **tx_default_16(8.0, profile_id=2),
        "charging_profile_purpose": "ChargePointMaxProfile",
    }
    async with SimStation16(csms.url, "CP-16") as station:
        tx_profile = {**tx_default_16(6.0, profile_id=3), "charging_profile_purpose": "TxProfile"}
        refused = await csms.call(
            "CP-16", call16.SetChargingProfile(connector_id=1, cs_charging_profiles=tx_profile)
        )
        default = await csms.call(
            "CP-16",
            call16.SetChargingProfile(connector_id=0, cs_charging_profiles=tx_default_16(10.0)),
        )
        assert station.current_limit_a(1) == 10.0
        await csms.call(
            "CP-16", call16.SetChargingProfile(connector_id=0, cs_charging_profiles=station_max)
        )
        composite = await csms.call(
            "CP-16", call16.GetCompositeSchedule(connector_id=1, duration=300)
        )
        cleared = await csms.call("CP-16", call16.ClearChargingProfile(id=2))
        missing = await csms.call("CP-16", call16.ClearChargingProfile(id=42))

        assert station.current_limit_a(1) == 10.0
    assert (refused.status, default.status) == ("Rejected", "Accepted")
    assert composite.charging_schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 8.0}
    ]
    assert (cleared.status, missing.status) == ("Accepted", "Unknown")
    assert actions(station.received) == [
        "SetChargingProfile",
        "SetChargingProfile",
        "SetChargingProfile",
        "GetCompositeSchedule",
        "ClearChargingProfile",
        "ClearChargingProfile",
    ]


async def test_station16_remote_start_and_stop_lead_to_transactions(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "CP-16") as station:
        started = await csms.call("CP-16", call16.RemoteStartTransaction(id_tag="REMOTE"))
        await csms.wait_for_call("CP-16", "StatusNotification")
        stopped = await csms.call(
            "CP-16", call16.RemoteStopTransaction(transaction_id=station.transaction_ids[1])
        )
        await csms.wait_for_call("CP-16", "StatusNotification", count=2)
        unknown = await csms.call("CP-16", call16.RemoteStopTransaction(transaction_id=999))

    assert (started.status, stopped.status, unknown.status) == ("Accepted", "Accepted", "Rejected")
    assert actions(csms.received("CP-16")) == [
        "StartTransaction",
        "StatusNotification",
        "StopTransaction",
        "StatusNotification",
    ]
    assert csms.received("CP-16")[2][1]["reason"] == "Remote"


async def test_station16_answers_trigger_then_sends_the_message(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "CP-16"):
        triggered = await csms.call("CP-16", call16.TriggerMessage(requested_message="Heartbeat"))
        await csms.wait_for_call("CP-16", "Heartbeat")
        unsupported = await csms.call(
            "CP-16", call16.TriggerMessage(requested_message="DiagnosticsStatusNotification")
        )
        answers = [
            await csms.call("CP-16", call16.Reset(type="Soft")),
            await csms.call("CP-16", call16.UnlockConnector(connector_id=1)),
            await csms.call("CP-16", call16.ChangeAvailability(connector_id=0, type="Operative")),
            await csms.call("CP-16", call16.DataTransfer(vendor_id="acme")),
        ]
    assert (triggered.status, unsupported.status) == ("Accepted", "NotImplemented")
    assert [a.status for a in answers] == ["Accepted", "Unlocked", "Accepted", "UnknownVendorId"]


async def test_unhandled_action_is_a_peer_call_error(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "CP-16"):
        with pytest.raises(PeerCallError) as caught:
            await csms.call("CP-16", call16.ClearCache())
    # OCPP-J 1.6 4.2.3: a known action the receiver does not support is NotSupported.
    assert (caught.value.action, caught.value.code) == ("ClearCache", "NotSupported")


async def test_scripted_station_refuses_an_action(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "CP") as station:
        station.script.answer_with_error("SetChargingProfile", "NotSupported")
        with pytest.raises(PeerCallError) as caught:
            await csms.call(
                "CP",
                call16.SetChargingProfile(connector_id=0, cs_charging_profiles=tx_default_16(6.0)),
            )
    assert caught.value.code == "NotSupported"
    assert station.profiles.profiles == []
