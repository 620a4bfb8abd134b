"""The EMS register server, written to and read by a real pymodbus client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from localctl.inputs.modbus.config import ModbusEmsServerConfig
from localctl.inputs.modbus.ems_server import ControllerStatus, EmsModbusServer, SiteSnapshot
from tests.inputs.modbus.helpers import FakeClock, RecordingSink, words_of

UNIT = 3
POWER = 0
PHASES = 2
TTL = 5
HEARTBEAT = 6


@dataclass
class Ems:
    """A connected EMS: the server under test, its sink and clock, and a pymodbus client."""

    server: EmsModbusServer
    sink: RecordingSink
    clock: FakeClock
    client: AsyncModbusTcpClient

    async def write(self, address: int, words: list[int]) -> Any:
        return await self.client.write_registers(address, words, device_id=UNIT)

    async def heartbeat(self, counter: int) -> None:
        assert not (await self.write(HEARTBEAT, [counter])).isError()

    async def holding(self) -> list[int]:
        response = await self.client.read_holding_registers(0, count=7, device_id=UNIT)
        return list(response.registers)

    async def inputs(self) -> list[int]:
        response = await self.client.read_input_registers(0, count=9, device_id=UNIT)
        return list(response.registers)


SNAPSHOT = SiteSnapshot(
    current_a=(12.3, -4.5, 0.0),
    allocated_current_a=(16.0, 16.0, 6.0),
    active_sessions=3,
    status=ControllerStatus.DEGRADED,
)


async def _connected_ems(**overrides: Any) -> AsyncIterator[Ems]:
    settings: dict[str, Any] = {
        "listen_host": "127.0.0.1",
        "listen_port": 0,
        "unit_id": UNIT,
        "node_id": "main",
        "heartbeat_timeout_s": 30.0,
        "max_current_a": 100.0,
        "max_power_w": 50_000.0,
        "max_ttl_s": 600.0,
        **overrides,
    }
    config = ModbusEmsServerConfig.model_validate(settings)
    sink = RecordingSink()
    clock = FakeClock()
    server = EmsModbusServer(
        config, sink, lambda: SNAPSHOT, monotonic=clock.monotonic, wall=clock.wall
    )
    async with server:
        assert server.port
        client = AsyncModbusTcpClient(
            "127.0.0.1", port=server.port, timeout=1, retries=0, reconnect_delay=0
        )
        await client.connect()
        try:
            yield Ems(server, sink, clock, client)
        finally:
            client.close()


@pytest.fixture
async def ems() -> AsyncIterator[Ems]:
    async for connected in _connected_ems():
        yield connected


@pytest.fixture
async def quick_ems() -> AsyncIterator[Ems]:
    async for connected in _connected_ems(heartbeat_timeout_s=0.3):
        yield connected


async def test_site_power_limit_written_by_the_ems_is_delivered(ems: Ems) -> None:
    before_s = ems.clock.monotonic()
    response = await ems.write(POWER, words_of(22_000, "int32"))
    assert not response.isError()
    assert len(ems.sink.limits) == 1
    limit = ems.sink.limits[0]
    assert (limit.source, limit.node_id, limit.power_w, limit.current_a) == (
        "ems-modbus",
        "main",
        22_000.0,
        None,
    )
    assert before_s <= limit.received_monotonic_s <= ems.clock.monotonic()
    assert limit.valid_until_monotonic_s == pytest.approx(limit.received_monotonic_s + 30.0)
    assert limit.wall_time_s > 1_700_000_000.0


async def test_per_phase_limits_are_tenths_of_an_ampere(ems: Ems) -> None:
    await ems.write(PHASES, [160, 160, 105])
    assert ems.sink.limits[-1].current_a == (16.0, 16.0, 10.5)
    assert ems.sink.limits[-1].power_w is None


async def test_per_phase_limits_count_only_when_all_three_are_set(ems: Ems) -> None:
    await ems.write(PHASES, [160, 160])
    assert ems.sink.limits == []
    await ems.write(POWER, words_of(11_000, "int32"))
    assert ems.sink.limits[-1].current_a is None
    assert ems.sink.limits[-1].power_w == 11_000.0


async def test_each_heartbeat_renews_the_limit(ems: Ems) -> None:
    await ems.write(POWER, words_of(5_000, "int32"))
    await ems.heartbeat(1)
    await ems.heartbeat(2)
    valid_until = [limit.valid_until_monotonic_s for limit in ems.sink.limits]
    assert len(valid_until) == 3
    assert valid_until == sorted(valid_until) and valid_until[0] < valid_until[2]


async def test_an_unchanged_heartbeat_is_no_sign_of_life(ems: Ems) -> None:
    await ems.write(POWER, words_of(5_000, "int32"))
    await ems.heartbeat(0)  # the register already holds 0
    assert len(ems.sink.limits) == 2
    assert ems.sink.limits[1].valid_until_monotonic_s == ems.sink.limits[0].valid_until_monotonic_s


async def test_ttl_caps_the_validity_of_a_limit(ems: Ems) -> None:
    await ems.write(POWER, [*words_of(5_000, "int32"), 0x8000, 0x8000, 0x8000, 2])
    limit = ems.sink.limits[-1]
    assert limit.valid_until_monotonic_s == pytest.approx(limit.received_monotonic_s + 2.0)
    await ems.heartbeat(1)  # a heartbeat does not stretch past the TTL
    assert ems.sink.limits[-1].valid_until_monotonic_s == limit.valid_until_monotonic_s


async def test_when_the_heartbeat_stops_the_limit_expires_and_is_reported_once(
    quick_ems: Ems,
) -> None:
    ems = quick_ems
    await ems.write(POWER, words_of(5_000, "int32"))
    assert (await ems.inputs())[8] == 1  # active
    async with asyncio.TaskGroup() as group:
        watchdog = group.create_task(ems.server.watch(check_interval_s=0.05))
        await ems.sink.wait_for(lambda: bool(ems.sink.faults))
        await asyncio.sleep(0.15)  # a few more checks: still one report
        watchdog.cancel()
    assert [fault.description for fault in ems.sink.faults] == [
        "EMS limit expired: no heartbeat or TTL passed"
    ]
    assert ems.sink.limits[-1].valid_until_monotonic_s < ems.clock.monotonic()
    assert len(ems.sink.limits) == 1  # nothing delivered while the EMS is silent
    assert (await ems.inputs())[8] == 2  # expired
    await ems.heartbeat(7)
    assert len(ems.sink.limits) == 2  # alive again: the stored limit is delivered anew


@pytest.mark.parametrize(
    ("address", "words", "reason"),
    [
        (POWER, words_of(-5, "int32"), "site limit -5 W"),
        (POWER, words_of(60_000, "int32"), "site limit 60000 W"),
        (PHASES, [160, 0xFFF6, 160], "L2 limit -1.0 A"),
        (PHASES + 2, [1001], "L3 limit 100.1 A"),
        (TTL, [601], "TTL 601 s"),
    ],
)
async def test_invalid_writes_are_refused_with_illegal_data_value(
    ems: Ems, address: int, words: list[int], reason: str
) -> None:
    before = await ems.holding()
    response = await ems.write(address, words)
    assert response.isError()
    assert response.exception_code == 3
    assert await ems.holding() == before
    assert ems.sink.limits == []
    assert len(ems.sink.faults) == 1
    assert reason in ems.sink.faults[0].description


async def test_half_of_a_site_limit_is_checked_with_the_other_stored_word(ems: Ems) -> None:
    response = await ems.client.write_register(
        POWER, 0xFFFF, device_id=UNIT
    )  # with 0x0000: negative
    assert response.isError() and response.exception_code == 3


async def test_writes_past_the_map_are_an_illegal_address(ems: Ems) -> None:
    response = await ems.write(7, [1])
    assert response.isError() and response.exception_code == 2


async def test_input_registers_publish_the_site_snapshot(ems: Ems) -> None:
    inputs = await ems.inputs()
    measured = [word - 0x10000 if word >= 0x8000 else word for word in inputs[0:3]]
    assert measured == [123, -45, 0]
    assert inputs[3:6] == [160, 160, 60]
    assert inputs[6:9] == [3, int(ControllerStatus.DEGRADED), 0]


async def test_holding_registers_start_with_no_limit(ems: Ems) -> None:
    assert await ems.holding() == [0x8000, 0, 0x8000, 0x8000, 0x8000, 0, 0]


async def test_requests_for_another_unit_id_get_gateway_no_response(ems: Ems) -> None:
    response = await ems.client.read_holding_registers(0, count=2, device_id=UNIT + 1)
    assert response.isError() and response.exception_code == 0x0B
    write = await ems.client.write_registers(0, words_of(1_000, "int32"), device_id=UNIT + 1)
    assert write.isError() and write.exception_code == 0x0B
    assert ems.sink.limits == []
