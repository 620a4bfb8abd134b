"""Test doubles for the Modbus tests: a recording sink and a real pymodbus meter server.

The fake meter speaks pymodbus directly (not through localctl's adapter), so a mistake in the
adapter cannot hide behind the same mistake in the server. Its encoder is written separately
from localctl's too, for the same reason.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import cast

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from localctl.inputs.readings import EmsLimit, InputFault, MeterReading

WAIT_S = 3.0


@dataclass
class RecordingSink:
    """Records what inputs deliver; tests wait on it instead of sleeping."""

    readings: list[MeterReading] = field(default_factory=list)
    limits: list[EmsLimit] = field(default_factory=list)
    faults: list[InputFault] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def meter_reading(self, reading: MeterReading) -> None:
        self.readings.append(reading)
        self._changed.set()

    def ems_limit(self, limit: EmsLimit) -> None:
        self.limits.append(limit)
        self._changed.set()

    def input_fault(self, fault: InputFault) -> None:
        self.faults.append(fault)
        self._changed.set()

    async def wait_for(self, condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
        async with asyncio.timeout(timeout_s):
            while not condition():
                self._changed.clear()
                await self._changed.wait()


def words_of(value: float, type_name: str, word_order: str = "big") -> list[int]:
    """Encode like a meter would: struct formats by name, then split into 16-bit words."""
    fmt = {
        "int16": ">h",
        "uint16": ">H",
        "int32": ">i",
        "uint32": ">I",
        "float32": ">f",
        "float64": ">d",
    }[type_name]
    number = value if type_name.startswith("float") else round(value)
    raw = struct.pack(fmt, number)
    words = [raw[i] << 8 | raw[i + 1] for i in range(0, len(raw), 2)]
    return words if word_order == "big" else words[::-1]


def _runs(words: Mapping[int, int]) -> list[SimData]:
    """Contiguous runs of defined addresses; the gaps answer 'illegal address'."""
    runs: list[SimData] = []
    addresses = sorted(words)
    start = 0
    for index, address in enumerate(addresses):
        if index + 1 == len(addresses) or addresses[index + 1] != address + 1:
            run = addresses[start : index + 1]
            values = [words[a] for a in run]
            runs.append(SimData(run[0], values=values, datatype=DataType.REGISTERS))
            start = index + 1
    return runs or [SimData(60000, values=[0], datatype=DataType.REGISTERS)]


class FakeMeter:
    """A pymodbus TCP server on 127.0.0.1 serving fixed words; values change live via `set`."""

    def __init__(self, holding: Mapping[int, int], inputs: Mapping[int, int], unit_id: int = 1):
        self.holding = dict(holding)
        self.inputs = dict(inputs)
        self.unit_id = unit_id
        self.delay_s = 0.0
        self.reads = 0
        self.port = 0
        self._server: ModbusTcpServer | None = None

    def _device(self) -> SimDevice:
        bits = [SimData(0, values=False, datatype=DataType.BITS)]
        return SimDevice(
            id=self.unit_id,
            simdata=(bits, list(bits), _runs(self.holding), _runs(self.inputs)),
            action=self._on_access,
        )

    async def _on_access(  # noqa: PLR0917 (pymodbus' callback signature)
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.reads += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        source = self.holding if function_code == 3 else self.inputs
        for offset in range(count):
            if address + offset in source:
                registers[address + offset - start_address] = source[address + offset]
        return None

    def set(self, function_code: int, address: int, words: list[int]) -> None:
        target = self.holding if function_code == 3 else self.inputs
        for offset, word in enumerate(words):
            target[address + offset] = word

    async def start(self) -> int:
        server = ModbusTcpServer(self._device(), address=("127.0.0.1", self.port))
        await server.serve_forever(background=True)
        self._server = server
        self.port = cast(asyncio.Server, server.transport).sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None


class FakeClock:
    """Monotonic and wall clocks that follow real time with fixed offsets, to tell them apart."""

    def __init__(self) -> None:
        self.offset_s = 1000.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset_s

    def wall(self) -> float:
        return 1_700_000_000.0 + time.monotonic()
