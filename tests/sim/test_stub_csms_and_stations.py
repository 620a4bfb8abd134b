from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from localctl.sim import (
    ConnectionLostError,
    NotConnectedError,
    PeerCallError,
    SimError,
    SimStation16,
    SimStation201,
    StubCsms,
    SubprotocolMismatchError,
)
from tests.sim.helpers import actions, variable

# -- OCPP 1.6 ---------------------------------------------------------------------------


async def test_station16_session_is_answered_and_recorded(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "CP-16") as station:
        boot = await station.boot()
        await station.plug_in(1)
        authorized = await station.authorize("TAG-1")
        started = await station.start_charging(1, "TAG-1")
        await station.meter_values(1, [16.0, 15.8, 15.9], energy_wh=1200.0)
        stopped = await station.stop_charging(1, 2500.0)
        await station.unplug(1)

    assert (boot.status, boot.interval) == ("Accepted", 300)
    assert authorized.id_tag_info == {"status": "Accepted"}
    assert started.transaction_id == 1
    assert stopped.id_tag_info is None
    assert csms.subprotocol("CP-16") == "ocpp1.6"
    assert actions(csms.received("CP-16")) == [
        "BootNotification",
        "StatusNotification",
        "Authorize",
        "StartTransaction",
        "StatusNotification",
        "MeterValues",
        "StopTransaction",
        "StatusNotification",
        "StatusNotification",
    ]
    _, meter = csms.received("CP-16")[5]
    assert meter["transactionId"] == 1
    samples = meter["meterValue"][0]["sampledValue"]
    assert [s["phase"] for s in samples if s["measurand"] == "Current.Import"] == ["L1", "L2", "L3"]
    assert samples[-1] == {
        "value": "1200",
        "measurand": "Energy.Active.Import.Register",
        "unit": "Wh",
    }
    calls = csms.received_calls("CP-16")
    assert len({c.message_id for c in calls}) == len(calls)


async def test_csms_reads_and_changes_station16_configuration(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "CP-16"):
        read = await csms.call(
            "CP-16", call16.GetConfiguration(key=["MeterValueSampleInterval", "NoSuchKey"])
        )
        changes = [
            await csms.call("CP-16", call16.ChangeConfiguration(key=key, value=value))
            for key, value in [
                ("MeterValueSampleInterval", "15"),
                ("MeterValueSampleInterval", "soon"),
                ("ChargeProfileMaxStackLevel", "99"),
                ("NoSuchKey", "1"),
            ]
        ]
        everything = await csms.call("CP-16", call16.GetConfiguration())

    assert read.configuration_key == [
        {"key": "MeterValueSampleInterval", "readonly": False, "value": "60"}
    ]
    assert read.unknown_key == ["NoSuchKey"]
    assert [c.status for c in changes] == ["Accepted", "Rejected", "Rejected", "NotSupported"]
    keys = {entry["key"]: entry["value"] for entry in everything.configuration_key}
    assert keys["MeterValueSampleInterval"] == "15"
    assert {"HeartbeatInterval", "ChargeProfileMaxStackLevel"} <= keys.keys()


# -- OCPP 2.0.1 -------------------------------------------------------------------------


async def test_station201_transaction_events_carry_sequence_and_token(csms: StubCsms) -> None:
    async with SimStation201(csms.url, "CS-201") as station:
        await station.boot()
        await station.plug_in(1)
        authorized = await station.authorize("TAG-2")
        started = await station.start_charging(1, "TAG-2")
        updated = await station.meter_values(1, [31.5], energy_wh=500.0)
        ended = await station.stop_charging(1, 900.0)
        idle = await station.meter_values(1, [0.0], energy_wh=900.0)

    assert authorized.id_token_info == {"status": "Accepted"}
    assert started.id_token_info == {"status": "Accepted"}
    assert updated.id_token_info is None and ended.id_token_info is None
    assert idle is not None
    assert csms.subprotocol("CS-201") == "ocpp2.0.1"
    events = [
        payload for action, payload in csms.received("CS-201") if action == "TransactionEvent"
    ]
    assert [(e["eventType"], e["seqNo"]) for e in events] == [
        ("Started", 0),
        ("Updated", 1),
        ("Ended", 2),
    ]
    assert len({e["transactionInfo"]["transactionId"] for e in events}) == 1
    assert events[0]["idToken"] == {"idToken": "TAG-2", "type": "ISO14443"}
    assert events[2]["transactionInfo"]["stoppedReason"] == "Local"
    assert actions(csms.received("CS-201"))[-1] == "MeterValues"


