"""Finding a SunSpec meter model by walking the device's model list.

A SunSpec device starts with the marker "SunS" (0x5375 0x6E53) at 40000, or at 0 or 50000,
followed by models, each an ID register, a length register L and L registers of points, and
ends with ID 0xFFFF (SunSpec Information Model Specification, device model map). Where the
meter model sits depends on what comes before it (a common model of 65 or 66 registers,
inverter models, several meters), so it is looked up rather than assumed.
"""

from __future__ import annotations

from typing import Protocol

from localctl.inputs.modbus.adapter import ModbusResponseError
from localctl.inputs.modbus.decode import DecodeError
from localctl.inputs.modbus.registers import FunctionCode

__all__ = ["SUNSPEC_BASE_ADDRESSES", "find_sunspec_model"]

SUNSPEC_BASE_ADDRESSES = (40000, 0, 50000)
_MARKER = (0x5375, 0x6E53)
_END_OF_MODELS = 0xFFFF
_MAX_MODELS = 64
"""A device with more models than this is taken as a broken list, not walked for ever."""


class _Reader(Protocol):
    async def read_registers(
        self, function_code: int, address: int, count: int
    ) -> tuple[int, ...]: ...


async def _read(client: _Reader, address: int, count: int) -> tuple[int, ...]:
    return await client.read_registers(FunctionCode.READ_HOLDING, address, count)


async def _find_base(client: _Reader) -> int:
    for base in SUNSPEC_BASE_ADDRESSES:
        try:
            if await _read(client, base, 2) == _MARKER:
                return base
        except ModbusResponseError:
            continue  # no register there: try the next documented base
    raise DecodeError("no SunSpec marker at 40000, 0 or 50000")


async def find_sunspec_model(client: _Reader, model_id: int) -> int:
    """The address of the ID register of model `model_id`; DecodeError if the device has none.

    Link errors (ModbusLinkError) pass through: the caller reconnects.
    """
    address = await _find_base(client) + 2
    seen: list[int] = []
    for _ in range(_MAX_MODELS):
        found_id, length = await _read(client, address, 2)
        if found_id == model_id:
            return address
        if found_id == _END_OF_MODELS:
            break
        seen.append(found_id)
        address += 2 + length
        if address > 0xFFFF - 2:
            break
    raise DecodeError(f"SunSpec model {model_id} not found (models: {seen})")
