from __future__ import annotations

import asyncio
import base64
import contextlib
import gc

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from localctl.io.relay_server import RelayServer
from localctl.io.station_link import OwnCallError, StationUnavailableError
from localctl.relay.schemas import SchemaRegistry
from tests.io.conftest import relay_config
from tests.io.rawpeers import RawCsms

BOOT_16 = '[2,"b-1","BootNotification",{"chargePointModel":"M","chargePointVendor":"V"}]'
BOOT_16_ANSWER = (
    '[3,"b-1",{"status":"Accepted","currentTime":"2026-01-01T00:00:00Z","interval":60}]'
)


def station(
    relay: RelayServer, station_id: str = "CP-1", subprotocol: str = "ocpp1.6", **kwargs: object
) -> connect:
    return connect(
        f"ws://127.0.0.1:{relay.port}/ocpp/{station_id}",
        subprotocols=[Subprotocol(subprotocol)],
        **kwargs,  # type: ignore[arg-type]
    )


async def recv(socket: ClientConnection, timeout_s: float = 5.0) -> str:
    message = await asyncio.wait_for(socket.recv(), timeout_s)
    assert isinstance(message, str)
    return message


async def test_station_frames_reach_the_csms_unchanged_and_back(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay) as socket:
        assert socket.subprotocol == "ocpp1.6"
        await socket.send(BOOT_16)
        upstream = await csms.connection("CP-1")
        assert await upstream.next_frame() == BOOT_16
        assert upstream.socket.subprotocol == "ocpp1.6"
        await upstream.socket.send(BOOT_16_ANSWER)
        assert await recv(socket) == BOOT_16_ANSWER


async def test_upstream_uses_the_same_identity_and_not_the_station_credentials(
    relay: RelayServer, csms: RawCsms
) -> None:
    secret = base64.b64encode(b"RDAM 123:station-password").decode()
    headers = {"Authorization": f"Basic {secret}", "User-Agent": "ACME-Wallbox/4.2"}
    async with station(relay, "RDAM%20123", additional_headers=headers):
        upstream = await csms.connection("RDAM%20123")
        assert upstream.path == "/ocpp/RDAM%20123"
        assert "Authorization" not in upstream.headers
        assert upstream.headers["User-Agent"] == "ACME-Wallbox/4.2"
        assert relay.station_ids == ["RDAM 123"]


async def test_the_station_gets_the_subprotocol_the_csms_chose(schemas: SchemaRegistry) -> None:
    async with (
        RawCsms(subprotocols=["ocpp1.6"]) as csms,
        RelayServer(relay_config(csms.url), schemas) as relay,
        connect(
            f"ws://127.0.0.1:{relay.port}/CP-2",
            subprotocols=[Subprotocol("ocpp2.0.1"), Subprotocol("ocpp1.6")],
        ) as socket,
    ):
        assert socket.subprotocol == "ocpp1.6"


@pytest.mark.parametrize("status", [401, 404, 403])
async def test_a_station_the_csms_refuses_is_refused_with_its_status(
    schemas: SchemaRegistry, status: int
) -> None:
    async with (
        RawCsms(refuse={"CP-X": status}) as csms,
        RelayServer(relay_config(csms.url), schemas) as relay,
    ):
        with pytest.raises(InvalidStatus) as caught:
            async with station(relay, "CP-X"):
                pass
        assert caught.value.response.status_code == status


async def test_no_common_subprotocol_completes_the_handshake_and_closes(
    relay: RelayServer,
) -> None:
    async with station(relay, subprotocol="ocpp0.9") as socket:
        assert socket.subprotocol is None
        with pytest.raises(ConnectionClosed):
            await recv(socket)
        assert socket.close_code == 1002


async def test_an_unreachable_csms_gives_bad_gateway(schemas: SchemaRegistry) -> None:
    config = relay_config("ws://127.0.0.1:9/ocpp", upstream_open_timeout_s=2)
    async with RelayServer(config, schemas) as relay:
        with pytest.raises(InvalidStatus) as caught:
            async with station(relay):
                pass
        assert caught.value.response.status_code == 502


