"""The replay benchmark's peers: stations that charge through an outage, and a fast CSMS.

A station runs one transaction across the outage: a start, a MeterValues every 10 s of
simulated time, a stop. OCPP 1.6 stations send StartTransaction / MeterValues /
StopTransaction (and use the transactionId the controller gave them offline); OCPP 2.0.1
stations send TransactionEvent Started / Updated / Ended. Each waits for the answer before the
next call, as OCPP-J requires, and notes how long the answer took: while the CSMS is away that
is the controller's append-to-answer time, the outbox's cost as the station sees it.

The CSMS answers every call at once and checks what a replay must keep: each station's
messages arrive complete and in order, and a 1.6 station's later messages carry the
transactionId the CSMS gave its StartTransaction, not the local one.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.typing import Subprotocol

SIMULATED_START_S = 1_795_000_000  # 2026-11-18T...: the hour the outage covers
METER_INTERVAL_S = 10
TOKEN = "04A2B3C4D5E6F7"
_ANSWER_TIMEOUT_S = 120.0


def _timestamp(offset_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(SIMULATED_START_S + offset_s))


def _samples_16(index: int) -> list[dict[str, str]]:
    energy_wh = 11_000 * index * METER_INTERVAL_S / 3600
    phases = [
        {"value": "15.9", "measurand": "Current.Import", "unit": "A", "phase": p}
        for p in ("L1", "L2", "L3")
    ]
    return [
        {"value": f"{energy_wh:.1f}", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
        *phases,
    ]


def _samples_201(index: int) -> list[dict[str, object]]:
    """The same readings in 2.0.1's shape: numbers, and the unit in unitOfMeasure."""
    samples: list[dict[str, object]] = []
    for sample in _samples_16(index):
        converted: dict[str, object] = {
            "value": float(sample["value"]),
            "measurand": sample["measurand"],
            "unitOfMeasure": {"unit": sample["unit"]},
        }
        if "phase" in sample:
            converted["phase"] = sample["phase"]
        samples.append(converted)
    return samples


def meter_count(duration_s: int) -> int:
    return duration_s // METER_INTERVAL_S


def frames_16(station_id: str, duration_s: int, transaction_id: int) -> list[str]:
    """MeterValues and the stop, once the StartTransaction has its (local) transactionId."""
    frames = [
        [
            2,
            f"{station_id}-{i}",
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": transaction_id,
                "meterValue": [{"timestamp": _timestamp(i * 10), "sampledValue": _samples_16(i)}],
            },
        ]
        for i in range(1, meter_count(duration_s) + 1)
    ]
    stop = {
        "transactionId": transaction_id,
        "idTag": TOKEN,
        "meterStop": 11_000,
        "timestamp": _timestamp(duration_s),
    }
    frames.append([2, f"{station_id}-stop", "StopTransaction", stop])
    return [orjson.dumps(f).decode() for f in frames]


def start_16(station_id: str) -> str:
    payload = {"connectorId": 1, "idTag": TOKEN, "meterStart": 0, "timestamp": _timestamp(0)}
    return orjson.dumps([2, f"{station_id}-start", "StartTransaction", payload]).decode()


def frames_201(station_id: str, duration_s: int) -> list[str]:
    """The whole transaction: Started, an Updated per meter interval, Ended."""
    info = {"transactionId": f"tx-{station_id}"}

    def event(seq_no: int, kind: str, trigger: str, offset_s: int) -> list[object]:
        payload: dict[str, object] = {
            "eventType": kind,
            "timestamp": _timestamp(offset_s),
            "triggerReason": trigger,
            "seqNo": seq_no,
            "transactionInfo": info,
            "meterValue": [
                {"timestamp": _timestamp(offset_s), "sampledValue": _samples_201(seq_no)}
            ],
        }
        if kind == "Started":
            payload["idToken"] = {"idToken": TOKEN, "type": "ISO14443"}
            payload["evse"] = {"id": 1, "connectorId": 1}
        return [2, f"{station_id}-{seq_no}", "TransactionEvent", payload]

    meters = meter_count(duration_s)
    frames = [event(0, "Started", "Authorized", 0)]
    frames += [event(i, "Updated", "MeterValuePeriodic", i * 10) for i in range(1, meters + 1)]
    frames.append(event(meters + 1, "Ended", "StopAuthorized", duration_s))
    return [orjson.dumps(f).decode() for f in frames]


