from __future__ import annotations

import asyncio
import contextlib
import time

import orjson

from localctl.inputs.mqtt.config import EmsMqttConfig, MqttMeterConfig
from localctl.inputs.mqtt.service import MqttService
from localctl.inputs.mqtt.telemetry import TelemetrySnapshot
from tests.inputs.mqtt.broker import Broker
from tests.inputs.mqtt.conftest import Observer, RecordingSink, client_config

METER = MqttMeterConfig(
    id="grid",
    node_id="main",
    topic="devices/grid/status",
    current_paths=("i.0", "i.1", "i.2"),
    timeout_s=0.2,
)


async def test_service_wires_ems_meters_and_telemetry_and_goes_offline_when_cancelled(
    broker: Broker, observer: Observer
) -> None:
    sink = RecordingSink()
    service = MqttService(
        client_config(broker, telemetry_interval_s=30),
        ems=EmsMqttConfig(node_ids=("main",)),
        meters=[METER],
        sink=sink,
        snapshot=lambda: TelemetrySnapshot({"mode": "normal"}),
        monotonic=time.monotonic,
        wall=time.time,
    )
    task = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(service.client.wait_ready(), 5)
        assert await observer.wait_for("localctl/site") == b'{"mode":"normal"}'
        observer.client.publish(METER.topic, b'{"i": [1, 2, 3]}')
        limit = {"power_w": 3000, "ttl_s": 30, "source": "e"}
        observer.client.publish("localctl/ems/limit/main", orjson.dumps(limit))
        # the meter then falls silent: its watchdog reports it
        await sink.wait_until(lambda: bool(sink.readings and sink.limits and sink.faults))
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert sink.readings[0].current_a == (1.0, 2.0, 3.0)
    assert sink.limits[0].power_w == 3000
    assert sink.faults[0].description.startswith("no message on devices/grid/status")
    await observer.wait_for("localctl/status", lambda p: p == b"offline")