async def test_csms_gets_and_sets_station201_variables(csms: StubCsms) -> None:
    async with SimStation201(csms.url, "CS-201") as station:
        got = await csms.call(
            "CS-201",
            call201.GetVariables(
                get_variable_data=[
                    variable("OCPPCommCtrlr", "HeartbeatInterval"),
                    variable("OCPPCommCtrlr", "Nope"),
                    variable("NoController", "Nope"),
                ]
            ),
        )
        changed = await csms.call(
            "CS-201",
            call201.SetVariables(
                set_variable_data=[
                    variable("SampledDataCtrlr", "TxUpdatedInterval", "10"),
                    variable("SmartChargingCtrlr", "ProfileStackLevel", "3"),
                ]
            ),
        )
    statuses = [r["attribute_status"] for r in got.get_variable_result]
    assert statuses == ["Accepted", "UnknownVariable", "UnknownComponent"]
    assert got.get_variable_result[0]["attribute_value"] == "300"
    assert [r["attribute_status"] for r in changed.set_variable_result] == ["Accepted", "Rejected"]
    assert station.variables.value("SampledDataCtrlr", "TxUpdatedInterval") == "10"


# -- connections --------------------------------------------------------------------------


async def test_refused_station_gets_its_http_status() -> None:
    async with StubCsms(refuse={"BAD": 404}, allowed_ids={"GOOD", "BAD"}) as csms:
        for station_id in ("BAD", "STRANGER"):
            with pytest.raises(InvalidStatus) as caught:
                await SimStation16(csms.url, station_id).connect()
            assert caught.value.response.status_code == 404
        async with SimStation16(csms.url, "GOOD"):
            await csms.wait_connected("GOOD")
            assert csms.connected_ids == {"GOOD"}
    assert csms.refused == [("BAD", 404), ("STRANGER", 404)]


async def test_subprotocol_is_negotiated_in_the_csms_order() -> None:
    both = ("ocpp2.0.1", "ocpp1.6")
    async with StubCsms(subprotocols=["ocpp1.6"]) as csms:
        async with SimStation16(csms.url, "CP", subprotocols=both) as station:
            await csms.wait_connected("CP")
            assert station.subprotocol == csms.subprotocol("CP") == "ocpp1.6"
        with pytest.raises(InvalidStatus):
            await SimStation201(csms.url, "CS").connect()
    async with StubCsms() as csms:
        with pytest.raises(SubprotocolMismatchError):
            await SimStation16(csms.url, "CP", subprotocols=both).connect()


async def test_csms_records_the_handshake_headers(csms: StubCsms) -> None:
    credentials = base64.b64encode(b"CP-16:secret").decode()
    headers = {"Authorization": f"Basic {credentials}"}
    async with SimStation16(csms.url, "CP-16", extra_headers=headers):
        await csms.wait_connected("CP-16")
    assert csms.request_headers("CP-16")["Authorization"] == f"Basic {credentials}"


async def test_csms_side_disconnect_is_seen_by_the_station(csms: StubCsms) -> None:
    async with SimStation16(csms.url, "CP-16") as station:
        await csms.wait_connected("CP-16")
        await csms.disconnect("CP-16")
        await asyncio.wait_for(station.wait_disconnected(), 2.0)
        assert csms.connected_ids == frozenset()
        with pytest.raises(ConnectionLostError):
            await station.heartbeat()
    with pytest.raises(NotConnectedError):
        await csms.call("CP-16", call16.Reset(type="Soft"))


async def test_call_fails_fast_when_the_csms_aborts_mid_call() -> None:
    csms = StubCsms(reply_delay_s=1.0)
    await csms.start()
    async with SimStation16(csms.url, "CP-16") as station:
        heartbeat = asyncio.create_task(station.heartbeat())
        await csms.wait_for_call("CP-16", "Heartbeat")
        await csms.abort()
        with pytest.raises(ConnectionLostError):
            await asyncio.wait_for(heartbeat, 0.5)