@dataclass(slots=True)
class StationRun:
    """One station's hour, paced: call k goes out at `started_s + k * interval_s` or, when
    the controller is slower than that, as soon as the previous answer is in."""

    station_id: str
    socket: ClientConnection
    latencies_s: list[float] = field(default_factory=list)
    late_s: float = 0.0  # how far behind its schedule the station fell at worst

    async def call(self, frame: str) -> list[object]:
        started_s = time.perf_counter()
        await self.socket.send(frame)
        reply = orjson.loads(await asyncio.wait_for(self.socket.recv(), _ANSWER_TIMEOUT_S))
        self.latencies_s.append(time.perf_counter() - started_s)
        if reply[0] != 3:
            raise RuntimeError(f"{self.station_id}: refused {frame[:60]}: {reply}")
        answer: list[object] = reply
        return answer

    async def paced(self, frames: list[str], interval_s: float, first_at_s: float) -> None:
        for k, frame in enumerate(frames):
            due_s = first_at_s + k * interval_s
            now_s = time.perf_counter()
            if now_s < due_s:
                await asyncio.sleep(due_s - now_s)
            else:
                self.late_s = max(self.late_s, now_s - due_s)
            await self.call(frame)

    async def hour(self, version: str, duration_s: int, interval_s: float) -> None:
        began_s = time.perf_counter()
        if version == "ocpp1.6":
            answer = await self.call(start_16(self.station_id))
            payload = answer[2]
            assert isinstance(payload, dict)
            frames = frames_16(self.station_id, duration_s, int(payload["transactionId"]))
            await self.paced(frames, interval_s, began_s + interval_s)
        else:
            await self.paced(frames_201(self.station_id, duration_s), interval_s, began_s)


@dataclass(slots=True)
class Delivery:
    """What the CSMS received from one station."""

    count: int = 0
    last_index: int = -1
    transaction_id: int | None = None
    problems: list[str] = field(default_factory=list)


class ReplayCsms:
    """Answers every call at once; counts, times and checks the transaction messages."""

    def __init__(self, port: int, stations: int) -> None:
        self.port = port
        self._stations = stations
        self.all_connected_s = 0.0
        self.received_when_all_connected = 0
        self.received = 0
        self.first_s: float | None = None
        self.last_s = 0.0
        self.connections = 0
        self.deliveries: dict[str, Delivery] = {}
        self._ids = itertools.count(1)
        self._expected = 0
        self._all_in = asyncio.Event()
        self._server: Server | None = None

    async def start(self, expected: int) -> None:
        self._expected = expected
        self._server = await serve(
            self._answer,
            "127.0.0.1",
            self.port,
            subprotocols=[Subprotocol("ocpp1.6"), Subprotocol("ocpp2.0.1")],
            compression=None,
            ping_interval=None,
            backlog=1024,
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def all_in(self, timeout_s: float) -> None:
        await asyncio.wait_for(self._all_in.wait(), timeout_s)

    async def _answer(self, socket: ServerConnection) -> None:
        self.connections += 1
        if self.connections == self._stations:
            self.all_connected_s = time.perf_counter()
            self.received_when_all_connected = self.received
        assert socket.request is not None
        station_id = socket.request.path.rpartition("/")[2]
        delivery = self.deliveries.setdefault(station_id, Delivery())
        async for message in socket:
            frame = orjson.loads(message)
            if frame[0] == 2:
                await socket.send(orjson.dumps([3, frame[1], self._record(delivery, frame)]))

    def _record(self, delivery: Delivery, frame: list[object]) -> dict[str, object]:
        now_s = time.perf_counter()
        self.first_s = self.first_s or now_s
        self.last_s = now_s
        self.received += 1
        delivery.count += 1
        _, message_id, action, payload = frame
        assert isinstance(message_id, str) and isinstance(payload, dict)
        self._check_order(delivery, message_id)
        answer: dict[str, object] = {}
        if action == "StartTransaction":
            delivery.transaction_id = next(self._ids)
            answer = {"idTagInfo": {"status": "Accepted"}, "transactionId": delivery.transaction_id}
        mapped_id = payload.get("transactionId", delivery.transaction_id)
        if action in ("MeterValues", "StopTransaction") and mapped_id != delivery.transaction_id:
            delivery.problems.append(f"{message_id}: transactionId {mapped_id}")
        if self.received >= self._expected:
            self._all_in.set()
        return answer

    @staticmethod
    def _check_order(delivery: Delivery, message_id: str) -> None:
        suffix = message_id.rpartition("-")[2]
        index = {"start": 0, "stop": 1 << 30}.get(suffix)
        index = int(suffix) if index is None else index
        if index <= delivery.last_index:
            delivery.problems.append(f"{message_id} after index {delivery.last_index}")
        delivery.last_index = index
