"""One poll's words to per-phase SI values, with no I/O.

Rules of this file:
- Current is what the controller protects fuses with, so a current the meter should have and
  does not give (SunSpec "not implemented") is an error, never a guess.
- A phase the map has no register for (single- and split-phase meters) reads 0: nothing flows
  there as far as this meter knows.
- Voltage and power are informative: if the meter does not implement one phase of them, that
  quantity is left out (`None`) rather than failing the whole reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from localctl.inputs.modbus.blocks import RegisterImage
from localctl.inputs.modbus.decode import DecodeError, decode_register
from localctl.inputs.modbus.registers import PhaseRegisters, Register, RegisterMap
from localctl.inputs.readings import PhaseValues

__all__ = ["MeterValues", "decode_meter_values"]

_PHASE_NAMES = ("L1", "L2", "L3")


@dataclass(frozen=True, slots=True)
class MeterValues:
    current_a: PhaseValues
    voltage_v: PhaseValues | None
    power_w: PhaseValues | None


def _register_value(image: RegisterImage, register: Register | None) -> float | None:
    if register is None:
        return 0.0
    words = image.words(register.function_code, register.address, register.word_count)
    scale_word = None
    if register.scale_factor_address is not None:
        (scale_word,) = image.words(register.function_code, register.scale_factor_address, 1)
    return decode_register(words, register, scale_word)


def _phase_values(image: RegisterImage, registers: PhaseRegisters) -> tuple[float | None, ...]:
    return tuple(_register_value(image, register) for register in registers)


def _complete(values: tuple[float | None, ...]) -> PhaseValues | None:
    l1, l2, l3 = values
    if l1 is None or l2 is None or l3 is None:
        return None
    return (l1, l2, l3)


def _currents(image: RegisterImage, registers: PhaseRegisters) -> PhaseValues:
    values = _phase_values(image, registers)
    for name, value in zip(_PHASE_NAMES, values, strict=True):
        if value is None:
            raise DecodeError(f"current {name} not implemented by the meter")
    complete = _complete(values)
    assert complete is not None  # every phase checked above
    return complete


def decode_meter_values(register_map: RegisterMap, image: RegisterImage) -> MeterValues:
    """The per-phase values of one poll; DecodeError if the meter sent unusable words."""
    voltage = register_map.voltage_v
    power = register_map.power_w
    return MeterValues(
        current_a=_currents(image, register_map.current_a),
        voltage_v=_complete(_phase_values(image, voltage)) if voltage else None,
        power_w=_complete(_phase_values(image, power)) if power else None,
    )
