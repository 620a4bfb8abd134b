"""One poll's words to per-phase values, without a socket."""

from __future__ import annotations

import pytest

from localctl.inputs.modbus.blocks import ReadBlock, RegisterImage, plan_blocks
from localctl.inputs.modbus.decode import DecodeError
from localctl.inputs.modbus.meter_values import decode_meter_values
from localctl.inputs.modbus.registers import FunctionCode, RegisterMap, sunspec_meter_map

MODEL = 100  # the meter model's ID register


def sunspec_image(register_map: RegisterMap, points: dict[int, int]) -> RegisterImage:
    """The words of the map's blocks: 0 everywhere but at the given model offsets."""
    blocks = plan_blocks(register_map)
    words = {
        block: tuple(points.get(block.address + i - MODEL, 0) for i in range(block.count))
        for block in blocks
    }
    return RegisterImage(words)


def test_single_phase_meter_reads_zero_on_the_phases_it_does_not_measure() -> None:
    register_map = sunspec_meter_map(201, MODEL)
    image = sunspec_image(register_map, {3: 120, 6: 0xFFFF, 8: 2301, 15: 0xFFFF, 19: 2760})
    values = decode_meter_values(register_map, image)
    assert values.current_a == pytest.approx((12.0, 0.0, 0.0))
    assert values.voltage_v == pytest.approx((230.1, 0.0, 0.0))
    assert values.power_w == pytest.approx((2760.0, 0.0, 0.0))


def test_a_current_not_implemented_fails_the_whole_reading() -> None:
    register_map = sunspec_meter_map(203, MODEL)
    with pytest.raises(DecodeError, match="current L3"):
        decode_meter_values(register_map, sunspec_image(register_map, {5: 0x8000}))


def test_a_power_not_implemented_leaves_only_power_out() -> None:
    register_map = sunspec_meter_map(203, MODEL)
    values = decode_meter_values(register_map, sunspec_image(register_map, {20: 0x8000}))
    assert values.power_w is None
    assert values.voltage_v == (0.0, 0.0, 0.0)
    assert values.current_a == (0.0, 0.0, 0.0)


def test_a_scale_factor_not_implemented_leaves_that_quantity_out() -> None:
    register_map = sunspec_meter_map(203, MODEL)
    values = decode_meter_values(register_map, sunspec_image(register_map, {15: 0x8000}))
    assert values.voltage_v is None


def test_image_missing_a_register_is_a_planning_bug_not_a_meter_fault() -> None:
    register_map = sunspec_meter_map(203, MODEL)
    with pytest.raises(KeyError):
        decode_meter_values(
            register_map, RegisterImage({ReadBlock(FunctionCode.READ_HOLDING, 0, 1): (0,)})
        )