async def test_allow_list_refuses_unknown_identities_with_404(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = relay_config(csms.url, allowed_station_ids=["CP-1"])
    async with RelayServer(config, schemas) as relay:
        async with station(relay, "CP-1"):
            pass
        with pytest.raises(InvalidStatus) as caught:
            async with station(relay, "CP-9"):
                pass
        assert caught.value.response.status_code == 404


async def test_csms_closing_closes_the_station_socket(relay: RelayServer, csms: RawCsms) -> None:
    async with station(relay) as socket:
        upstream = await csms.connection("CP-1")
        await upstream.socket.close(1000, "bye")
        with pytest.raises(ConnectionClosed):
            await recv(socket)
        assert socket.close_code == 1000


async def test_station_closing_closes_the_upstream_socket(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay):
        upstream = await csms.connection("CP-1")
    await asyncio.wait_for(upstream.socket.wait_closed(), 5)
    await asyncio.sleep(0)
    assert relay.station_ids == []


async def test_a_reconnecting_station_replaces_its_old_connection(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay) as old:
        first_upstream = await csms.connection("CP-1")
        async with station(relay) as new:
            with pytest.raises(ConnectionClosed):
                await recv(old)
            await asyncio.wait_for(first_upstream.socket.wait_closed(), 5)
            await new.send(BOOT_16)
            second_upstream = await csms.connection("CP-1")
            assert await second_upstream.next_frame() == BOOT_16


async def test_duplicate_connections_can_be_rejected(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = relay_config(csms.url, on_duplicate_connection="reject")
    async with RelayServer(config, schemas) as relay, station(relay):
        with pytest.raises(InvalidStatus) as caught:
            async with station(relay):
                pass
        assert caught.value.response.status_code == 409


async def test_own_call_is_answered_and_never_reaches_the_csms(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay) as socket:
        upstream = await csms.connection("CP-1")
        pending = asyncio.create_task(
            relay.call("CP-1", "GetConfiguration", {"key": ["HeartbeatInterval"]})
        )
        call = orjson.loads(await recv(socket))
        assert call[0] == 2 and call[1].startswith("lc-") and call[2] == "GetConfiguration"
        await socket.send(orjson.dumps([3, call[1], {"configurationKey": []}]).decode())
        assert await asyncio.wait_for(pending, 5) == {"configurationKey": []}
        await socket.send(BOOT_16)
        assert await upstream.next_frame() == BOOT_16  # the first frame the CSMS ever saw


async def test_own_call_waits_for_the_csms_call_in_flight(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay) as socket:
        upstream = await csms.connection("CP-1")
        await upstream.socket.send('[2,"cs-1","ClearCache",{}]')
        assert await recv(socket) == '[2,"cs-1","ClearCache",{}]'
        pending = asyncio.create_task(relay.call("CP-1", "ClearCache", {}))
        await asyncio.sleep(0.1)
        await socket.send('[3,"cs-1",{"status":"Accepted"}]')
        assert await upstream.next_frame() == '[3,"cs-1",{"status":"Accepted"}]'
        own = orjson.loads(await recv(socket))
        await socket.send(orjson.dumps([4, own[1], "NotSupported", "no", {}]).decode())
        with pytest.raises(OwnCallError) as caught:
            await asyncio.wait_for(pending, 5)
        assert caught.value.error_code == "NotSupported"
        assert upstream.received.empty()


async def test_calling_an_absent_station_fails_clearly(relay: RelayServer) -> None:
    with pytest.raises(StationUnavailableError):
        await relay.call("nobody", "ClearCache", {})


async def test_unparseable_frame_gets_a_callerror_and_the_socket_stays_open(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay, subprotocol="ocpp2.0.1") as socket:
        await socket.send("this is not json")
        assert orjson.loads(await recv(socket))[:3] == [4, "-1", "RpcFrameworkError"]
        await socket.send('[2,"h-1","Heartbeat",{}]')
        upstream = await csms.connection("CP-1")
        assert await upstream.next_frame() == '[2,"h-1","Heartbeat",{}]'


async def test_compression_is_negotiated_when_the_station_offers_it(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay, compression="deflate") as socket:
        assert any("permessage-deflate" in str(e.name) for e in socket.protocol.extensions)
    async with station(relay, compression=None) as socket:
        assert socket.protocol.extensions == []


async def test_two_hundred_stations_relay_at_once(relay: RelayServer, csms: RawCsms) -> None:
    async def one_station(number: int) -> None:
        async with station(relay, f"CP-{number}") as socket:
            await socket.send(BOOT_16)
            upstream = await csms.connection(f"CP-{number}", timeout_s=20)
            assert await upstream.next_frame(timeout_s=20) == BOOT_16
            await upstream.socket.send(BOOT_16_ANSWER)
            assert await recv(socket, timeout_s=20) == BOOT_16_ANSWER

    await asyncio.gather(*(one_station(n) for n in range(200)))


async def test_an_oversized_frame_closes_the_station_with_1009(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = relay_config(csms.url, max_frame_bytes=2048)
    async with RelayServer(config, schemas) as relay, station(relay) as socket:
        upstream = await csms.connection("CP-1")
        await socket.send('[2,"dt-1","DataTransfer",{"vendorId":"x","data":"' + "y" * 4096 + '"}]')
        with pytest.raises(ConnectionClosed):
            await recv(socket)
        assert socket.close_code == 1009  # message too big
        await asyncio.wait_for(upstream.socket.wait_closed(), 5)
        assert upstream.received.empty()


async def test_ocpp21_is_relayed_when_both_ends_speak_it(relay: RelayServer, csms: RawCsms) -> None:
    stream = '{"id":1,"pending":0,"basetime":"2026-01-01T00:00:00Z","data":[]}'
    send_frame = f'[6,"n-1","NotifyPeriodicEventStream",{stream}]'
    async with station(relay, subprotocol="ocpp2.1") as socket:
        assert socket.subprotocol == "ocpp2.1"
        await socket.send(send_frame)  # SEND: no reply expected, so nothing is queued behind it
        await socket.send('[2,"h-1","Heartbeat",{}]')
        upstream = await csms.connection("CP-1")
        assert await upstream.next_frame() == send_frame
        assert await upstream.next_frame() == '[2,"h-1","Heartbeat",{}]'


async def test_queued_own_calls_with_one_key_coalesce_to_the_newest(
    relay: RelayServer, csms: RawCsms
) -> None:
    async with station(relay) as socket:
        upstream = await csms.connection("CP-1")
        await upstream.socket.send('[2,"cs-1","ClearCache",{}]')
        assert orjson.loads(await recv(socket))[1] == "cs-1"  # the link is busy
        calls = [
            asyncio.create_task(
                relay.call(
                    "CP-1", "ChangeConfiguration", {"key": "K", "value": str(n)}, coalesce_key="k"
                )
            )
            for n in range(3)
        ]
        await asyncio.sleep(0.05)
        await socket.send('[3,"cs-1",{"status":"Accepted"}]')
        own = orjson.loads(await recv(socket))
        assert own[3] == {"key": "K", "value": "2"}  # only the newest went out
        await socket.send(orjson.dumps([3, own[1], {"status": "Accepted"}]).decode())
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert [getattr(r, "error_code", r) for r in results] == [
            "Superseded",
            "Superseded",
            {"status": "Accepted"},
        ]


async def test_a_failing_event_listener_does_not_stop_the_relay(
    csms: RawCsms, schemas: SchemaRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    def listener(station_id: str, event: object) -> None:
        raise RuntimeError("listener bug")

    async with (
        RelayServer(relay_config(csms.url), schemas, listener=listener) as relay,
        station(relay) as socket,
    ):
        await socket.send(BOOT_16)
        upstream = await csms.connection("CP-1")
        assert await upstream.next_frame() == BOOT_16
        await upstream.socket.send(BOOT_16_ANSWER)
        assert await recv(socket) == BOOT_16_ANSWER
    assert "event listener failed on FrameRelayed" in caplog.text


async def test_listeners_hear_links_open_and_close(csms: RawCsms, schemas: SchemaRegistry) -> None:
    heard: list[tuple[str, str]] = []
    async with RelayServer(
        relay_config(csms.url),
        schemas,
        listener=lambda sid, e: heard.append((sid, type(e).__name__)),
    ) as relay:
        async with station(relay, subprotocol="ocpp2.0.1"):
            await csms.connection("CP-1")
        for _ in range(100):
            if ("CP-1", "LinkClosed") in heard:
                break
            await asyncio.sleep(0.02)
    assert heard == [("CP-1", "LinkOpened"), ("CP-1", "LinkClosed")]


async def test_a_settled_burst_of_connections_is_frozen_out_of_garbage_collection(
    relay: RelayServer, csms: RawCsms
) -> None:
    frozen_before = gc.get_freeze_count()
    try:
        async with contextlib.AsyncExitStack() as stack:
            for number in range(60):
                await stack.enter_async_context(station(relay, f"GC-{number}"))
            for _ in range(60):  # the sweeper freezes 2 s after the last connection
                if gc.get_freeze_count() > frozen_before:
                    break
                await asyncio.sleep(0.1)
            assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()


async def test_calls_nobody_answers_time_out_while_idle_stations_stay_connected(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = relay_config(csms.url, own_call_timeout_s=0.3, relayed_call_timeout_s=0.3)
    async with (
        RelayServer(config, schemas) as relay,
        station(relay) as socket,
        station(relay, "CP-idle"),
    ):
        upstream = await csms.connection("CP-1")
        with pytest.raises(OwnCallError) as caught:
            await asyncio.wait_for(relay.call("CP-1", "ClearCache", {}), 5)
        assert caught.value.error_code == "Timeout"
        assert orjson.loads(await recv(socket))[2] == "ClearCache"  # sent, never answered
        # the CSMS's call, unanswered, times out too and lets the next one through
        await upstream.socket.send('[2,"cs-1","ClearCache",{}]')
        assert await recv(socket) == '[2,"cs-1","ClearCache",{}]'
        await upstream.socket.send('[2,"cs-2","ClearCache",{}]')
        assert await recv(socket) == '[2,"cs-2","ClearCache",{}]'
        assert relay.link("CP-idle") is not None
