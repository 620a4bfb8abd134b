"""The Modbus TCP server an energy-management system (EMS) writes a limit to.

The register map and its rules are in `ems_registers` (and docs/modbus.md); this shell serves
them, stamps writes with the injected clocks and reports to the sink:
- every accepted write delivers the current limit, with its expiry, as an `EmsLimit`;
- a refused write is answered with Modbus exception 3 (illegal data value) and reported as an
  `InputFault` saying why;
- when the EMS goes quiet nothing more is delivered and the last limit expires on its own;
  `watch()` logs and reports that transition once.

Usage: `async with EmsModbusServer(...) as server:` then await `server.watch()` in a task group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from types import TracebackType

from localctl.inputs.modbus.adapter import RegisterServer
from localctl.inputs.modbus.config import ModbusEmsServerConfig
from localctl.inputs.modbus.ems_registers import (
    INITIAL_HOLDING_WORDS,
    INPUT_REGISTERS,
    ControllerStatus,
    EmsLimitRegisters,
    EmsLimitState,
    SiteSnapshot,
    input_words,
)
from localctl.inputs.readings import EmsLimit, InputFault, ReadingSink

__all__ = ["ControllerStatus", "EmsModbusServer", "SiteSnapshot"]

logger = logging.getLogger(__name__)


class EmsModbusServer:
    """Serves the EMS register map on the configured address (port 0: any free port)."""

    def __init__(
        self,
        config: ModbusEmsServerConfig,
        sink: ReadingSink,
        snapshot: Callable[[], SiteSnapshot],
        *,
        monotonic: Callable[[], float],
        wall: Callable[[], float],
    ) -> None:
        self._config = config
        self._sink = sink
        self._snapshot = snapshot
        self._monotonic = monotonic
        self._wall = wall
        self._registers = EmsLimitRegisters(config)
        self._expiry_reported = False
        self._server = RegisterServer(
            self,
            unit_id=config.unit_id,
            holding_words=INITIAL_HOLDING_WORDS,
            input_count=len(INPUT_REGISTERS),
        )
        self.port: int | None = None
        """The bound port once started."""

    async def __aenter__(self) -> EmsModbusServer:
        self.port = await self._server.start(self._config.listen_host, self._config.listen_port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._server.close()

    async def watch(self, check_interval_s: float | None = None) -> None:
        """Report, once, each time a delivered limit expires; runs until cancelled."""
        interval_s = check_interval_s or min(1.0, self._config.heartbeat_timeout_s / 4)
        while True:
            await asyncio.sleep(interval_s)
            self._check_expiry()

    def _check_expiry(self) -> None:
        expired = self._registers.state(self._monotonic()) is EmsLimitState.EXPIRED
        if not expired or self._expiry_reported:
            return
        self._expiry_reported = True
        description = "EMS limit expired: no heartbeat or TTL passed"
        logger.warning("%s: %s", self._config.id, description)
        self._sink.input_fault(InputFault(self._config.id, description, self._monotonic()))

    def holding_write(self, address: int, words: tuple[int, ...]) -> bool:
        """RegisterServerHandler: check, store and deliver one write from the EMS."""
        now_s = self._monotonic()
        if (problem := self._registers.problem(address, words)) is not None:
            fault = InputFault(self._config.id, f"EMS write refused: {problem}", now_s)
            self._sink.input_fault(fault)
            return False
        self._registers.write(address, words, now_s)
        self._deliver(now_s)
        return True

    def input_words(self) -> Sequence[int]:
        """RegisterServerHandler: the site's state, fresh for each read."""
        return input_words(self._snapshot(), self._registers.state(self._monotonic()))

    def _deliver(self, now_s: float) -> None:
        limit = self._registers.limit(now_s)
        if limit is None:
            return
        if self._expiry_reported:
            logger.info("%s: EMS limit valid again", self._config.id)
            self._expiry_reported = False
        self._sink.ems_limit(
            EmsLimit(
                source=self._config.id,
                node_id=self._config.node_id,
                power_w=limit.power_w,
                current_a=limit.current_a,
                valid_until_monotonic_s=limit.valid_until_s,
                received_monotonic_s=now_s,
                wall_time_s=self._wall(),
            )
        )
