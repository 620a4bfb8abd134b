"""docs/modbus.md states the same addresses and types as the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from localctl.inputs.modbus.ems_registers import HOLDING_REGISTERS, INPUT_REGISTERS, EmsRegister
from localctl.inputs.modbus.registers import BUILT_IN_MAPS

DOC = (Path(__file__).parents[3] / "docs" / "modbus.md").read_text()


def _rows_after(heading: str) -> list[str]:
    section = DOC.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ")]


@pytest.mark.parametrize(
    "model", ["eastron_sdm630", "carlo_gavazzi_em24", "abb_b23_b24", "janitza_umg604"]
)
def test_meter_table_lists_each_quantitys_addresses_type_and_word_order(model: str) -> None:
    register_map = BUILT_IN_MAPS[model]
    rows = _rows_after("### Built-in register maps")
    start = next(i for i, row in enumerate(rows) if f"`{model}`" in row)
    own_rows = rows[start : start + 3]
    for triple in (register_map.voltage_v, register_map.current_a, register_map.power_w):
        assert triple is not None
        addresses = ", ".join(str(register.address) for register in triple if register)
        first = triple[0]
        assert first is not None
        assert any(
            addresses in row
            and f"| {first.data_type} |" in row
            and f"| {first.word_order} |" in row
            for row in own_rows
        ), f"{model}: {addresses} {first.data_type} {first.word_order}"


@pytest.mark.parametrize(
    ("heading", "registers"),
    [("### Holding registers", HOLDING_REGISTERS), ("### Input registers", INPUT_REGISTERS)],
)
def test_ems_tables_give_each_register_its_type_and_unit(
    heading: str, registers: tuple[EmsRegister, ...]
) -> None:
    rows = _rows_after(heading)[1:]  # past the header
    assert len(rows) == len(registers)
    for register in registers:
        row = next(
            r for r in rows if r.startswith((f"| {register.address} |", f"| {register.address}-"))
        )
        assert f" {register.data_type}" in row and f"| {register.unit} |" in row, row
