"""Which contiguous blocks to read for a register map, and the words they returned.

Reading a meter costs one round trip per request, so registers that sit close together are
read in one block; a block never exceeds the map's `max_block_words` and only spans gaps up to
`max_gap_words` (some meters answer an exception for reserved addresses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from localctl.inputs.modbus.registers import FunctionCode, Register, RegisterMap

__all__ = ["ReadBlock", "RegisterImage", "map_registers", "plan_blocks"]


@dataclass(frozen=True, slots=True)
class ReadBlock:
    function_code: FunctionCode
    address: int
    count: int


def map_registers(register_map: RegisterMap) -> tuple[Register, ...]:
    """Every register the map reads."""
    triples = (register_map.current_a, register_map.voltage_v, register_map.power_w)
    return tuple(
        register
        for triple in triples
        if triple is not None
        for register in triple
        if register is not None
    )


def _span(register: Register) -> tuple[FunctionCode, int, int]:
    """(function code, first address, address after the last word) of one register."""
    return (register.function_code, register.address, register.address + register.word_count)


def _needed_spans(registers: Iterable[Register]) -> list[tuple[FunctionCode, int, int]]:
    spans = {_span(register) for register in registers}
    spans |= {
        (register.function_code, register.scale_factor_address, register.scale_factor_address + 1)
        for register in registers
        if register.scale_factor_address is not None
    }
    return sorted(spans)


def plan_blocks(register_map: RegisterMap) -> tuple[ReadBlock, ...]:
    """The fewest reads, within the map's limits, that cover every register it needs."""
    blocks: list[ReadBlock] = []
    for function_code, start, end in _needed_spans(map_registers(register_map)):
        last = blocks[-1] if blocks else None
        if last is not None and last.function_code == function_code:
            last_end = last.address + last.count
            merged_count = max(end, last_end) - last.address
            gap = start - last_end
            if gap <= register_map.max_gap_words and merged_count <= register_map.max_block_words:
                blocks[-1] = ReadBlock(function_code, last.address, merged_count)
                continue
        blocks.append(ReadBlock(function_code, start, end - start))
    return tuple(blocks)


class RegisterImage:
    """The words read in one poll, looked up by function code and address."""

    def __init__(self, blocks: Mapping[ReadBlock, tuple[int, ...]]) -> None:
        self._words: dict[tuple[FunctionCode, int], int] = {}
        for block, words in blocks.items():
            for offset, word in enumerate(words):
                self._words[(block.function_code, block.address + offset)] = word

    def words(self, function_code: FunctionCode, address: int, count: int) -> tuple[int, ...]:
        """The words at `address`.. (KeyError if a block did not cover them: a planning bug)."""
        return tuple(self._words[(function_code, address + i)] for i in range(count))
