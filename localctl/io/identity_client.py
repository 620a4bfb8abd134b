"""The controller's own WebSocket connection to the CSMS: boot, heartbeats, answers.

The OCPP logic is `ControllerIdentity` (sans-I/O); this shell connects, keeps one CALL of
its own in flight at a time, answers the CSMS's calls, and reconnects with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from localctl.backoff import Backoff
from localctl.clocks import Clocks
from localctl.control.identity import ControllerIdentity
from localctl.relay.errors import PeerProtocolError
from localctl.relay.frames import (
    Call,
    CallError,
    CallResult,
    JsonObject,
    encode_call,
    encode_call_error,
    encode_call_result,
    parse_frame,
)

log = logging.getLogger("localctl.identity")

_CALL_TIMEOUT_S = 30.0
_BOOT_RETRY_S = 30.0


class IdentityClient:
    def __init__(
        self,
        identity: ControllerIdentity,
        upstream_url: str,
        clocks: Clocks,
        *,
        reconnect_max_s: float = 60.0,
        connect_options: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.identity = identity
        # Asked on every connect, so renewed certificates and credentials apply.
        self._connect_options = connect_options
        self._url = f"{upstream_url}/{quote(identity.station_id, safe='')}"
        self._clocks = clocks
        self._backoff = Backoff(1.0, reconnect_max_s, clocks.rng)
        self._ids = (f"lc-id-{n}" for n in itertools.count(1))
        self._pending: dict[str, asyncio.Future[JsonObject]] = {}
        self._call_lock = asyncio.Lock()  # one CALL of ours in flight (OCPP-J 4.1.1)
        self.connected = asyncio.Event()
        self._triggered_tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while True:
            try:
                async with connect(
                    self._url,
                    subprotocols=[Subprotocol(self.identity.version.value)],
                    proxy=None,
                    **self._connect_options(),
                ) as socket:
                    self._backoff.reset()
                    await self._serve(socket)
            except (OSError, InvalidHandshake, ConnectionClosed, TimeoutError) as exc:
                log.warning("controller identity %s: %r", self.identity.station_id, exc)
            finally:
                self.connected.clear()
                self._fail_pending()
                for task in self._triggered_tasks:
                    task.cancel()
            await asyncio.sleep(self._backoff.next_delay_s())

    async def _serve(self, socket: ClientConnection) -> None:
        async with asyncio.TaskGroup() as tasks:
            reader = tasks.create_task(self._read(socket))
            await self._boot(socket)
            self.connected.set()
            log.info("controller identity %s connected", self.identity.station_id)
            beats = tasks.create_task(self._heartbeats(socket))
            await reader
            beats.cancel()

    async def _boot(self, socket: ClientConnection) -> None:
        while True:
            action, payload = self.identity.boot_payload()
            answer = await self._call(socket, action, payload)
            if self.identity.boot_answered(answer):
                return
            await asyncio.sleep(self.identity.heartbeat_interval_s or _BOOT_RETRY_S)

    async def _heartbeats(self, socket: ClientConnection) -> None:
        while True:
            await asyncio.sleep(self.identity.heartbeat_interval_s)
            await self._call(socket, "Heartbeat", {})

    async def _call(self, socket: ClientConnection, action: str, payload: JsonObject) -> JsonObject:
        async with self._call_lock:
            message_id = next(self._ids)
            future: asyncio.Future[JsonObject] = asyncio.get_running_loop().create_future()
            self._pending[message_id] = future
            await socket.send(encode_call(message_id, action, payload))
            try:
                return await asyncio.wait_for(future, _CALL_TIMEOUT_S)
            finally:
                self._pending.pop(message_id, None)

    async def _read(self, socket: ClientConnection) -> None:
        async for message in socket:
            try:
                frame = parse_frame(message, self.identity.version)
            except PeerProtocolError as exc:
                log.warning(
                    "controller identity: malformed frame from the CSMS: %s", exc.description
                )
                continue
            if isinstance(frame, Call):
                await socket.send(self._answer(frame))
                for triggered in self._take_triggered():
                    task = asyncio.create_task(self._send_triggered(socket, triggered))
                    self._triggered_tasks.add(task)
                    task.add_done_callback(self._triggered_tasks.discard)
            else:
                self._resolve(frame)

    def _answer(self, call: Call) -> str:
        answer = self.identity.handle(call, datetime.fromtimestamp(self._clocks.wall(), UTC))
        if isinstance(answer, tuple):
            return encode_call_error(call.message_id, answer[0], answer[1])
        return encode_call_result(call.message_id, answer)

    def _take_triggered(self) -> list[str]:
        triggered, self.identity.triggered = self.identity.triggered, []
        return triggered

    async def _send_triggered(self, socket: ClientConnection, message: str) -> None:
        action, payload = (
            self.identity.boot_payload() if message == "BootNotification" else ("Heartbeat", {})
        )
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            await self._call(socket, action, payload)

    def _resolve(self, frame: CallResult | CallError) -> None:
        future = self._pending.get(frame.message_id)
        if future is None or future.done():
            return
        if isinstance(frame, CallResult):
            future.set_result(frame.payload)
        else:
            future.set_exception(ConnectionError(f"{frame.error_code}: {frame.error_description}"))

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("connection closed"))
