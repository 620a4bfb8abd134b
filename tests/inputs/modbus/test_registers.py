"""The built-in register maps are consistent data."""

from __future__ import annotations

import pytest

from localctl.inputs.modbus.blocks import map_registers
from localctl.inputs.modbus.registers import BUILT_IN_MAPS, FunctionCode, sunspec_meter_map


@pytest.mark.parametrize("model", sorted(BUILT_IN_MAPS))
def test_no_two_quantities_of_a_map_share_a_word(model: str) -> None:
    register_map = BUILT_IN_MAPS[model]
    seen: set[tuple[FunctionCode, int]] = set()
    for register in map_registers(register_map):
        words = {(register.function_code, register.address + i) for i in range(register.word_count)}
        assert not words & seen, f"{model}: overlap at {register.address}"
        seen |= words


@pytest.mark.parametrize("model", sorted(BUILT_IN_MAPS))
def test_every_map_cites_its_source_and_measures_l1(model: str) -> None:
    register_map = BUILT_IN_MAPS[model]
    assert register_map.name == model
    assert register_map.source
    assert register_map.current_a[0] is not None


def test_single_and_split_phase_sunspec_meters_have_no_registers_for_missing_phases() -> None:
    single = sunspec_meter_map(201)
    split = sunspec_meter_map(202)
    assert [register is None for register in single.current_a] == [False, True, True]
    assert [register is None for register in split.current_a] == [False, False, True]


def test_sunspec_map_follows_the_model_address() -> None:
    register_map = sunspec_meter_map(203, model_address=100)
    current_l1 = register_map.current_a[0]
    assert current_l1 is not None
    assert (current_l1.address, current_l1.scale_factor_address) == (103, 106)
    power_l3 = register_map.power_w[2] if register_map.power_w else None
    assert power_l3 is not None
    assert (power_l3.address, power_l3.scale_factor_address) == (121, 122)
