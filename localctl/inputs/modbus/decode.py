"""Register words to SI values and back, with no I/O.

Rules of this file:
- A word is an int in 0..65535; bytes inside a word are big-endian (Modbus), the order of the
  words is the register's `word_order`.
- Whatever words a meter sends, decoding either returns a finite float, returns `None` (SunSpec
  "not implemented"), or raises `DecodeError`. NaN and infinity are never returned: a meter
  that sends them is faulty, and a fault is safer than a number nobody can compare.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from localctl.inputs.modbus.registers import WORDS_PER_TYPE, DataType, Register, WordOrder

__all__ = ["DecodeError", "decode_register", "decode_words", "encode_words"]

_STRUCT_CODES: dict[DataType, str] = {
    DataType.INT16: "h",
    DataType.UINT16: "H",
    DataType.INT32: "i",
    DataType.UINT32: "I",
    DataType.FLOAT32: "f",
    DataType.FLOAT64: "d",
}

_SUNSPEC_NOT_IMPLEMENTED: dict[DataType, int] = {
    DataType.INT16: -0x8000,
    DataType.UINT16: 0xFFFF,
    DataType.INT32: -0x8000_0000,
    DataType.UINT32: 0xFFFF_FFFF,
}
"""SunSpec marks a point it does not implement with these raw values (floats use NaN)."""

_SUNSPEC_SCALE_FACTOR_RANGE = range(-10, 11)
"""sunssf values allowed by the SunSpec specification."""


class DecodeError(ValueError):
    """The meter sent words that do not make a usable value (the peer's fault, not ours)."""


def _to_bytes(words: Sequence[int], data_type: DataType, word_order: WordOrder) -> bytes:
    expected = WORDS_PER_TYPE[data_type]
    if len(words) != expected:
        raise DecodeError(f"{data_type} needs {expected} words, got {len(words)}")
    if any(not 0 <= word <= 0xFFFF for word in words):
        raise DecodeError(f"register words out of range 0..65535: {list(words)}")
    ordered = words if word_order is WordOrder.BIG else tuple(reversed(words))
    return b"".join(word.to_bytes(2, "big") for word in ordered)


def decode_words(words: Sequence[int], data_type: DataType, word_order: WordOrder) -> int | float:
    """The raw number the words hold (may be NaN or infinite for float types)."""
    raw = _to_bytes(words, data_type, word_order)
    value: int | float = struct.unpack(">" + _STRUCT_CODES[data_type], raw)[0]
    return value


def encode_words(value: float, data_type: DataType, word_order: WordOrder) -> tuple[int, ...]:
    """The words that hold `value` (integers types take whole numbers in their range)."""
    code = _STRUCT_CODES[data_type]
    number: int | float = value if data_type in (DataType.FLOAT32, DataType.FLOAT64) else int(value)
    raw = struct.pack(">" + code, number)
    words = tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2))
    return words if word_order is WordOrder.BIG else tuple(reversed(words))


def _is_sunspec_not_implemented(raw: int | float, data_type: DataType) -> bool:
    if isinstance(raw, float):
        return math.isnan(raw)
    return _SUNSPEC_NOT_IMPLEMENTED.get(data_type) == raw


def decode_scale_factor(word: int) -> int | None:
    """A SunSpec sunssf register: the power-of-ten exponent, or None if not implemented."""
    exponent = decode_words((word,), DataType.INT16, WordOrder.BIG)
    if exponent == -0x8000:
        return None
    if exponent not in _SUNSPEC_SCALE_FACTOR_RANGE:
        raise DecodeError(f"scale factor {exponent} outside -10..10")
    return int(exponent)


def decode_register(
    words: Sequence[int], register: Register, scale_factor_word: int | None = None
) -> float | None:
    """The SI value of `register` from its words; None for a SunSpec point not implemented.

    `scale_factor_word` is the raw word of `register.scale_factor_address`, when it has one.
    """
    raw = decode_words(words, register.data_type, register.word_order)
    if register.sunspec and _is_sunspec_not_implemented(raw, register.data_type):
        return None
    value = float(raw) * register.scale
    if register.scale_factor_address is not None:
        if scale_factor_word is None:
            raise DecodeError(f"scale factor for address {register.address} missing")
        exponent = decode_scale_factor(scale_factor_word)
        if exponent is None:
            return None
        value *= 10.0**exponent
    if not math.isfinite(value):  # NaN or infinity sent, or a finite value scaled past float
        raise DecodeError(f"value {raw} at address {register.address} is not a finite number")
    return value
