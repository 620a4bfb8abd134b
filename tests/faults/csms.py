"""A CSMS that records every transaction message it receives, per station, with the
station's own marker, and can be stopped, crashed, restarted on the same port, made slow, or
made to refuse transaction messages with CALLERROR."""

from __future__ import annotations

import asyncio
import enum
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

TRANSACTION_ACTIONS = frozenset(
    {"StartTransaction", "StopTransaction", "MeterValues", "TransactionEvent"}
)
TIME = "2026-11-22T12:00:00Z"


class Outcome(enum.Enum):
    UNANSWERED = "unanswered"  # received; the answer never went out (yet)
    ANSWERED = "answered"  # a CALLRESULT was written to the socket
    REFUSED = "refused"  # a CALLERROR: the CSMS did not take the message


@dataclass(slots=True)
class Receipt:
    """One copy of a transaction message as the CSMS received it."""

    station_id: str
    action: str
    message_id: str
    marker: int
    transaction_ref: str | None  # the transaction it names (None: a 1.6 StartTransaction)
    outcome: Outcome = Outcome.UNANSWERED
    issued_transaction_id: int | None = None  # 1.6 StartTransaction: the id the CSMS gave


def marker_of(action: str, payload: dict[str, object]) -> int:
    """The station's marker: the 1.6 meter reading (Wh) or the 2.0.1 seqNo."""
    if action == "StartTransaction":
        return int(str(payload["meterStart"]))
    if action == "StopTransaction":
        return int(str(payload["meterStop"]))
    if action == "TransactionEvent":
        return int(str(payload["seqNo"]))
    meter_values = payload["meterValue"]
    assert isinstance(meter_values, list)
    return int(meter_values[0]["sampledValue"][0]["value"])


def transaction_ref(action: str, payload: dict[str, object]) -> str | None:
    if action == "TransactionEvent":
        info = payload["transactionInfo"]
        assert isinstance(info, dict)
        return str(info["transactionId"])
    reference = payload.get("transactionId")
    return None if reference is None else str(reference)


def _answer(action: str, issued_id: int | None) -> dict[str, object]:
    if action == "StartTransaction":
        return {"idTagInfo": {"status": "Accepted"}, "transactionId": issued_id}
    if action == "BootNotification":
        return {"status": "Accepted", "currentTime": TIME, "interval": 300}
    if action == "Heartbeat":
        return {"currentTime": TIME}
    return {}


class RecordingCsms:
    """Both ocpp1.6 and ocpp2.0.1 on 127.0.0.1, port 0 at first and the same port after."""

    def __init__(self) -> None:
        self.port = 0
        self.answer_delay_s = 0.0
        self.refuse_transaction_messages = 0  # the next this many get a CALLERROR
        self.crash_when: Callable[[Receipt], bool] | None = None  # crash before answering
        self.receipts: list[Receipt] = []
        self.connections_accepted = 0
        self._transaction_ids = itertools.count(1001)  # the CSMS's database outlives restarts
        self._server: Server | None = None
        self._stopping = asyncio.Event()
        self._changed = asyncio.Condition()
        self._crash: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    @property
    def running(self) -> bool:
        return self._server is not None

    def received(self, station_id: str) -> list[Receipt]:
        return [r for r in self.receipts if r.station_id == station_id]

    def issued_ids(self, station_id: str) -> set[str]:
        return {
            str(r.issued_transaction_id)
            for r in self.received(station_id)
            if r.issued_transaction_id is not None
        }

    async def start(self) -> None:
        self._stopping = asyncio.Event()
        self._server = await serve(
            self._serve,
            "127.0.0.1",
            self.port,
            subprotocols=[Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")],
        )
        self.port = next(iter(self._server.sockets)).getsockname()[1]

    async def stop(self, *, crash: bool = False) -> None:
        """Go away: a clean shutdown (close frames, 1001) or a crash (connections cut).
        Answers still being held are never sent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        if crash:
            for connection in server.connections:
                connection.transport.abort()
        server.close()
        await server.wait_closed()

    async def crashed(self) -> None:
        """Wait until a crash set up with `crash_when` has happened."""
        await self.wait_until(lambda: self._crash is not None)
        assert self._crash is not None
        await self._crash

    async def wait_until(self, condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(condition)

    async def __aenter__(self) -> RecordingCsms:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        if self._crash is not None:
            await self._crash

    async def _serve(self, socket: ServerConnection) -> None:
        self.connections_accepted += 1
        station_id = socket.request.path.rstrip("/").rpartition("/")[2] if socket.request else ""
        try:
            async for message in socket:
                frame = orjson.loads(message)
                if frame[0] == 2 and not await self._on_call(socket, station_id, frame):
                    return
        except ConnectionClosed:
            pass

    async def _on_call(
        self, socket: ServerConnection, station_id: str, frame: list[object]
    ) -> bool:
        """Answer one call; False once this CSMS is going away."""
        _, message_id, action, payload = frame
        assert isinstance(message_id, str) and isinstance(action, str)
        assert isinstance(payload, dict)
        receipt = None
        if action in TRANSACTION_ACTIONS:
            receipt = Receipt(
                station_id,
                action,
                message_id,
                marker_of(action, payload),
                transaction_ref(action, payload),
            )
            await self._record(receipt)
            if self.crash_when is not None and self.crash_when(receipt):
                self.crash_when = None
                self._crash = asyncio.get_running_loop().create_task(self.stop(crash=True))
                await self._notify()
                return False
            if self.refuse_transaction_messages > 0:
                self.refuse_transaction_messages -= 1
                receipt.outcome = Outcome.REFUSED
                error = [4, message_id, "InternalError", "refused for the test", {}]
                await socket.send(orjson.dumps(error).decode())
                return True
        if self.answer_delay_s > 0:
            try:
                async with asyncio.timeout(self.answer_delay_s):
                    await self._stopping.wait()
                return False  # stopped while holding the answer: it is never sent
            except TimeoutError:
                pass
        issued = None
        if action == "StartTransaction":
            issued = next(self._transaction_ids)
        await socket.send(orjson.dumps([3, message_id, _answer(action, issued)]).decode())
        if receipt is not None:
            receipt.outcome = Outcome.ANSWERED
            receipt.issued_transaction_id = issued
            await self._notify()
        return True

    async def _record(self, receipt: Receipt) -> None:
        self.receipts.append(receipt)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
