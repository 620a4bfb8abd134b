"""Register decoding: known words, round trips, and garbage that only ever raises DecodeError."""

from __future__ import annotations

import math
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localctl.inputs.modbus.decode import (
    DecodeError,
    decode_register,
    decode_scale_factor,
    decode_words,
    encode_words,
)
from localctl.inputs.modbus.registers import (
    WORDS_PER_TYPE,
    DataType,
    FunctionCode,
    Register,
    WordOrder,
)

INTEGER_RANGES = {
    DataType.INT16: (-(2**15), 2**15 - 1),
    DataType.UINT16: (0, 2**16 - 1),
    DataType.INT32: (-(2**31), 2**31 - 1),
    DataType.UINT32: (0, 2**32 - 1),
}


def register(
    data_type: DataType, word_order: WordOrder = WordOrder.BIG, **extra: object
) -> Register:
    return Register(0, FunctionCode.READ_HOLDING, data_type, word_order, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("words", "data_type", "word_order", "expected"),
    [
        ((0x4366, 0x0000), DataType.FLOAT32, WordOrder.BIG, 230.0),
        ((0x0000, 0x4366), DataType.FLOAT32, WordOrder.LITTLE, 230.0),
        ((0x1170, 0x0001), DataType.INT32, WordOrder.LITTLE, 70_000),
        ((0x0001, 0x1170), DataType.INT32, WordOrder.BIG, 70_000),
        ((0xFFFF, 0xFFF6), DataType.INT32, WordOrder.BIG, -10),
        ((0xFFFF, 0xFFF6), DataType.UINT32, WordOrder.BIG, 0xFFFF_FFF6),
        ((0xFF85,), DataType.INT16, WordOrder.BIG, -123),
        ((0xFF85,), DataType.UINT16, WordOrder.BIG, 0xFF85),
        ((0x4059, 0x0000, 0x0000, 0x0000), DataType.FLOAT64, WordOrder.BIG, 100.0),
        ((0x0000, 0x0000, 0x0000, 0x4059), DataType.FLOAT64, WordOrder.LITTLE, 100.0),
    ],
)
def test_known_words_decode_to_known_numbers(
    words: tuple[int, ...], data_type: DataType, word_order: WordOrder, expected: float
) -> None:
    assert decode_words(words, data_type, word_order) == expected


def test_scale_turns_raw_into_si_units() -> None:
    assert decode_register((1050,), register(DataType.UINT16, scale=0.01)) == pytest.approx(10.5)


def test_sunspec_scale_factor_register_multiplies_by_a_power_of_ten() -> None:
    current = register(DataType.INT16, scale_factor_address=6, sunspec=True)
    assert decode_register((105,), current, scale_factor_word=0xFFFF) == pytest.approx(10.5)
    assert decode_register((105,), current, scale_factor_word=2) == pytest.approx(10_500.0)


@pytest.mark.parametrize(
    ("data_type", "words"),
    [
        (DataType.INT16, (0x8000,)),
        (DataType.UINT16, (0xFFFF,)),
        (DataType.INT32, (0x8000, 0x0000)),
        (DataType.UINT32, (0xFFFF, 0xFFFF)),
        (DataType.FLOAT32, (0x7FC0, 0x0000)),
    ],
)
def test_sunspec_not_implemented_sentinels_decode_to_none(
    data_type: DataType, words: tuple[int, ...]
) -> None:
    assert decode_register(words, register(data_type, sunspec=True)) is None


def test_the_same_words_from_a_non_sunspec_meter_are_a_value() -> None:
    assert decode_register((0x8000,), register(DataType.INT16)) == -32768.0


def test_sunspec_scale_factor_not_implemented_means_no_value() -> None:
    current = register(DataType.INT16, scale_factor_address=6, sunspec=True)
    assert decode_register((105,), current, scale_factor_word=0x8000) is None


@pytest.mark.parametrize("exponent_word", [11, 0xFFF5, 0x7FFF])
def test_sunspec_scale_factor_outside_the_spec_range_is_an_error(exponent_word: int) -> None:
    with pytest.raises(DecodeError):
        decode_scale_factor(exponent_word)


@pytest.mark.parametrize(
    "words", [(0x7FC0, 0x0000), (0x7F80, 0x0000), (0xFF80, 0x0000), (0x7FFF, 0xFFFF)]
)
def test_non_finite_floats_are_errors(words: tuple[int, int]) -> None:
    with pytest.raises(DecodeError):
        decode_register(words, register(DataType.FLOAT32))


def test_a_finite_float_that_overflows_after_scaling_is_an_error() -> None:
    huge = encode_words(1e308, DataType.FLOAT64, WordOrder.BIG)
    with pytest.raises(DecodeError):
        decode_register(huge, register(DataType.FLOAT64, scale=1000.0))


def test_wrong_word_count_and_out_of_range_words_are_errors() -> None:
    with pytest.raises(DecodeError):
        decode_words((1,), DataType.INT32, WordOrder.BIG)
    with pytest.raises(DecodeError):
        decode_words((0x1_0000,), DataType.UINT16, WordOrder.BIG)


@st.composite
def typed_values(draw: st.DrawFn) -> tuple[DataType, float]:
    data_type = draw(st.sampled_from(list(DataType)))
    if data_type in INTEGER_RANGES:
        low, high = INTEGER_RANGES[data_type]
        return data_type, draw(st.integers(low, high))
    width: Literal[32, 64] = 32 if data_type is DataType.FLOAT32 else 64
    return data_type, draw(st.floats(allow_nan=False, allow_infinity=False, width=width))


@given(typed_values(), st.sampled_from(list(WordOrder)))
def test_encode_then_decode_round_trips_every_type_and_word_order(
    typed_value: tuple[DataType, float], word_order: WordOrder
) -> None:
    data_type, value = typed_value
    words = encode_words(value, data_type, word_order)
    assert len(words) == WORDS_PER_TYPE[data_type]
    assert all(0 <= word <= 0xFFFF for word in words)
    assert decode_words(words, data_type, word_order) == value
    assert decode_register(words, register(data_type, word_order)) == float(value)


@given(
    st.sampled_from(list(DataType)),
    st.sampled_from(list(WordOrder)),
    st.lists(st.integers(-5, 0x1_0005), max_size=5),
    st.booleans(),
    st.one_of(st.none(), st.integers(-5, 0x1_0005)),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_arbitrary_words_decode_to_a_finite_float_none_or_decode_error(  # noqa: PLR0917
    data_type: DataType,
    word_order: WordOrder,
    words: list[int],
    sunspec: bool,
    scale_factor_word: int | None,
    scale: float,
) -> None:
    reg = register(
        data_type,
        word_order,
        scale=scale,
        sunspec=sunspec,
        scale_factor_address=6 if sunspec else None,
    )
    try:
        value = decode_register(words, reg, scale_factor_word)
    except DecodeError:
        return
    assert value is None or math.isfinite(value)
