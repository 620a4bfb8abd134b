"""Walking a SunSpec model list, against an in-memory register reader."""

from __future__ import annotations

import pytest

from localctl.inputs.modbus.adapter import ModbusResponseError
from localctl.inputs.modbus.decode import DecodeError
from localctl.inputs.modbus.sunspec import find_sunspec_model


class Registers:
    """Holding registers by address; a missing address answers 'illegal address'."""

    def __init__(self, words: dict[int, int]) -> None:
        self.words = words
        self.reads = 0

    async def read_registers(self, function_code: int, address: int, count: int) -> tuple[int, ...]:
        self.reads += 1
        assert function_code == 3
        try:
            return tuple(self.words[address + i] for i in range(count))
        except KeyError:
            raise ModbusResponseError(function_code, 2) from None


def device(base: int, models: list[tuple[int, int]], end: bool = True) -> Registers:
    words = {base: 0x5375, base + 1: 0x6E53}
    address = base + 2
    for model_id, length in models:
        words[address], words[address + 1] = model_id, length
        address += 2 + length
    if end:
        words[address], words[address + 1] = 0xFFFF, 0
    return Registers(words)


async def test_finds_the_model_after_the_common_model() -> None:
    assert await find_sunspec_model(device(40000, [(1, 65), (203, 105)]), 203) == 40069


@pytest.mark.parametrize("base", [0, 50000])
async def test_tries_the_other_documented_base_addresses(base: int) -> None:
    assert await find_sunspec_model(device(base, [(1, 66), (204, 105)]), 204) == base + 2 + 68


async def test_skips_other_models_by_their_length() -> None:
    registers = device(40000, [(1, 65), (101, 50), (160, 28), (201, 105)])
    assert await find_sunspec_model(registers, 201) == 40002 + 67 + 52 + 30


async def test_a_device_without_the_marker_is_an_error() -> None:
    with pytest.raises(DecodeError, match="no SunSpec marker"):
        await find_sunspec_model(Registers({40000: 1, 40001: 2}), 203)


async def test_the_end_of_the_list_without_the_model_is_an_error() -> None:
    with pytest.raises(DecodeError, match=r"models: \[1, 201\]"):
        await find_sunspec_model(device(40000, [(1, 65), (201, 105)]), 203)


async def test_a_list_that_never_ends_is_given_up_on() -> None:
    # Zero-length models forever (every address answers): the walk stops, it does not spin.
    registers = Registers(
        {40000: 0x5375, 40001: 0x6E53} | {a: 7 if a % 2 == 0 else 0 for a in range(40002, 40400)}
    )
    with pytest.raises(DecodeError, match="not found"):
        await find_sunspec_model(registers, 203)
    assert registers.reads < 100


async def test_a_length_that_runs_off_the_address_space_is_an_error() -> None:
    with pytest.raises(DecodeError):
        await find_sunspec_model(device(40000, [(1, 30000)], end=False), 203)
