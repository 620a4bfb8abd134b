"""Scripted stations, OCPP 1.6 and 2.0.1, that run one transaction (start, meter values, stop)
with a marker in every message and keep the delivery rules a real station keeps:
- one call at a time, each waiting for its answer;
- a call whose connection closed before its answer is sent again once reconnected (1.6 3.7,
  2.0.1 E04.FR.01/02): in 1.6 with the same message id (OCPP-J 1.6 errata: "MAY be
  identical"), in 2.0.1 with a new one (part 4, 4.1.4: "This also applies to retries");
- a transaction message answered with CALLERROR is sent again after the retry interval times
  the attempts so far, up to the configured attempts (1.6 3.7.1 TransactionMessageAttempts /
  TransactionMessageRetryInterval; 2.0.1 E12, MessageAttemptsTransactionEvent).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.protocol import State
from websockets.typing import Subprotocol

TAG = "TAG1"
START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SAMPLE_SPACING = timedelta(seconds=10)


class StationGaveUpError(Exception):
    """A transaction message was refused as often as the station tries: it would drop it."""


@dataclass(frozen=True, slots=True)
class RetryRules:
    attempts: int = 3
    interval_s: float = 0.1


@dataclass
class ScriptedStation:
    """One station; `url` is asked again at every reconnect (a restarted controller may
    listen on another port)."""

    station_id: str
    version: str  # "1.6" or "2.0.1"
    url: Callable[[], str]
    retry: RetryRules = field(default_factory=RetryRules)
    call_timeout_s: float = 30.0
    reconnect_delay_s: float = 0.05
    sent: list[int] = field(default_factory=list)  # markers, in the order first sent
    resent_after_reconnect: int = 0
    retried_after_callerror: int = 0
    connections: int = 0
    cut_after_sending: bool = False  # once: drop the connection right after the next send
    transaction_id: object = None
    _socket: ClientConnection | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _marker: int = 0
    _keeper: asyncio.Task[None] | None = None

    # -- the transaction --------------------------------------------------------------------

    async def start_transaction(self) -> None:
        marker = self._next_marker()
        if self.version == "1.6":
            payload = {"connectorId": 1, "idTag": TAG, "meterStart": marker, "timestamp": _ts(0)}
            answer = await self.call("StartTransaction", payload, marker)
            self.transaction_id = answer["transactionId"]
        else:
            self.transaction_id = f"tx-{self.station_id}"
            await self.call("TransactionEvent", self._event("Started", marker), marker)

    async def meter_values(self, count: int) -> None:
        """`count` samples, 10 s apart in their timestamps, as fast as they are answered."""
        for _ in range(count):
            marker = self._next_marker()
            if self.version == "1.6":
                payload = {
                    "connectorId": 1,
                    "transactionId": self.transaction_id,
                    "meterValue": [_sample(marker, self.version)],
                }
                await self.call("MeterValues", payload, marker)
            else:
                event = self._event("Updated", marker)
                event["meterValue"] = [_sample(marker, self.version)]
                await self.call("TransactionEvent", event, marker)

    async def stop_transaction(self) -> None:
        marker = self._next_marker()
        if self.version == "1.6":
            payload = {
                "transactionId": self.transaction_id,
                "meterStop": marker,
                "timestamp": _ts(marker),
            }
            await self.call("StopTransaction", payload, marker)
        else:
            await self.call("TransactionEvent", self._event("Ended", marker), marker)

    def _next_marker(self) -> int:
        marker = self._marker
        self._marker += 1
        return marker

    def _event(self, event_type: str, seq_no: int) -> dict[str, object]:
        trigger = {"Started": "Authorized", "Updated": "MeterValuePeriodic"}
        event: dict[str, object] = {
            "eventType": event_type,
            "timestamp": _ts(seq_no),
            "triggerReason": trigger.get(event_type, "StopAuthorized"),
            "seqNo": seq_no,
            "transactionInfo": {"transactionId": self.transaction_id},
        }
        if event_type == "Started":
            event["idToken"] = {"idToken": TAG, "type": "ISO14443"}
            event["evse"] = {"id": 1, "connectorId": 1}
        return event

    # -- OCPP-J -------------------------------------------------------------------------------

    async def call(self, action: str, payload: dict[str, object], marker: int) -> dict[str, object]:
        """Deliver one transaction message, as a station must; returns the CALLRESULT payload."""
        self.sent.append(marker)
        message_id = self._new_message_id()
        failures = 0
        while True:
            try:
                reply = await self._exchange(message_id, action, payload)
            except ConnectionClosed:
                self.resent_after_reconnect += 1
                if self.version != "1.6":
                    message_id = self._new_message_id()
                continue
            if reply[0] == 3:
                answer = reply[2]
                assert isinstance(answer, dict)
                return answer
            failures += 1
            if failures >= self.retry.attempts:
                raise StationGaveUpError(f"{action} {marker}: {reply}")
            self.retried_after_callerror += 1
            await asyncio.sleep(self.retry.interval_s * failures)
            if self.version != "1.6":
                message_id = self._new_message_id()

    async def _exchange(
        self, message_id: str, action: str, payload: dict[str, object]
    ) -> list[object]:
        socket = await self.connection()
        await socket.send(orjson.dumps([2, message_id, action, payload]).decode())
        if self.cut_after_sending:
            self.cut_after_sending = False
            self.cut()
        async with asyncio.timeout(self.call_timeout_s):
            while True:
                frame = orjson.loads(await socket.recv())
                if frame[0] in (3, 4) and frame[1] == message_id:
                    return list(frame)
                if frame[0] == 2:  # a call to the station: nothing here supports any
                    error = [4, frame[1], "NotSupported", "scripted station", {}]
                    await socket.send(orjson.dumps(error).decode())

    def _new_message_id(self) -> str:
        return f"{self.station_id}-{next(self._ids)}"

    # -- the connection -----------------------------------------------------------------------

    async def connection(self) -> ClientConnection:
        """The open socket, reconnecting (and retrying) as long as it takes."""
        async with self._lock:
            while self._socket is None or self._socket.state is not State.OPEN:
                if self._socket is not None:
                    await self._socket.close()
                    self._socket = None
                try:
                    self._socket = await connect(
                        f"{self.url()}/{self.station_id}",
                        subprotocols=[Subprotocol(f"ocpp{self.version}")],
                        open_timeout=5,
                        ping_interval=None,
                    )
                    self.connections += 1
                except (OSError, InvalidHandshake, TimeoutError):
                    await asyncio.sleep(self.reconnect_delay_s)
            return self._socket

    def cut(self) -> None:
        """Drop the TCP connection at once, as a station losing its network does."""
        if self._socket is not None:
            self._socket.transport.abort()

    def keep_connected(self) -> None:
        """Reconnect whenever the socket closes, even with nothing to send."""
        self._keeper = asyncio.get_running_loop().create_task(self._keep())

    async def _keep(self) -> None:
        while True:
            socket = await self.connection()
            await socket.wait_closed()

    async def __aenter__(self) -> ScriptedStation:
        await self.connection()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        if self._socket is not None:
            await self._socket.close()


def _ts(marker: int) -> str:
    return (START + SAMPLE_SPACING * marker).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sample(marker: int, version: str) -> dict[str, object]:
    measurand = "Energy.Active.Import.Register"
    if version == "1.6":  # a string in 1.6, a number with a unit object in 2.0.1
        value: dict[str, object] = {"value": str(marker), "measurand": measurand, "unit": "Wh"}
    else:
        value = {"value": marker, "measurand": measurand, "unitOfMeasure": {"unit": "Wh"}}
    return {"timestamp": _ts(marker), "sampledValue": [value]}
