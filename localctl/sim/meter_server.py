"""The site meter of the simulated site: an Eastron SDM630 served over Modbus TCP.

Rules of this file:
- The register layout is written here from the Eastron SDM630 Modbus protocol document
  (input registers, function code 04, IEEE 754 float32, high word first; a datasheet's 30001
  is address 0), independently of the controller's own map, so a test that reads this
  server through the controller's decoder checks both.
- Only what the controller reads and a few neighbours are served: per-phase voltage,
  current and active power, total power, frequency and imported energy. Other addresses in
  the block read as 0.0.
- The words are rebuilt from the latest `update()` on every read; `stop()` and `restart()`
  (same port) simulate a meter that drops off the network and comes back.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from localctl.inputs.modbus.adapter import RegisterServer
from localctl.sim.errors import SimError

PhaseValues = tuple[float, float, float]

VOLTAGE_ADDRESSES = (0x0000, 0x0002, 0x0004)
CURRENT_ADDRESSES = (0x0006, 0x0008, 0x000A)
POWER_ADDRESSES = (0x000C, 0x000E, 0x0010)
TOTAL_POWER_ADDRESS = 0x0034
FREQUENCY_ADDRESS = 0x0046
IMPORT_ENERGY_KWH_ADDRESS = 0x0048
INPUT_WORDS = 0x004A
SDM630_DEFAULT_UNIT_ID = 1


@dataclass(frozen=True, slots=True)
class MeterReading:
    """What the meter measures now; power per phase is voltage x current (power factor 1)."""

    current_a: PhaseValues = (0.0, 0.0, 0.0)
    voltage_v: PhaseValues = (230.0, 230.0, 230.0)
    import_energy_wh: float = 0.0
    frequency_hz: float = 50.0

    @property
    def power_w(self) -> PhaseValues:
        v1, v2, v3 = self.voltage_v
        i1, i2, i3 = self.current_a
        return (v1 * i1, v2 * i2, v3 * i3)


def float32_words(value: float) -> tuple[int, int]:
    """The two words of a big-endian IEEE 754 float32, high word first."""
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return (int(high), int(low))


def sdm630_input_words(reading: MeterReading) -> list[int]:
    """The input register block 0..INPUT_WORDS as an SDM630 would fill it."""
    values: dict[int, float] = {TOTAL_POWER_ADDRESS: sum(reading.power_w)}
    for addresses, phases in (
        (VOLTAGE_ADDRESSES, reading.voltage_v),
        (CURRENT_ADDRESSES, reading.current_a),
        (POWER_ADDRESSES, reading.power_w),
    ):
        values.update(zip(addresses, phases, strict=True))
    values[FREQUENCY_ADDRESS] = reading.frequency_hz
    values[IMPORT_ENERGY_KWH_ADDRESS] = reading.import_energy_wh / 1000.0
    words = [0] * INPUT_WORDS
    for address, value in values.items():
        words[address : address + 2] = float32_words(value)
    return words


class SiteMeterServer:
    """A Modbus TCP SDM630 on `host`:`port` (0: any free port, kept across restarts)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        unit_id: int = SDM630_DEFAULT_UNIT_ID,
        reading: MeterReading | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.reading = reading or MeterReading()
        self.reads = 0
        """How many input-register reads were answered (a poller's heartbeat)."""
        self._unit_id = unit_id
        self._server: RegisterServer | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def update(self, reading: MeterReading) -> None:
        """The values served from the next read on."""
        self.reading = reading

    async def start(self) -> int:
        """Listen and return the port; the first start picks a free one if `port` is 0."""
        if self._server is not None:
            raise SimError("meter server already running")
        server = RegisterServer(
            self, unit_id=self._unit_id, holding_words=(0, 0), input_count=INPUT_WORDS
        )
        self.port = await server.start(self.host, self.port)
        self._server = server
        return self.port

    async def stop(self) -> None:
        """Stop answering and drop the connected clients: the meter is lost."""
        if self._server is not None:
            server, self._server = self._server, None
            await server.close()

    async def restart(self) -> int:
        """Come back on the same port."""
        await self.stop()
        return await self.start()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # RegisterServerHandler

    def holding_write(self, address: int, words: tuple[int, ...]) -> bool:
        # The meter's settings are not simulated: every write is refused.
        return False

    def input_words(self) -> list[int]:
        self.reads += 1
        return sdm630_input_words(self.reading)
