"""The poller task of one Modbus TCP meter: connect, read, decode, deliver, reconnect.

Every poll ends in exactly one delivery to the sink: a `MeterReading` or an `InputFault`. The
sink sees every failed poll (so a fault's age says the meter is still failing); the log sees
only changes (meter fails, fails differently, recovers), so a dead meter does not flood it.
After a connection failure the poller waits an exponentially growing, jittered delay between
`reconnect_backoff_min_s` and `reconnect_backoff_max_s` (jitter keeps many pollers from
retrying in step after a shared switch reboots).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Protocol

from localctl.backoff import Backoff
from localctl.inputs.modbus.adapter import (
    ModbusLinkError,
    ModbusResponseError,
    TcpRegisterClient,
)
from localctl.inputs.modbus.blocks import ReadBlock, RegisterImage, plan_blocks
from localctl.inputs.modbus.config import ModbusMeterConfig
from localctl.inputs.modbus.decode import DecodeError
from localctl.inputs.modbus.meter_values import MeterValues, decode_meter_values
from localctl.inputs.modbus.registers import sunspec_meter_map
from localctl.inputs.modbus.sunspec import find_sunspec_model
from localctl.inputs.readings import InputFault, MeterReading, ReadingSink

__all__ = ["Backoff", "MeterPoller", "RegisterClient"]

logger = logging.getLogger(__name__)


class RegisterClient(Protocol):
    """What the poller needs from a Modbus client (adapter.TcpRegisterClient in production)."""

    async def connect(self) -> None: ...

    async def read_registers(
        self, function_code: int, address: int, count: int
    ) -> tuple[int, ...]: ...

    def close(self) -> None: ...


def tcp_client_for(config: ModbusMeterConfig) -> RegisterClient:
    return TcpRegisterClient(config.host, config.port, config.unit_id, config.timeout_s)


class MeterPoller:
    """Polls one meter until cancelled; cancelling `run()` closes the connection."""

    def __init__(
        self,
        config: ModbusMeterConfig,
        sink: ReadingSink,
        *,
        monotonic: Callable[[], float],
        wall: Callable[[], float],
        rng: random.Random,
        client_factory: Callable[[ModbusMeterConfig], RegisterClient] = tcp_client_for,
    ) -> None:
        self._config = config
        self._sink = sink
        self._monotonic = monotonic
        self._wall = wall
        self._client_factory = client_factory
        self._register_map = config.register_map()
        self._blocks = plan_blocks(self._register_map)
        self._backoff = Backoff(config.reconnect_backoff_min_s, config.reconnect_backoff_max_s, rng)
        self._fault_kind: str | None = None

    async def run(self) -> None:
        while True:
            client = self._client_factory(self._config)
            try:
                await self._connect_and_poll(client)
            finally:
                client.close()
            await asyncio.sleep(self._backoff.next_delay_s())

    async def _connect_and_poll(self, client: RegisterClient) -> None:
        """Returns when the connection is unusable."""
        try:
            await client.connect()
        except ModbusLinkError as exc:
            self._fault("unreachable", str(exc))
            return
        if not await self._locate_sunspec_model(client):
            return
        while True:
            started_s = self._monotonic()
            if not await self._poll_once(client):
                return
            elapsed_s = self._monotonic() - started_s
            await asyncio.sleep(max(0.0, self._config.poll_interval_s - elapsed_s))

    async def _locate_sunspec_model(self, client: RegisterClient) -> bool:
        """Walk the SunSpec model list if the address is not configured; False on failure."""
        model_id = self._config.sunspec_model_id()
        if model_id is None or self._config.sunspec_model_address is not None:
            return True
        try:
            address = await find_sunspec_model(client, model_id)
        except (ModbusResponseError, DecodeError) as exc:
            self._fault("SunSpec model not found", str(exc))
            return False
        except ModbusLinkError as exc:
            self._fault("no answer", str(exc))
            return False
        self._register_map = sunspec_meter_map(model_id, address)
        self._blocks = plan_blocks(self._register_map)
        return True

    async def _poll_once(self, client: RegisterClient) -> bool:
        """Read and deliver one reading or one fault; False if the connection must be reopened."""
        try:
            values = decode_meter_values(self._register_map, await self._read_image(client))
        except ModbusResponseError as exc:
            self._fault("error response", str(exc))
        except ModbusLinkError as exc:
            self._fault("no answer", str(exc))
            return False
        except DecodeError as exc:
            self._fault("invalid value", str(exc))
        else:
            self._backoff.reset()
            self._deliver(values)
        return True

    async def _read_image(self, client: RegisterClient) -> RegisterImage:
        words: dict[ReadBlock, tuple[int, ...]] = {}
        for block in self._blocks:
            words[block] = await client.read_registers(
                block.function_code, block.address, block.count
            )
        return RegisterImage(words)

    def _deliver(self, values: MeterValues) -> None:
        reading = MeterReading(
            meter_id=self._config.id,
            node_id=self._config.node_id,
            current_a=values.current_a,
            voltage_v=values.voltage_v,
            power_w=values.power_w,
            monotonic_s=self._monotonic(),
            wall_time_s=self._wall(),
        )
        self._sink.meter_reading(reading)
        if self._fault_kind is not None:
            logger.info("meter %s: readings again after %s", self._config.id, self._fault_kind)
            self._fault_kind = None

    def _fault(self, kind: str, detail: str) -> None:
        description = f"{kind}: {detail}"
        self._sink.input_fault(InputFault(self._config.id, description, self._monotonic()))
        if kind != self._fault_kind:
            logger.warning(
                "meter %s at %s:%s: %s",
                self._config.id,
                self._config.host,
                self._config.port,
                description,
            )
            self._fault_kind = kind
