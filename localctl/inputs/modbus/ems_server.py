"""A Modbus TCP server an energy-management system (EMS) writes a limit to.

Rules of this file (register map in `HOLDING_REGISTERS` / `INPUT_REGISTERS`, docs/modbus.md):
- Integers only, so no NaN can be written: the site limit is int32 W (high word first), the
  per-phase limits int16 in 0.1 A. The int16/int32 minimum (0x8000, 0x8000_0000, SunSpec's
  "not implemented") means "no limit"; every register starts there.
- A write that leaves a negative or absurd value (above the configured maxima) is refused with
  Modbus exception 3 (illegal data value), nothing is stored, and an InputFault says why.
  Write the two words of the site limit in one request (function 16): a single-word write is
  checked together with the other, stored word.
- The EMS proves it is alive by changing the heartbeat register (any new value) or writing a
  limit. A limit is valid until `heartbeat_timeout_s` after the last sign of life, and, if the
  TTL register is not 0, no longer than TTL seconds after the limit was last written.
- Every accepted write delivers the current limit, with its expiry, to the sink; when the EMS
  goes quiet nothing more is delivered and the last limit expires on its own. The watchdog logs
  and reports that transition once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from types import TracebackType

from localctl.inputs.modbus.adapter import RegisterServer
from localctl.inputs.modbus.config import ModbusEmsServerConfig
from localctl.inputs.modbus.decode import decode_words, encode_words
from localctl.inputs.modbus.registers import DataType, WordOrder
from localctl.inputs.readings import EmsLimit, InputFault, PhaseValues, ReadingSink

__all__ = [
    "HOLDING_REGISTERS",
    "INPUT_REGISTERS",
    "ControllerStatus",
    "EmsLimitState",
    "EmsModbusServer",
    "SiteSnapshot",
]

logger = logging.getLogger(__name__)


class ControllerStatus(IntEnum):
    STARTING = 0
    NORMAL = 1
    DEGRADED = 2
    """Some input is stale: limits are held, not increased."""
    FALLBACK = 3
    """Inputs lost: EVSEs are at their fallback floors."""


class EmsLimitState(IntEnum):
    NONE = 0
    ACTIVE = 1
    EXPIRED = 2


@dataclass(frozen=True, slots=True)
class SiteSnapshot:
    """What the server publishes in its input registers, as plain numbers."""

    current_a: PhaseValues
    """Measured at the EMS's node, per phase."""
    allocated_current_a: PhaseValues
    """Sum of the limits given to EVSEs below that node, per phase."""
    active_sessions: int
    status: ControllerStatus


@dataclass(frozen=True, slots=True)
class EmsRegister:
    address: int
    data_type: DataType
    unit: str
    meaning: str


HOLDING_REGISTERS = (
    EmsRegister(0, DataType.INT32, "W", "site power limit, high word first; 0x80000000: none"),
    EmsRegister(2, DataType.INT16, "0.1 A", "L1 current limit; 0x8000: none"),
    EmsRegister(3, DataType.INT16, "0.1 A", "L2 current limit; 0x8000: none"),
    EmsRegister(4, DataType.INT16, "0.1 A", "L3 current limit; 0x8000: none"),
    EmsRegister(5, DataType.UINT16, "s", "TTL after the last limit write; 0: heartbeat only"),
    EmsRegister(6, DataType.UINT16, "-", "heartbeat: change it within the heartbeat timeout"),
)
INPUT_REGISTERS = (
    EmsRegister(0, DataType.INT16, "0.1 A", "measured current L1 at the EMS node"),
    EmsRegister(1, DataType.INT16, "0.1 A", "measured current L2"),
    EmsRegister(2, DataType.INT16, "0.1 A", "measured current L3"),
    EmsRegister(3, DataType.INT16, "0.1 A", "allocated current L1 below the EMS node"),
    EmsRegister(4, DataType.INT16, "0.1 A", "allocated current L2"),
    EmsRegister(5, DataType.INT16, "0.1 A", "allocated current L3"),
    EmsRegister(6, DataType.UINT16, "-", "active charging sessions"),
    EmsRegister(
        7, DataType.UINT16, "-", "controller status: 0 starting, 1 normal, 2 degraded, 3 fallback"
    ),
    EmsRegister(8, DataType.UINT16, "-", "EMS limit: 0 none, 1 active, 2 expired"),
)

_POWER_ADDRESS = 0
_PHASE_ADDRESSES = (2, 3, 4)
_TTL_ADDRESS = 5
_HEARTBEAT_ADDRESS = 6
_HOLDING_COUNT = 7
_NO_LIMIT_INT32 = -0x8000_0000
_NO_LIMIT_INT16 = -0x8000
_INITIAL_HOLDING = (0x8000, 0x0000, 0x8000, 0x8000, 0x8000, 0, 0)


def _int16(words: Sequence[int], address: int) -> int:
    return int(decode_words(words[address : address + 1], DataType.INT16, WordOrder.BIG))


def _power_w(words: Sequence[int]) -> int | None:
    raw = decode_words(words[_POWER_ADDRESS : _POWER_ADDRESS + 2], DataType.INT32, WordOrder.BIG)
    return None if raw == _NO_LIMIT_INT32 else int(raw)


def _phase_deciamps(words: Sequence[int]) -> tuple[int | None, ...]:
    return tuple(
        None if (raw := _int16(words, address)) == _NO_LIMIT_INT16 else raw
        for address in _PHASE_ADDRESSES
    )


