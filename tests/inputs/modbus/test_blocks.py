"""Read planning: few requests, within the limits, covering every register."""

from __future__ import annotations

import pytest

from localctl.inputs.modbus.blocks import ReadBlock, RegisterImage, map_registers, plan_blocks
from localctl.inputs.modbus.registers import (
    BUILT_IN_MAPS,
    DataType,
    FunctionCode,
    Register,
    RegisterMap,
)

HOLDING = FunctionCode.READ_HOLDING
INPUT = FunctionCode.READ_INPUT


def uint16(address: int, function_code: FunctionCode = HOLDING) -> Register:
    return Register(address, function_code, DataType.UINT16)


def custom_map(
    *registers: Register, max_gap_words: int = 0, max_block_words: int = 64
) -> RegisterMap:
    return RegisterMap(
        name="test",
        source="test",
        current_a=(registers[0], registers[1], registers[2]),
        voltage_v=None,
        power_w=None,
        max_block_words=max_block_words,
        max_gap_words=max_gap_words,
    )


def test_sdm630_is_one_read_of_eighteen_input_registers() -> None:
    assert plan_blocks(BUILT_IN_MAPS["eastron_sdm630"]) == (ReadBlock(INPUT, 0, 18),)


def test_sunspec_meter_is_one_read_including_its_scale_factors() -> None:
    assert plan_blocks(BUILT_IN_MAPS["sunspec_203"]) == (ReadBlock(HOLDING, 40072, 20),)


@pytest.mark.parametrize("model", sorted(BUILT_IN_MAPS))
def test_every_built_in_map_is_covered_by_its_blocks_within_limits(model: str) -> None:
    register_map = BUILT_IN_MAPS[model]
    blocks = plan_blocks(register_map)
    covered = {
        (block.function_code, block.address + offset)
        for block in blocks
        for offset in range(block.count)
    }
    for register in map_registers(register_map):
        for offset in range(register.word_count):
            assert (register.function_code, register.address + offset) in covered
    assert all(block.count <= register_map.max_block_words for block in blocks)
    assert len(blocks) <= 2


def test_gaps_wider_than_allowed_split_the_read() -> None:
    registers = (uint16(10), uint16(11), uint16(20))
    assert plan_blocks(custom_map(*registers)) == (
        ReadBlock(HOLDING, 10, 2),
        ReadBlock(HOLDING, 20, 1),
    )
    assert plan_blocks(custom_map(*registers, max_gap_words=8)) == (ReadBlock(HOLDING, 10, 11),)


def test_blocks_never_exceed_the_largest_read() -> None:
    registers = (uint16(0), uint16(1), uint16(2))
    assert plan_blocks(custom_map(*registers, max_block_words=2)) == (
        ReadBlock(HOLDING, 0, 2),
        ReadBlock(HOLDING, 2, 1),
    )


def test_function_codes_are_never_mixed_in_one_read() -> None:
    registers = (uint16(0, INPUT), uint16(1, HOLDING), uint16(2, INPUT))
    assert plan_blocks(custom_map(*registers, max_gap_words=8)) == (
        ReadBlock(HOLDING, 1, 1),
        ReadBlock(INPUT, 0, 3),
    )


def test_the_same_register_twice_is_read_once() -> None:
    assert plan_blocks(custom_map(uint16(5), uint16(5), uint16(5))) == (ReadBlock(HOLDING, 5, 1),)


def test_register_image_finds_words_by_function_code_and_address() -> None:
    image = RegisterImage({ReadBlock(HOLDING, 10, 3): (1, 2, 3), ReadBlock(INPUT, 10, 1): (9,)})
    assert image.words(HOLDING, 11, 2) == (2, 3)
    assert image.words(INPUT, 10, 1) == (9,)
    with pytest.raises(KeyError):
        image.words(INPUT, 11, 1)