async def test_reply_delay_slows_every_answer() -> None:
    async with StubCsms(reply_delay_s=0.05) as csms, SimStation201(csms.url, "CS") as station:
        began = time.monotonic()
        await station.heartbeat()
        assert time.monotonic() - began >= 0.05


async def test_reconnecting_station_replaces_its_connection_and_keeps_records(
    csms: StubCsms,
) -> None:
    async with SimStation16(csms.url, "CP-16") as first:
        await first.heartbeat()
        async with SimStation16(csms.url, "CP-16") as second:
            await asyncio.wait_for(first.wait_disconnected(), 2.0)
            await second.heartbeat()
            assert csms.connected_ids == {"CP-16"}
    assert actions(csms.received("CP-16")) == ["Heartbeat", "Heartbeat"]


async def test_csms_serves_ocpp21(csms: StubCsms) -> None:
    async with connect(f"{csms.url}/CS-21", subprotocols=[Subprotocol("ocpp2.1")]) as socket:
        await socket.send('[2,"h-1","Heartbeat",{}]')
        kind, message_id, payload = json.loads(await socket.recv())
    assert (kind, message_id) == (3, "h-1")
    assert "currentTime" in payload
    assert csms.subprotocol("CS-21") == "ocpp2.1"


async def test_frame_hooks_see_traffic_in_both_directions() -> None:
    csms_frames: list[tuple[str, str, str]] = []
    station_frames: list[tuple[str, str, str]] = []

    def on_csms_frame(identity: str, direction: str, text: str) -> None:
        csms_frames.append((identity, direction, text))

    def on_station_frame(identity: str, direction: str, text: str) -> None:
        station_frames.append((identity, direction, text))

    async with (
        StubCsms(on_frame=on_csms_frame) as csms,
        SimStation16(csms.url, "CP", on_frame=on_station_frame) as station,
    ):
        await station.heartbeat()
    assert [(who, way) for who, way, _ in csms_frames] == [("CP", "in"), ("CP", "out")]
    assert [(who, way) for who, way, _ in station_frames] == [("CP", "out"), ("CP", "in")]
    assert json.loads(station_frames[0][2])[2] == "Heartbeat"
    assert station_frames[1][2] == csms_frames[1][2]


async def test_stopping_the_csms_closes_stations_going_away() -> None:
    csms = StubCsms()
    await csms.start()
    async with SimStation201(csms.url, "CS") as station:
        await csms.wait_connected("CS")
        await csms.stop()
        await asyncio.wait_for(station.wait_disconnected(), 2.0)
        with pytest.raises(ConnectionLostError):
            await station.heartbeat()


async def test_follow_up_cut_off_by_a_disconnect_does_not_fail_the_station(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with StubCsms(reply_delay_s=0.5) as csms, SimStation16(csms.url, "CP") as station:
        await csms.call("CP", call16.TriggerMessage(requested_message="Heartbeat"))
        await csms.wait_for_call("CP", "Heartbeat")
        await csms.disconnect("CP")
        await station.wait_disconnected()
        await station.connect()
        with pytest.raises(SimError):
            await station.connect()
        assert (await csms.call("CP", call16.Reset(type="Hard"))).status == "Accepted"
    assert "triggered Heartbeat did not complete" in caplog.text


async def test_scripted_csms_answers_with_errors_or_not_at_all(csms: StubCsms) -> None:
    script = csms.script("CS")
    script.answer_with_error("Authorize", "SecurityError")
    script.leave_unanswered("Heartbeat")
    async with SimStation201(csms.url, "CS", response_timeout_s=0.1) as station:
        with pytest.raises(PeerCallError) as caught:
            await station.authorize("TAG")
        with pytest.raises(TimeoutError):
            await station.heartbeat()
        script.reset()
        assert (await station.authorize("TAG")).id_token_info == {"status": "Accepted"}
    assert caught.value.code == "SecurityError"
    assert actions(csms.received("CS")) == ["Authorize", "Heartbeat", "Authorize"]
