from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson
import pytest

from localctl.inputs.mqtt.client import MqttClient
from localctl.inputs.mqtt.config import MqttMeterConfig
from localctl.inputs.mqtt.meter import MqttMeterInput
from tests.inputs.mqtt.broker import Broker
from tests.inputs.mqtt.conftest import Observer, RecordingSink, client_config, retained_payload

SHELLY_PRO_3EM = MqttMeterConfig(
    id="grid",
    node_id="main",
    topic="shellypro3em-01/status/em:0",
    current_paths=("a_current", "b_current", "c_current"),
    voltage_paths=("a_voltage", "b_voltage", "c_voltage"),
    power_paths=("a_act_power", "b_act_power", "c_act_power"),
    timeout_s=10,
)
MESSAGE = {
    "id": 0,
    "a_current": 10.5,
    "b_current": 0.25,
    "c_current": 7,
    "a_voltage": 231.2,
    "b_voltage": 230,
    "c_voltage": 229.9,
    "a_act_power": 2400.5,
    "b_act_power": 12,
    "c_act_power": 1600,
}


class Clock:
    def __init__(self) -> None:
        self.now_s = 50.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def meter(broker: Broker, sink: RecordingSink, clock: Clock) -> AsyncIterator[MqttMeterInput]:
    client = MqttClient(client_config(broker))
    meter_input = MqttMeterInput(client, SHELLY_PRO_3EM, sink, monotonic=clock, wall=lambda: 1e9)
    async with client:
        await client.wait_ready()
        yield meter_input


async def test_device_message_becomes_a_timestamped_reading(
    meter: MqttMeterInput, observer: Observer, sink: RecordingSink
) -> None:
    observer.client.publish(SHELLY_PRO_3EM.topic, orjson.dumps(MESSAGE))
    await sink.wait_until(lambda: bool(sink.readings))
    reading = sink.readings[0]
    assert (reading.meter_id, reading.node_id) == ("grid", "main")
    assert reading.current_a == (10.5, 0.25, 7.0)
    assert reading.voltage_v == (231.2, 230.0, 229.9)
    assert reading.power_w == (2400.5, 12.0, 1600.0)
    assert (reading.monotonic_s, reading.wall_time_s) == (50.0, 1e9)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"<html>", "not valid JSON"),
        (b'{"a_current": NaN}', "not valid JSON"),
        (orjson.dumps({**MESSAGE, "b_current": "0.25"}), "b_current: not a number"),
        (orjson.dumps({k: v for k, v in MESSAGE.items() if k != "c_voltage"}), "no key"),
    ],
)
async def test_bad_device_message_is_a_fault_and_the_next_good_one_still_counts(
    meter: MqttMeterInput,
    observer: Observer,
    sink: RecordingSink,
    payload: bytes,
    words: str,
) -> None:
    observer.client.publish(SHELLY_PRO_3EM.topic, payload)
    observer.client.publish(SHELLY_PRO_3EM.topic, orjson.dumps(MESSAGE))
    await sink.wait_until(lambda: bool(sink.readings))
    assert len(sink.faults) == 1
    assert sink.faults[0].input_id == "grid"
    assert words in sink.faults[0].description


async def test_retained_device_message_is_ignored_as_of_unknown_age(
    broker: Broker, observer: Observer, sink: RecordingSink, clock: Clock
) -> None:
    observer.client.publish(SHELLY_PRO_3EM.topic, orjson.dumps(MESSAGE), retain=True)
    assert await retained_payload(broker, SHELLY_PRO_3EM.topic) is not None
    client = MqttClient(client_config(broker))
    MqttMeterInput(client, SHELLY_PRO_3EM, sink, monotonic=clock, wall=lambda: 1e9)
    async with client:
        await client.wait_ready()
        observer.client.publish(SHELLY_PRO_3EM.topic, orjson.dumps({**MESSAGE, "id": 1}))
        await sink.wait_until(lambda: bool(sink.readings))
    assert len(sink.readings) == 1


async def test_silent_meter_is_reported_once_per_silence(
    meter: MqttMeterInput, observer: Observer, sink: RecordingSink, clock: Clock
) -> None:
    clock.now_s += 9.9
    meter.check_silence()
    assert sink.faults == []
    clock.now_s += 0.1
    meter.check_silence()
    meter.check_silence()
    assert [f.description for f in sink.faults] == [
        "no message on shellypro3em-01/status/em:0 for 10.0 s"
    ]
    observer.client.publish(SHELLY_PRO_3EM.topic, orjson.dumps(MESSAGE))
    await sink.wait_until(lambda: bool(sink.readings))
    clock.now_s += 10
    meter.check_silence()
    assert len(sink.faults) == 2


async def test_watchdog_reports_a_meter_silent_past_its_timeout(client: MqttClient) -> None:
    sink = RecordingSink()
    config = SHELLY_PRO_3EM.model_copy(update={"timeout_s": 0.2})
    watched = MqttMeterInput(client, config, sink, monotonic=time.monotonic, wall=time.time)
    async with asyncio.TaskGroup() as tasks:
        watchdog = tasks.create_task(watched.run())
        await sink.wait_until(lambda: bool(sink.faults))
        watchdog.cancel()
    assert sink.faults[0].description.startswith(f"no message on {config.topic} for 0.")
