"""The simulators' OCPP endpoint. Every frame a simulated peer receives is checked against its
action's schema: a CALL that breaks it gets the version's CALLERROR and is not handled, an
answer that breaks it fails the call. A raw WebSocket server on port 0 plays the CSMS so it
can send what no engine would. The log of received CALLs is bounded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.typing import Subprotocol

from localctl.sim import InvalidResultError, SimStation16, SimStation201
from localctl.sim.endpoint import CallLog, ReceivedCall

Answer = Callable[[list[Any]], list[Any]]


def answer_boot_with(payload: dict[str, Any]) -> Answer:
    def answer(frame: list[Any]) -> list[Any]:
        return [3, frame[1], payload]

    return answer


@dataclass
class RawCsms:
    url: str = ""
    connection: asyncio.Future[ServerConnection] = field(default_factory=asyncio.Future)
    frames: asyncio.Queue[list[Any]] = field(default_factory=asyncio.Queue)
    """what the station sent that was not a CALL"""

    async def ask(self, frame: list[Any]) -> list[Any]:
        connection = await asyncio.wait_for(self.connection, 5)
        await connection.send(json.dumps(frame))
        return await asyncio.wait_for(self.frames.get(), 5)


@asynccontextmanager
async def raw_csms(subprotocol: str, answer: Answer) -> AsyncIterator[RawCsms]:
    """A CSMS that answers every CALL with `answer(frame)`."""
    csms = RawCsms()

    async def handler(connection: ServerConnection) -> None:
        csms.connection.set_result(connection)
        async for text in connection:
            frame = json.loads(text)
            if frame[0] == 2:
                await connection.send(json.dumps(answer(frame)))
            else:
                await csms.frames.put(frame)

    async with serve(handler, "127.0.0.1", 0, subprotocols=[Subprotocol(subprotocol)]) as server:
        csms.url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        yield csms


_HIGH_STACK_LEVEL = {
    "connectorId": 1,
    "csChargingProfiles": {
        "chargingProfileId": 1,
        "stackLevel": "high",
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Relative",
        "chargingSchedule": {
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6.0}],
        },
    },
}


@pytest.mark.parametrize(
    ("station_class", "subprotocol", "payload", "code"),
    [
        (SimStation16, "ocpp1.6", {"connectorId": 1}, "ProtocolError"),
        (SimStation16, "ocpp1.6", _HIGH_STACK_LEVEL, "TypeConstraintViolation"),
        (SimStation201, "ocpp2.0.1", {"evseId": 1}, "OccurrenceConstraintViolation"),
        (
            SimStation201,
            "ocpp2.0.1",
            {"evseId": "one", "chargingProfile": {}},
            "TypeConstraintViolation",
        ),
    ],
)
async def test_a_call_that_breaks_its_schema_gets_the_versions_callerror(
    station_class: type[SimStation16 | SimStation201],
    subprotocol: str,
    payload: dict[str, Any],
    code: str,
) -> None:
    async with (
        raw_csms(subprotocol, answer_boot_with({})) as csms,
        station_class(csms.url, "CP") as station,
    ):
        error = await csms.ask([2, "m-1", "SetChargingProfile", payload])
        unknown = await csms.ask([2, "m-2", "Teleport", {}])
        assert station.profiles.profiles == []
    assert error[:3] == [4, "m-1", code]
    assert "SetChargingProfile" in error[3]
    assert unknown[:3] == [4, "m-2", "NotImplemented"]


async def test_an_answer_that_breaks_its_schema_fails_the_call() -> None:
    bad_boot = answer_boot_with({"status": "Accepted", "interval": "often"})
    async with (
        raw_csms("ocpp1.6", bad_boot) as csms,
        SimStation16(csms.url, "CP") as station,
    ):
        with pytest.raises(InvalidResultError) as caught:
            await station.boot()
    assert caught.value.action == "BootNotification"
    assert "interval" in caught.value.description or "currentTime" in caught.value.description


async def test_the_call_log_keeps_only_the_newest_calls() -> None:
    log = CallLog(max_calls=3)
    for number in range(5):
        log.append(ReceivedCall(f"m{number}", "Heartbeat", f'[2,"m{number}","Heartbeat",{{}}]'))
    assert [call.message_id for call in log.calls] == ["m2", "m3", "m4"]
    first = await log.wait_for("Heartbeat", count=1)
    assert (first.message_id, first.payload) == ("m2", {})