def _deciamps(current_a: float) -> tuple[int, ...]:
    """Clamped to int16; a value that is not a number is published as 0x8000 (unknown)."""
    if math.isnan(current_a):
        return (0x8000,)
    deciamps = max(-0x7FFF, min(0x7FFF, round(current_a * 10)))
    return encode_words(deciamps, DataType.INT16, WordOrder.BIG)


class EmsModbusServer:
    """Serves the EMS register map; use `async with`, and run `watch()` for expiry reports."""

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
        self._words = list(_INITIAL_HOLDING)
        self._alive_at_s: float | None = None
        self._limit_written_at_s: float | None = None
        self._expiry_reported = False
        self._server = RegisterServer(
            self,
            unit_id=config.unit_id,
            holding_words=_INITIAL_HOLDING,
            input_count=len(INPUT_REGISTERS),
        )
        self.port: int | None = None

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
        if self._limit_state() is not EmsLimitState.EXPIRED or self._expiry_reported:
            return
        self._expiry_reported = True
        description = "EMS limit expired: no heartbeat or TTL passed"
        logger.warning("%s: %s", self._config.id, description)
        self._sink.input_fault(InputFault(self._config.id, description, self._monotonic()))

    # RegisterServerHandler

    def holding_write(self, address: int, words: tuple[int, ...]) -> bool:
        proposed = list(self._words)
        proposed[address : address + len(words)] = words
        if (problem := self._problem(proposed)) is not None:
            self._sink.input_fault(
                InputFault(self._config.id, f"EMS write refused: {problem}", self._monotonic())
            )
            return False
        self._accept(address, len(words), proposed)
        return True

    def input_words(self) -> Sequence[int]:
        snapshot = self._snapshot()
        words: list[int] = []
        for current_a in (*snapshot.current_a, *snapshot.allocated_current_a):
            words.extend(_deciamps(current_a))
        words.append(max(0, min(0xFFFF, snapshot.active_sessions)))
        words.append(int(snapshot.status))
        words.append(int(self._limit_state()))
        return words

    # The rules

    def _problem(self, words: Sequence[int]) -> str | None:
        power_w = _power_w(words)
        if power_w is not None and not 0 <= power_w <= self._config.max_power_w:
            return f"site limit {power_w} W outside 0..{self._config.max_power_w:g} W"
        for name, deciamps in zip(("L1", "L2", "L3"), _phase_deciamps(words), strict=True):
            if deciamps is not None and not 0 <= deciamps / 10 <= self._config.max_current_a:
                return f"{name} limit {deciamps / 10} A outside 0..{self._config.max_current_a:g} A"
        ttl_s = words[_TTL_ADDRESS]
        if ttl_s > self._config.max_ttl_s:
            return f"TTL {ttl_s} s above {self._config.max_ttl_s:g} s"
        return None

    def _accept(self, address: int, count: int, proposed: list[int]) -> None:
        now_s = self._monotonic()
        written = range(address, address + count)
        heartbeat_changed = proposed[_HEARTBEAT_ADDRESS] != self._words[_HEARTBEAT_ADDRESS]
        limit_written = any(a < _HEARTBEAT_ADDRESS for a in written)
        if limit_written:
            self._limit_written_at_s = now_s
        if heartbeat_changed or limit_written:
            self._alive_at_s = now_s
        self._words = proposed
        limit = self._current_limit(now_s)
        if limit is not None:
            if self._expiry_reported:
                logger.info("%s: EMS limit valid again", self._config.id)
            self._expiry_reported = False
            self._sink.ems_limit(limit)

    def _valid_until_s(self) -> float | None:
        if self._alive_at_s is None:
            return None
        valid_until_s = self._alive_at_s + self._config.heartbeat_timeout_s
        ttl_s = self._words[_TTL_ADDRESS]
        if ttl_s and self._limit_written_at_s is not None:
            valid_until_s = min(valid_until_s, self._limit_written_at_s + ttl_s)
        return valid_until_s

    def _limit_values(self) -> tuple[float | None, PhaseValues | None]:
        power_w = _power_w(self._words)
        l1, l2, l3 = _phase_deciamps(self._words)
        # Per-phase limits count only when all three are set: a missing phase has no safe
        # default here, and the EMS can always write the same value three times.
        current_a = None if l1 is None or l2 is None or l3 is None else (l1 / 10, l2 / 10, l3 / 10)
        return (None if power_w is None else float(power_w), current_a)

    def _current_limit(self, now_s: float) -> EmsLimit | None:
        power_w, current_a = self._limit_values()
        valid_until_s = self._valid_until_s()
        if (
            (power_w is None and current_a is None)
            or valid_until_s is None
            or valid_until_s <= now_s
        ):
            return None
        return EmsLimit(
            source=self._config.id,
            node_id=self._config.node_id,
            power_w=power_w,
            current_a=current_a,
            valid_until_monotonic_s=valid_until_s,
            received_monotonic_s=now_s,
            wall_time_s=self._wall(),
        )

    def _limit_state(self) -> EmsLimitState:
        power_w, current_a = self._limit_values()
        if power_w is None and current_a is None:
            return EmsLimitState.NONE
        valid_until_s = self._valid_until_s()
        if valid_until_s is None or valid_until_s <= self._monotonic():
            return EmsLimitState.EXPIRED
        return EmsLimitState.ACTIVE
