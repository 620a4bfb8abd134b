"""The meter poller against real pymodbus servers on port 0."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from localctl.inputs.modbus.blocks import plan_blocks
from localctl.inputs.modbus.config import ModbusMeterConfig
from localctl.inputs.modbus.meter import Backoff, MeterPoller
from localctl.inputs.modbus.registers import BUILT_IN_MAPS, Register, RegisterMap
from tests.inputs.modbus.helpers import FakeClock, FakeMeter, RecordingSink, words_of

CURRENT_A = (10.5, 11.2, 12.9)
VOLTAGE_V = (230.1, 231.2, 229.3)
POWER_W = (2300.0, 2410.0, -150.0)
SUNSPEC_SCALE_FACTORS = {"current": -1, "voltage": -1, "power": 0}


def _place(meter: FakeMeter, register: Register, value: float, exponent: int = 0) -> None:
    raw = value / (register.scale * 10.0**exponent)
    meter.set(
        register.function_code,
        register.address,
        words_of(raw, register.data_type, register.word_order),
    )


def _sunspec_exponent(meter: FakeMeter, register: Register, quantity: str) -> int:
    exponent = SUNSPEC_SCALE_FACTORS[quantity]
    assert register.scale_factor_address is not None
    meter.set(3, register.scale_factor_address, words_of(exponent, "int16"))
    return exponent


def meter_serving(register_map: RegisterMap) -> FakeMeter:
    """A fake meter whose registers hold CURRENT_A, VOLTAGE_V and POWER_W for this map.

    The other registers inside the blocks the poller reads hold 0, like the documented
    neighbouring quantities (line-to-line voltages, ...) of a real meter.
    """
    meter = FakeMeter({}, {})
    if register_map.name.startswith("sunspec_"):
        model_id = int(register_map.name.removeprefix("sunspec_"))
        add_sunspec_models(meter, 40000, [(1, 65), (model_id, 105)])
    for block in plan_blocks(register_map):
        meter.set(block.function_code, block.address, [0] * block.count)
    quantities = (
        ("current", register_map.current_a, CURRENT_A),
        ("voltage", register_map.voltage_v, VOLTAGE_V),
        ("power", register_map.power_w, POWER_W),
    )
    for quantity, registers, values in quantities:
        assert registers is not None
        for register, value in zip(registers, values, strict=True):
            if register is None:
                continue
            exponent = 0
            if register.scale_factor_address is not None:
                exponent = _sunspec_exponent(meter, register, quantity)
            _place(meter, register, value, exponent)
    return meter


def add_sunspec_models(meter: FakeMeter, base: int, models: list[tuple[int, int]]) -> None:
    """'SunS' at `base`, then each (model id, length) with zeroed points, then the end mark."""
    meter.set(3, base, [0x5375, 0x6E53])
    address = base + 2
    for model_id, length in models:
        meter.set(3, address, [model_id, length, *([0] * length)])
        address += 2 + length
    meter.set(3, address, [0xFFFF, 0])


def config_for(port: int, **overrides: Any) -> ModbusMeterConfig:
    settings: dict[str, Any] = {
        "id": "grid",
        "node_id": "main",
        "host": "127.0.0.1",
        "port": port,
        "model": "eastron_sdm630",
        "poll_interval_s": 0.05,
        "timeout_s": 0.3,
        "reconnect_backoff_min_s": 0.02,
        "reconnect_backoff_max_s": 0.1,
        **overrides,
    }
    return ModbusMeterConfig.model_validate(settings)


@asynccontextmanager
async def polling(config: ModbusMeterConfig, sink: RecordingSink) -> AsyncIterator[FakeClock]:
    clock = FakeClock()
    poller = MeterPoller(
        config, sink, monotonic=clock.monotonic, wall=clock.wall, rng=random.Random(7)
    )
    async with asyncio.TaskGroup() as group:
        task = group.create_task(poller.run())
        try:
            yield clock
        finally:
            task.cancel()


@asynccontextmanager
async def started(meter: FakeMeter) -> AsyncIterator[int]:
    port = await meter.start()
    try:
        yield port
    finally:
        await meter.stop()


def has_reading(sink: RecordingSink, after: int = 0) -> Callable[[], bool]:
    return lambda: len(sink.readings) > after


def has_fault(sink: RecordingSink, text: str, after: int = 0) -> Callable[[], bool]:
    return lambda: any(text in fault.description for fault in sink.faults[after:])


@pytest.mark.parametrize("model", sorted(BUILT_IN_MAPS))
async def test_each_built_in_map_decodes_known_values(model: str) -> None:
    register_map = BUILT_IN_MAPS[model]
    meter = meter_serving(register_map)
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port, model=model), sink):
        await sink.wait_for(has_reading(sink))
    reading = sink.readings[0]
    phases = sum(register is not None for register in register_map.current_a)
    expected_current = CURRENT_A[:phases] + (0.0,) * (3 - phases)
    assert reading.current_a == pytest.approx(expected_current, rel=1e-6)
    assert reading.voltage_v == pytest.approx(VOLTAGE_V[:phases] + (0.0,) * (3 - phases), rel=1e-6)
    assert reading.power_w == pytest.approx(POWER_W[:phases] + (0.0,) * (3 - phases), rel=1e-6)
    assert (reading.meter_id, reading.node_id) == ("grid", "main")
    assert sink.faults == []


async def test_sdm630_literal_registers_decode_as_float_high_word_first() -> None:
    # 230.0 V, 16.0 A and 3680 W as IEEE 754 float32 words, written out by hand.
    words = [0x4366, 0x0000] * 3 + [0x4180, 0x0000] * 3 + [0x4566, 0x0000] * 3
    meter = FakeMeter({}, dict(enumerate(words)))
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port), sink):
        await sink.wait_for(has_reading(sink))
    reading = sink.readings[0]
    assert reading.voltage_v == (230.0, 230.0, 230.0)
    assert reading.current_a == (16.0, 16.0, 16.0)
    assert reading.power_w == (3680.0, 3680.0, 3680.0)


async def test_em24_literal_registers_decode_low_word_first_with_weights() -> None:
    # 70000 mA = 70 A needs both words: low word 0x1170, high word 0x0001.
    inputs = {address: 0 for address in range(0x18)}
    inputs.update({0x0C: 0x1170, 0x0D: 0x0001, 0x0E: 16000, 0x10: 500})
    inputs.update({0x00: 2301, 0x12: 0xFFF6, 0x13: 0xFFFF})  # 230.1 V; -1.0 W (int32 -10)
    meter = FakeMeter({}, inputs)
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port, model="carlo_gavazzi_em24"), sink):
        await sink.wait_for(has_reading(sink))
    reading = sink.readings[0]
    assert reading.current_a == pytest.approx((70.0, 16.0, 0.5))
    assert reading.voltage_v is not None and reading.voltage_v[0] == pytest.approx(230.1)
    assert reading.power_w is not None and reading.power_w[0] == pytest.approx(-1.0)


async def test_custom_map_reads_holding_int16_and_input_uint32() -> None:
    holding = {100: 123, 101: 0xFF85, 102: 0}  # 12.3 A, -12.3 A, 0 A at 0.1 A per unit
    meter = FakeMeter(holding, {})
    custom = {
        "current_a": [
            {"address": 100 + phase, "function_code": 3, "data_type": "int16", "scale": 0.1}
            for phase in range(3)
        ]
    }
    sink = RecordingSink()
    async with (
        started(meter) as port,
        polling(config_for(port, model="custom", custom_map=custom), sink),
    ):
        await sink.wait_for(has_reading(sink))
    reading = sink.readings[0]
    assert reading.current_a == pytest.approx((12.3, -12.3, 0.0))
    assert reading.voltage_v is None
    assert reading.power_w is None


async def test_readings_are_stamped_with_both_injected_clocks() -> None:
    meter = meter_serving(BUILT_IN_MAPS["eastron_sdm630"])
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port), sink) as clock:
        await sink.wait_for(has_reading(sink, after=1))
        now_s = clock.monotonic()
    first, second = sink.readings[:2]
    assert 1000.0 < first.monotonic_s < second.monotonic_s <= now_s
    assert first.wall_time_s > 1_700_000_000.0
    assert second.monotonic_s - first.monotonic_s >= 0.04  # one poll interval apart


async def test_meter_that_goes_away_faults_then_reads_again_after_restart() -> None:
    meter = meter_serving(BUILT_IN_MAPS["eastron_sdm630"])
    sink = RecordingSink()
    port = await meter.start()
    async with polling(config_for(port), sink):
        await sink.wait_for(has_reading(sink))
        await meter.stop()
        await sink.wait_for(has_fault(sink, "unreachable"))
        readings_while_down = len(sink.readings)
        meter.set(4, 0x0006, words_of(6.0, "float32"))
        await meter.start()
        try:
            await sink.wait_for(has_reading(sink, after=readings_while_down))
        finally:
            await meter.stop()
    assert sink.readings[-1].current_a[0] == 6.0


async def test_slow_meter_times_out_as_a_fault() -> None:
    meter = meter_serving(BUILT_IN_MAPS["eastron_sdm630"])
    meter.delay_s = 0.5
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port, timeout_s=0.1), sink):
        await sink.wait_for(has_fault(sink, "no answer"))
    assert sink.readings == []
    assert sink.faults[0].input_id == "grid"


async def test_meter_recovers_when_it_answers_in_time_again() -> None:
    meter = meter_serving(BUILT_IN_MAPS["eastron_sdm630"])
    meter.delay_s = 0.3
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port, timeout_s=0.1), sink):
        await sink.wait_for(has_fault(sink, "no answer"))
        meter.delay_s = 0.0
        await sink.wait_for(has_reading(sink))


async def test_illegal_address_is_a_fault_and_polling_goes_on() -> None:
    meter = FakeMeter({}, {0: 0})  # the SDM630 registers past address 0 do not exist
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port), sink):
        await sink.wait_for(lambda: len(sink.faults) >= 3)
    assert all("error response" in fault.description for fault in sink.faults)
    assert "exception code 2" in sink.faults[0].description


@pytest.mark.parametrize("bad_word", [0x7FC0, 0x7F80, 0xFF80], ids=["nan", "inf", "-inf"])
async def test_non_finite_float_is_a_fault_not_a_reading(bad_word: int) -> None:
    meter = meter_serving(BUILT_IN_MAPS["eastron_sdm630"])
    meter.set(4, 0x0008, [bad_word, 0x0000])
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port), sink):
        await sink.wait_for(has_fault(sink, "invalid value"))
    assert sink.readings == []


async def test_sunspec_current_not_implemented_is_a_fault() -> None:
    meter = meter_serving(BUILT_IN_MAPS["sunspec_203"])
    meter.set(3, 40069 + 4, [0x8000])  # AphB "not implemented"
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port, model="sunspec_203"), sink):
        await sink.wait_for(has_fault(sink, "current L2 not implemented"))


async def test_sunspec_voltage_not_implemented_leaves_voltage_out() -> None:
    meter = meter_serving(BUILT_IN_MAPS["sunspec_204"])
    meter.set(3, 40069 + 8, [0x8000])  # PhVphA: a delta meter has no neutral
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port, model="sunspec_204"), sink):
        await sink.wait_for(has_reading(sink))
    assert sink.readings[0].voltage_v is None
    assert sink.readings[0].current_a == pytest.approx(CURRENT_A)


async def test_a_lasting_fault_is_logged_once_and_reported_every_poll(
    caplog: pytest.LogCaptureFixture,
) -> None:
    meter = FakeMeter({}, {0: 0})
    sink = RecordingSink()
    with caplog.at_level(logging.INFO, logger="localctl.inputs.modbus.meter"):
        async with started(meter) as port, polling(config_for(port), sink):
            await sink.wait_for(lambda: len(sink.faults) >= 4)
            meter.inputs = dict(meter_serving(BUILT_IN_MAPS["eastron_sdm630"]).inputs)
            await meter.stop()
            await meter.start()
            await sink.wait_for(has_reading(sink))
    messages = [record.getMessage() for record in caplog.records]
    assert sum("error response" in message for message in messages) == 1
    assert sum("readings again" in message for message in messages) == 1


async def test_unreachable_meter_retries_with_backoff_not_in_a_tight_loop() -> None:
    meter = FakeMeter({}, {0: 0})
    port = await meter.start()
    await meter.stop()  # a port nobody listens on
    sink = RecordingSink()
    async with polling(config_for(port), sink):
        await asyncio.sleep(0.3)
    # backoff 0.02 s doubling to 0.1 s: a handful of attempts, not hundreds
    assert 2 <= len(sink.faults) <= 12


def test_backoff_doubles_up_to_its_bound_with_jitter_below_each_ceiling() -> None:
    backoff = Backoff(0.5, 4.0, random.Random(3))
    delays = [backoff.next_delay_s() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    for delay, ceiling in zip(delays, ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, not fixed
    backoff.reset()
    assert backoff.next_delay_s() <= 0.5


async def test_cancelling_the_poller_closes_its_connection() -> None:
    closed: list[bool] = []

    class Client:
        async def connect(self) -> None:
            pass

        async def read_registers(
            self, function_code: int, address: int, count: int
        ) -> tuple[int, ...]:
            await asyncio.Event().wait()  # never answers
            raise AssertionError

        def close(self) -> None:
            closed.append(True)

    clock = FakeClock()
    poller = MeterPoller(
        config_for(1),
        RecordingSink(),
        monotonic=clock.monotonic,
        wall=clock.wall,
        rng=random.Random(1),
        client_factory=lambda _config: Client(),
    )
    task: asyncio.Task[None] = asyncio.create_task(poller.run())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert closed == [True]


async def test_sunspec_meter_model_is_found_behind_other_models() -> None:
    meter = FakeMeter({}, {})
    add_sunspec_models(meter, 0, [(1, 66), (101, 50), (203, 105)])
    model_address = 2 + (2 + 66) + (2 + 50)
    meter.set(3, model_address + 3, [160, 161, 162, 0xFFFF])  # AphA..C in 0.1 A, A_SF -1
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port, model="sunspec_203"), sink):
        await sink.wait_for(has_reading(sink))
    assert sink.readings[0].current_a == pytest.approx((16.0, 16.1, 16.2))


async def test_sunspec_device_without_the_configured_model_is_a_fault() -> None:
    meter = FakeMeter({}, {})
    add_sunspec_models(meter, 40000, [(1, 65), (201, 105)])
    sink = RecordingSink()
    async with started(meter) as port, polling(config_for(port, model="sunspec_203"), sink):
        await sink.wait_for(has_fault(sink, "SunSpec model 203 not found (models: [1, 201])"))
    assert sink.readings == []


async def test_configured_sunspec_address_is_read_without_walking_the_models() -> None:
    meter = FakeMeter({}, {})
    meter.set(3, 500, [203, 105, 0, 100, 100, 100, 0] + [0] * 16)  # no "SunS" marker anywhere
    config = config_for(meter.port, model="sunspec_203", sunspec_model_address=500)
    sink = RecordingSink()
    async with started(meter) as port, polling(config.model_copy(update={"port": port}), sink):
        await sink.wait_for(has_reading(sink))
    assert sink.readings[0].current_a == (100.0, 100.0, 100.0)
