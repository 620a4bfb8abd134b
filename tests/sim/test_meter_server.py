"""The simulated SDM630 read through real pymodbus clients over TCP on port 0."""

from __future__ import annotations

import struct

import pytest
from pymodbus.client import AsyncModbusTcpClient

from localctl.inputs.modbus.adapter import ModbusLinkError, TcpRegisterClient
from localctl.inputs.modbus.blocks import RegisterImage, plan_blocks
from localctl.inputs.modbus.meter_values import decode_meter_values
from localctl.inputs.modbus.registers import EASTRON_SDM630
from localctl.sim.meter_server import MeterReading, SiteMeterServer, float32_words

READING = MeterReading(
    current_a=(41.5, 12.25, 63.0), voltage_v=(230.0, 231.0, 229.0), import_energy_wh=12_345.0
)


async def read_as_the_controller(port: int) -> tuple[tuple[float, ...], ...]:
    client = TcpRegisterClient("127.0.0.1", port, unit_id=1, timeout_s=1.0)
    try:
        await client.connect()
        blocks = {
            block: await client.read_registers(block.function_code, block.address, block.count)
            for block in plan_blocks(EASTRON_SDM630)
        }
    finally:
        client.close()
    values = decode_meter_values(EASTRON_SDM630, RegisterImage(blocks))
    assert values.voltage_v is not None
    assert values.power_w is not None
    return (values.current_a, values.voltage_v, values.power_w)


async def test_controllers_sdm630_decoder_reads_the_served_phases() -> None:
    async with SiteMeterServer(reading=READING) as meter:
        current_a, voltage_v, power_w = await read_as_the_controller(meter.port)
    assert current_a == READING.current_a
    assert voltage_v == READING.voltage_v
    assert power_w == pytest.approx(READING.power_w)
    assert meter.reads >= 1


async def test_totals_frequency_and_energy_sit_where_the_datasheet_puts_them() -> None:
    async with SiteMeterServer(reading=READING) as meter:
        client = AsyncModbusTcpClient("127.0.0.1", port=meter.port, timeout=1, retries=0)
        try:
            await client.connect()
            response = await client.read_input_registers(0x0034, count=22, device_id=1)
        finally:
            client.close()
    assert not response.isError()
    words = response.registers

    def at(address: int) -> float:
        offset = address - 0x0034
        value: float = struct.unpack(">f", struct.pack(">HH", *words[offset : offset + 2]))[0]
        return value

    assert at(0x0034) == pytest.approx(sum(READING.power_w), rel=1e-6)
    assert (at(0x0046), at(0x0048)) == pytest.approx((50.0, 12.345))


async def test_updates_show_in_the_next_read() -> None:
    async with SiteMeterServer() as meter:
        assert (await read_as_the_controller(meter.port))[0] == (0.0, 0.0, 0.0)
        meter.update(MeterReading(current_a=(1.0, 2.0, 3.0)))
        assert (await read_as_the_controller(meter.port))[0] == (1.0, 2.0, 3.0)


async def test_a_stopped_meter_is_unreachable_and_comes_back_on_the_same_port() -> None:
    async with SiteMeterServer(reading=READING) as meter:
        port = meter.port
        await meter.stop()
        assert not meter.running
        with pytest.raises(ModbusLinkError):
            await read_as_the_controller(port)
        assert await meter.restart() == port
        assert (await read_as_the_controller(port))[0] == READING.current_a


async def test_writes_to_the_meter_are_refused() -> None:
    async with SiteMeterServer() as meter:
        client = AsyncModbusTcpClient("127.0.0.1", port=meter.port, timeout=1, retries=0)
        try:
            await client.connect()
            response = await client.write_registers(0, [1, 2], device_id=1)
        finally:
            client.close()
    assert response.isError()


def test_float32_words_are_high_word_first() -> None:
    assert float32_words(1.0) == (0x3F80, 0x0000)
