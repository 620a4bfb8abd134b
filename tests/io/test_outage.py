"""Store and forward with real sockets and a real SQLite outbox: the CSMS goes away, the
station stays connected and is answered locally, and everything reaches the CSMS, in order,
with the 1.6 transaction id mapped, once it is back on the same port."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from localctl.io.outage import OutageSettings
from localctl.io.relay_server import RelayServer
from localctl.offline import Outbox
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.store_forward import ReplayRules
from tests.io.conftest import relay_config
from tests.io.rawpeers import RawCsms
from tests.io.test_relay_server import recv, station

TIME = "2026-11-22T12:00:00Z"
ANSWERS: dict[str, object] = {
    "BootNotification": {"status": "Accepted", "currentTime": TIME, "interval": 60},
    "StartTransaction": {"idTagInfo": {"status": "Accepted"}, "transactionId": 4711},
}


class AutoCsms:
    """A 1.6 CSMS that answers every call and records them; it can stop and start again on
    the same port."""

    def __init__(self) -> None:
        self.calls: asyncio.Queue[list[object]] = asyncio.Queue()
        self.port = 0
        self._server: Server | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        self._server = await serve(
            self._answer, "127.0.0.1", self.port, subprotocols=[Subprotocol("ocpp1.6")]
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def next_call(self, timeout_s: float = 10.0) -> list[object]:
        return await asyncio.wait_for(self.calls.get(), timeout_s)

    async def _answer(self, socket: ServerConnection) -> None:
        async for message in socket:
            frame = orjson.loads(message)
            if frame[0] == 2:
                await self.calls.put(frame)
                answer = ANSWERS.get(frame[2], {})
                await socket.send(orjson.dumps([3, frame[1], answer]).decode())

    async def __aenter__(self) -> AutoCsms:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            await self.stop()


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    store = await Outbox.open(tmp_path / "outbox.sqlite3")
    yield store
    await store.close()


def settings(outbox: Outbox) -> OutageSettings:
    return OutageSettings(
        outbox,
        reconnect_min_s=0.05,
        reconnect_max_s=0.2,
        replay=ReplayRules(attempts=3, retry_interval_s=0.1),
        accepted_tokens=frozenset({"TAG1"}),
        rng=random.Random(1),
    )


def both_versions(relay: RelayServer) -> connect:
    """A station offering 2.0.1 first, then 1.6."""
    return connect(
        f"ws://127.0.0.1:{relay.port}/ocpp/CP-1",
        subprotocols=[Subprotocol("ocpp2.0.1"), Subprotocol("ocpp1.6")],
    )


async def call(socket: ClientConnection, message_id: str, action: str, payload: object) -> object:
    await socket.send(orjson.dumps([2, message_id, action, payload]).decode())
    answer = orjson.loads(await recv(socket))
    assert answer[:2] == [3, message_id], answer
    return answer[2]


async def test_an_outage_loses_nothing_and_maps_the_transaction_id(
    outbox: Outbox, schemas: SchemaRegistry
) -> None:
    async with AutoCsms() as csms:
        config = relay_config(csms.url)
        async with (
            RelayServer(config, schemas, outage=settings(outbox)) as relay,
            station(relay) as socket,
        ):
            boot = {"chargePointModel": "M", "chargePointVendor": "V"}
            await call(socket, "b-1", "BootNotification", boot)
            assert (await csms.next_call())[2] == "BootNotification"

            await csms.stop()  # the CSMS goes away; the station stays
            heartbeat = await call(socket, "h-1", "Heartbeat", {})
            assert "currentTime" in heartbeat  # type: ignore[operator]
            start = {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": TIME}
            started = await call(socket, "s-1", "StartTransaction", start)
            local_id = started["transactionId"]  # type: ignore[index]
            assert local_id < 0
            sample = {"timestamp": TIME, "sampledValue": [{"value": "100"}]}
            meter = {"connectorId": 1, "transactionId": local_id, "meterValue": [sample]}
            assert await call(socket, "m-1", "MeterValues", meter) == {}
            assert [e.action for e in await outbox.pending("CP-1")] == [
                "StartTransaction",
                "MeterValues",
            ]

            await csms.start()  # back on the same port: the relay reconnects and replays
            replayed = [await csms.next_call() for _ in range(2)]
            assert [(f[1], f[2]) for f in replayed] == [
                ("s-1", "StartTransaction"),
                ("m-1", "MeterValues"),
            ]
            assert replayed[1][3]["transactionId"] == 4711  # type: ignore[index]

            stop = {"transactionId": local_id, "meterStop": 500, "timestamp": TIME}
            assert await call(socket, "p-1", "StopTransaction", stop) == {}
            stopped = await csms.next_call()
            assert stopped[2] == "StopTransaction"
            assert stopped[3]["transactionId"] == 4711  # type: ignore[index]
            assert await outbox.pending("CP-1") == []
            assert await outbox.transaction_map("CP-1") == {str(local_id): "4711"}


async def test_entries_left_by_a_crash_are_replayed_before_anything_new(
    outbox: Outbox, schemas: SchemaRegistry
) -> None:
    sample = {"timestamp": TIME, "sampledValue": [{"value": "1"}]}
    meter = orjson.dumps(
        [2, "old-1", "MeterValues", {"connectorId": 1, "meterValue": [sample]}]
    ).decode()
    await outbox.append("CP-1", "MeterValues", "old-1", meter, received_wall_s=0.0)
    async with AutoCsms() as csms:
        config = relay_config(csms.url)
        async with (
            RelayServer(config, schemas, outage=settings(outbox)) as relay,
            station(relay) as socket,
        ):
            await socket.send('[2,"h-1","Heartbeat",{}]')
            first = await csms.next_call()
            assert first[1] == "old-1"
            assert orjson.loads(await recv(socket))[1] == "h-1"
            assert await outbox.pending("CP-1") == []


async def test_a_station_connecting_while_the_csms_is_down_is_served_offline(
    outbox: Outbox, schemas: SchemaRegistry
) -> None:
    async with AutoCsms() as csms:
        config = relay_config(csms.url, subprotocols=["ocpp2.0.1", "ocpp1.6"])
        async with RelayServer(config, schemas, outage=settings(outbox)) as relay:
            # The CSMS (1.6 only) picks ocpp1.6 for a station that offers both.
            async with both_versions(relay) as socket:
                assert socket.subprotocol == "ocpp1.6"
            await csms.stop()

            async with both_versions(relay) as socket:
                # Accepted although the CSMS is unreachable, in the version it chose before.
                assert socket.subprotocol == "ocpp1.6"
                boot = {"chargePointModel": "M", "chargePointVendor": "V"}
                booted = await call(socket, "b-1", "BootNotification", boot)
                assert booted["status"] == "Accepted"  # type: ignore[index]
                start = {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": TIME}
                started = await call(socket, "s-1", "StartTransaction", start)
                local_id = started["transactionId"]  # type: ignore[index]
                assert local_id < 0

                await csms.start()
                replayed = await csms.next_call()
                while replayed[2] != "StartTransaction":  # whatever the station sent first
                    replayed = await csms.next_call()
                assert replayed[1] == "s-1"
                stop = {"transactionId": local_id, "meterStop": 500, "timestamp": TIME}
                assert await call(socket, "p-1", "StopTransaction", stop) == {}
                stopped = await csms.next_call()
                assert stopped[3]["transactionId"] == 4711  # type: ignore[index]
                assert relay.station_ids == ["CP-1"]


async def test_without_offline_operation_an_unreachable_csms_refuses_the_station(
    schemas: SchemaRegistry,
) -> None:
    async with AutoCsms() as csms:
        url = csms.url
    async with RelayServer(relay_config(url), schemas) as relay:
        with pytest.raises(InvalidStatus) as refused:
            async with station(relay):
                pass
        assert refused.value.response.status_code == 502


@pytest.mark.parametrize(("status", "accepted"), [(503, True), (429, True), (404, False)])
async def test_a_busy_csms_means_offline_but_a_refusal_is_mirrored(
    outbox: Outbox, schemas: SchemaRegistry, status: int, accepted: bool
) -> None:
    async with (
        RawCsms(refuse={"CP-1": status}) as csms,
        RelayServer(relay_config(csms.url), schemas, outage=settings(outbox)) as relay,
    ):
        if accepted:
            async with station(relay) as socket:
                assert await call(socket, "h-1", "Heartbeat", {}) != {}
        else:
            with pytest.raises(InvalidStatus) as refused:
                async with station(relay):
                    pass
            assert refused.value.response.status_code == status
