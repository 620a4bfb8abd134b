"""The EMS register map and its rules, with no I/O: words in, limits and refusals out.

Rules of this file (docs/modbus.md shows the same tables):
- Integers only, so no NaN can be written: the site limit is int32 W (high word first), the
  per-phase limits int16 in 0.1 A. The int16/int32 minimum (0x8000, 0x8000_0000, SunSpec's
  "not implemented") means "no limit"; every register starts there.
- A write that would leave a negative or absurd value (above the configured maxima) is refused
  as a whole and nothing is stored. A single-word write to the site limit is checked together
  with the other, stored word.
- The EMS proves it is alive by changing the heartbeat register (any new value) or writing a
  limit register. A limit is valid until `heartbeat_timeout_s` after the last sign of life and,
  if the TTL register is not 0, no longer than TTL seconds after the limit was last written.
- Per-phase limits count only when all three are set: a missing phase has no safe default, and
  the EMS can always write the same value three times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from localctl.inputs.modbus.config import ModbusEmsServerConfig
from localctl.inputs.modbus.decode import decode_words, encode_words
from localctl.inputs.modbus.registers import DataType, WordOrder
from localctl.inputs.readings import PhaseValues

__all__ = [
    "HOLDING_REGISTERS",
    "INITIAL_HOLDING_WORDS",
    "INPUT_REGISTERS",
    "ControllerStatus",
    "EmsLimitRegisters",
    "EmsLimitState",
    "EmsRegister",
    "LimitValues",
    "SiteSnapshot",
    "input_words",
]


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
    EmsRegister(7, DataType.UINT16, "-", "controller status: 0 starting .. 3 fallback"),
    EmsRegister(8, DataType.UINT16, "-", "EMS limit: 0 none, 1 active, 2 expired"),
)

_POWER_ADDRESS = 0
_PHASE_ADDRESSES = (2, 3, 4)
_TTL_ADDRESS = 5
_HEARTBEAT_ADDRESS = 6
_NO_LIMIT_INT32 = -0x8000_0000
_NO_LIMIT_INT16 = -0x8000
INITIAL_HOLDING_WORDS = (0x8000, 0x0000, 0x8000, 0x8000, 0x8000, 0, 0)


@dataclass(frozen=True, slots=True)
class LimitValues:
    """The limit the registers hold, and until when it is valid (monotonic s)."""

    power_w: float | None
    current_a: PhaseValues | None
    valid_until_s: float


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


class EmsLimitRegisters:
    """The holding registers and the times they were last written."""

    def __init__(self, config: ModbusEmsServerConfig) -> None:
        self._config = config
        self._words = list(INITIAL_HOLDING_WORDS)
        self._alive_at_s: float | None = None
        self._limit_written_at_s: float | None = None

    def problem(self, address: int, words: Sequence[int]) -> str | None:
        """Why writing `words` at `address` must be refused, or None if it may be stored."""
        proposed = self._proposed(address, words)
        power_w = _power_w(proposed)
        if power_w is not None and not 0 <= power_w <= self._config.max_power_w:
            return f"site limit {power_w} W outside 0..{self._config.max_power_w:g} W"
        for name, deciamps in zip(("L1", "L2", "L3"), _phase_deciamps(proposed), strict=True):
            if deciamps is not None and not 0 <= deciamps / 10 <= self._config.max_current_a:
                return f"{name} limit {deciamps / 10} A outside 0..{self._config.max_current_a:g} A"
        if proposed[_TTL_ADDRESS] > self._config.max_ttl_s:
            return f"TTL {proposed[_TTL_ADDRESS]} s above {self._config.max_ttl_s:g} s"
        return None

    def write(self, address: int, words: Sequence[int], now_s: float) -> None:
        """Store a write `problem()` found nothing wrong with, received at `now_s`."""
        proposed = self._proposed(address, words)
        limit_written = address < _HEARTBEAT_ADDRESS
        heartbeat_changed = proposed[_HEARTBEAT_ADDRESS] != self._words[_HEARTBEAT_ADDRESS]
        if limit_written:
            self._limit_written_at_s = now_s
        if limit_written or heartbeat_changed:
            self._alive_at_s = now_s
        self._words = proposed

    def limit(self, now_s: float) -> LimitValues | None:
        """The limit valid at `now_s`, if any."""
        power_w, current_a = self._values()
        valid_until_s = self._valid_until_s()
        if power_w is None and current_a is None:
            return None
        if valid_until_s is None or valid_until_s <= now_s:
            return None
        return LimitValues(power_w, current_a, valid_until_s)

    def state(self, now_s: float) -> EmsLimitState:
        if self._values() == (None, None):
            return EmsLimitState.NONE
        return EmsLimitState.EXPIRED if self.limit(now_s) is None else EmsLimitState.ACTIVE

    def _proposed(self, address: int, words: Sequence[int]) -> list[int]:
        proposed = list(self._words)
        proposed[address : address + len(words)] = words
        return proposed

    def _values(self) -> tuple[float | None, PhaseValues | None]:
        power_w = _power_w(self._words)
        l1, l2, l3 = _phase_deciamps(self._words)
        current_a = None if l1 is None or l2 is None or l3 is None else (l1 / 10, l2 / 10, l3 / 10)
        return (None if power_w is None else float(power_w), current_a)

    def _valid_until_s(self) -> float | None:
        if self._alive_at_s is None:
            return None
        valid_until_s = self._alive_at_s + self._config.heartbeat_timeout_s
        ttl_s = self._words[_TTL_ADDRESS]
        if ttl_s and self._limit_written_at_s is not None:
            valid_until_s = min(valid_until_s, self._limit_written_at_s + ttl_s)
        return valid_until_s


def _deciamps(current_a: float) -> tuple[int, ...]:
    """Clamped to int16; a value that is not a number is published as 0x8000 (unknown)."""
    if math.isnan(current_a):
        return (0x8000,)
    deciamps = max(-0x7FFF, min(0x7FFF, round(current_a * 10)))
    return encode_words(deciamps, DataType.INT16, WordOrder.BIG)


def input_words(snapshot: SiteSnapshot, limit_state: EmsLimitState) -> list[int]:
    """The input registers from address 0."""
    words: list[int] = []
    for current_a in (*snapshot.current_a, *snapshot.allocated_current_a):
        words.extend(_deciamps(current_a))
    words.append(max(0, min(0xFFFF, snapshot.active_sessions)))
    words.append(int(snapshot.status))
    words.append(int(limit_state))
    return words
