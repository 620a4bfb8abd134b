"""The relay between real OCPP peers built on the `ocpp` package, for both versions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from localctl.io.relay_server import RelayServer
from localctl.relay.events import LinkEvent, SchemaViolated
from localctl.relay.schemas import SchemaRegistry
from localctl.sim import SimStation16, SimStation201, StubCsms
from tests.io.conftest import relay_config
from tests.io.rawpeers import RawCsms

Station = SimStation16 | SimStation201


@pytest.fixture
async def stub_csms() -> AsyncIterator[StubCsms]:
    async with StubCsms() as csms:
        yield csms


@pytest.fixture
async def relay_to_stub(stub_csms: StubCsms, schemas: SchemaRegistry) -> AsyncIterator[RelayServer]:
    async with RelayServer(relay_config(stub_csms.url), schemas) as server:
        yield server


def relay_url(relay: RelayServer) -> str:
    return f"ws://127.0.0.1:{relay.port}/ocpp"


@pytest.mark.parametrize("kind", [SimStation16, SimStation201])
async def test_a_whole_charging_session_passes_through(
    kind: type[Station], relay_to_stub: RelayServer, stub_csms: StubCsms
) -> None:
    async with kind(relay_url(relay_to_stub), "CP-1") as station:
        await station.boot()
        await station.set_available(1)
        await station.plug_in(1)
        await station.authorize("04E91C5A2B3F80")
        await station.start_charging(1, "04E91C5A2B3F80")
        await station.meter_values(1, (16.0, 15.8, 16.1), 1200.0)
        await station.stop_charging(1, 2400.0)
        await station.unplug(1)
    actions = [action for action, _ in stub_csms.received("CP-1")]
    if kind is SimStation16:
        assert actions == [
            "BootNotification", "StatusNotification", "StatusNotification", "Authorize",
            "StartTransaction", "StatusNotification", "MeterValues", "StopTransaction",
            "StatusNotification", "StatusNotification",
        ]  # fmt: skip
    else:
        assert actions[:4] == [
            "BootNotification",
            "StatusNotification",
            "StatusNotification",
            "Authorize",
        ]
        assert actions.count("TransactionEvent") == 3
    assert stub_csms.subprotocol("CP-1") == kind.speaks


@pytest.mark.parametrize(
    ("kind", "request_payload", "expected_action"),
    [
        (SimStation16, call16.GetConfiguration(key=["HeartbeatInterval"]), "GetConfiguration"),
        (
            SimStation201,
            call201.GetVariables(
                get_variable_data=[
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ]
            ),
            "GetVariables",
        ),
    ],
)
async def test_csms_initiated_calls_reach_the_station_and_come_back(
    kind: type[Station],
    request_payload: object,
    expected_action: str,
    relay_to_stub: RelayServer,
    stub_csms: StubCsms,
) -> None:
    async with kind(relay_url(relay_to_stub), "CP-2") as station:
        await station.boot()
        result = await stub_csms.call("CP-2", request_payload)
        assert result is not None
        assert [action for action, _ in station.received] == [expected_action]


async def test_own_and_csms_calls_interleave_with_one_call_in_flight(
    stub_csms: StubCsms, schemas: SchemaRegistry
) -> None:
    """The station answers slowly; CSMS and controller calls race. Each side gets only its
    own answers, and the station never sees a second CALL while one is outstanding."""
    async with (
        RelayServer(relay_config(stub_csms.url), schemas) as relay,
        SimStation16(relay_url(relay), "CP-3", reply_delay_s=0.02) as station,
    ):
        await station.boot()
        csms_calls = [
            stub_csms.call("CP-3", call16.GetConfiguration(key=["HeartbeatInterval"]))
            for _ in range(5)
        ]
        own_calls = [
            relay.call("CP-3", "GetConfiguration", {"key": ["MeterValueSampleInterval"]})
            for _ in range(5)
        ]
        results = await asyncio.wait_for(asyncio.gather(*csms_calls, *own_calls), 10)
    for csms_result in results[:5]:
        assert csms_result.configuration_key[0]["key"] == "HeartbeatInterval"
    for own_result in results[5:]:
        assert isinstance(own_result, dict)
        assert own_result["configurationKey"][0]["key"] == "MeterValueSampleInterval"
    received_ids = [c.message_id for c in station.received_calls]
    assert sum(i.startswith("lc-") for i in received_ids) == 5
    assert len(received_ids) == 10


async def test_the_station_never_has_two_calls_outstanding(
    stub_csms: StubCsms, schemas: SchemaRegistry
) -> None:
    """A raw station checks the rule itself: after each CALL, nothing else may arrive until
    it has answered."""
    async with (
        RelayServer(relay_config(stub_csms.url), schemas) as relay,
        connect(f"{relay_url(relay)}/CP-4", subprotocols=[Subprotocol("ocpp1.6")]) as socket,
    ):
        await stub_csms.wait_connected("CP-4")
        pending = [
            asyncio.create_task(stub_csms.call("CP-4", call16.ClearCache())) for _ in range(3)
        ] + [asyncio.create_task(relay.call("CP-4", "ClearCache", {})) for _ in range(3)]
        for _ in range(6):
            frame = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
            assert frame[0] == 2
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(socket.recv(), 0.05)
            await socket.send(orjson.dumps([3, frame[1], {"status": "Accepted"}]).decode())
        await asyncio.wait_for(asyncio.gather(*pending), 5)


async def test_a_dying_csms_disconnects_its_stations_mid_transaction(
    stub_csms: StubCsms, relay_to_stub: RelayServer
) -> None:
    station = SimStation201(relay_url(relay_to_stub), "CP-5")
    async with station:
        await station.boot()
        await station.start_charging(1, "04E91C5A2B3F80")
        await stub_csms.abort()
        await asyncio.wait_for(station.wait_disconnected(), 5)
    for _ in range(50):
        if not relay_to_stub.station_ids:
            break
        await asyncio.sleep(0.05)
    assert relay_to_stub.station_ids == []
    with pytest.raises(InvalidStatus) as caught:
        async with SimStation201(relay_url(relay_to_stub), "CP-5"):
            pass
    assert caught.value.response.status_code == 502


async def test_a_dying_station_disconnects_its_upstream(
    stub_csms: StubCsms, relay_to_stub: RelayServer
) -> None:
    async with connect(
        f"{relay_url(relay_to_stub)}/CP-6", subprotocols=[Subprotocol("ocpp1.6")]
    ) as socket:
        await stub_csms.wait_connected("CP-6")
        socket.transport.abort()  # no closing handshake: the station just vanished
    await stub_csms.wait_disconnected("CP-6")


async def test_schema_invalid_frames_from_either_side_are_counted_and_relayed(
    schemas: SchemaRegistry,
) -> None:
    events: list[LinkEvent] = []
    async with (
        StubCsms() as csms,
        RelayServer(
            relay_config(csms.url), schemas, listener=lambda _, e: events.append(e)
        ) as relay,
        connect(f"{relay_url(relay)}/CP-7", subprotocols=[Subprotocol("ocpp1.6")]) as socket,
    ):
        # A status in lower case: off-spec, as real stations sometimes are.
        await socket.send(
            '[2,"s-1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"available"}]'
        )
        answer = orjson.loads(await asyncio.wait_for(socket.recv(), 5))
        assert answer[0] in (3, 4) and answer[1] == "s-1"  # the CSMS decided, not the relay
        violations = [e for e in events if isinstance(e, SchemaViolated)]
        assert len(violations) == 1 and violations[0].relayed


async def test_in_strict_mode_the_csms_gets_a_callerror_for_an_invalid_call(
    schemas: SchemaRegistry,
) -> None:
    async with (
        RawCsms() as csms,
        RelayServer(relay_config(csms.url, strict=True), schemas) as relay,
        SimStation16(relay_url(relay), "CP-8") as station,
    ):
        upstream = await csms.connection("CP-8")
        await upstream.socket.send('[2,"c-1","ChangeConfiguration",{"key":"HeartbeatInterval"}]')
        answer = orjson.loads(await upstream.next_frame())
        assert answer[:3] == [4, "c-1", "ProtocolError"]  # OCPP-J 1.6: payload incomplete
        assert station.received == []
