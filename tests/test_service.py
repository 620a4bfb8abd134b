"""`localctl run` end to end for the inputs: a real Modbus meter server and a real broker."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import pytest

from localctl.config.model import LocalctlConfig
from localctl.service import Controller
from localctl.site.state import InputStatus
from tests.inputs.modbus.helpers import FakeMeter, words_of
from tests.inputs.mqtt.broker import Broker
from tests.inputs.mqtt.conftest import Observer, broker, broker_kind, observer

__all__ = ["broker", "broker_kind", "observer"]  # fixtures used here, defined with the MQTT tests


def sdm630_inputs(current_a: tuple[float, float, float]) -> dict[int, int]:
    """Voltage at 0x00, current at 0x06, power at 0x0C: float32, high word first."""
    words: dict[int, int] = {}
    for phase in range(3):
        for base, value in (
            (0x00, 230.0),
            (0x06, current_a[phase]),
            (0x0C, 230.0 * current_a[phase]),
        ):
            for offset, word in enumerate(words_of(value, "float32")):
                words[base + 2 * phase + offset] = word
    return words


def fast_grid_meter(port: int) -> dict[str, object]:
    """An SDM630 on the root node `main` at 127.0.0.1:`port`, polled fast for tests."""
    return {
        "id": "grid",
        "node_id": "main",
        "host": "127.0.0.1",
        "port": port,
        "model": "eastron_sdm630",
        "poll_interval_s": 0.05,
        "timeout_s": 0.3,
        "reconnect_backoff_min_s": 0.05,
        "reconnect_backoff_max_s": 0.2,
    }


def site_config(meter_port: int, broker: Broker) -> LocalctlConfig:
    return LocalctlConfig.model_validate(
        {
            "relay": {"listen": "127.0.0.1:0", "upstream_url": "ws://127.0.0.1:9/ocpp"},
            "site": {
                "nodes": [{"id": "main", "kind": "grid_connection", "fuse_a": 25}],
                "evses": [{"id": "garage", "node": "main", "max_current_a": 16}],
            },
            "inputs": {
                "modbus_meters": [fast_grid_meter(meter_port)],
                "ems_mqtt": {"node_ids": ["main"]},
            },
            "mqtt": {
                "host": "127.0.0.1",
                "port": broker.port,
                "client_id": "localctl-e2e",
                "telemetry_interval_s": 0.1,
            },
            "control": {"period_s": 0.05, "meter_stale_s": 0.4, "meter_lost_s": 0.8},
        }
    )


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll: the state under test has no change notification of its own."""
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_meter_and_ems_inputs_reach_the_site_state_and_telemetry(
    broker: Broker, observer: Observer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="localctl")
    meter = FakeMeter({}, sdm630_inputs((10.0, 12.0, 14.0)))
    port = await meter.start()
    controller = Controller(site_config(port, broker))
    stop = asyncio.Event()
    running = asyncio.create_task(controller.run(stop))
    try:
        await asyncio.wait_for(controller.started.wait(), 10)

        def grid_current() -> tuple[float, ...] | None:
            grid = controller.site_state.snapshot().meters[0]
            return None if grid.reading is None else grid.reading.current_a

        await until(lambda: grid_current() == pytest.approx((10.0, 12.0, 14.0)))
        limit = {"power_w": 11000, "ttl_s": 60, "source": "building-ems"}
        # The limit is not retained: it reaches the controller only once the broker has
        # acknowledged its subscription, which `started` does not wait for.
        assert controller.mqtt is not None
        await asyncio.wait_for(controller.mqtt.wait_ready(), 10)
        observer.client.publish("localctl/ems/limit/main", json.dumps(limit).encode())
        await until(lambda: bool(controller.site_state.snapshot().ems_limits))
        ems = controller.site_state.snapshot().ems_limits[0]
        assert (ems.limit.power_w, ems.limit.source, ems.expired) == (11000, "building-ems", False)

        telemetry = await observer.wait_for(
            "localctl/meter/grid", lambda p: json.loads(p)["current_a"] == [10.0, 12.0, 14.0]
        )
        assert json.loads(telemetry)["status"] == "fresh"
        site = await observer.wait_for("localctl/site", lambda p: bool(json.loads(p)["ems_limits"]))
        assert json.loads(site)["ems_limits"][0]["power_w"] == 11000

        await meter.stop()  # the meter goes silent: stale, then lost
        await until(lambda: controller.site_state.snapshot().meters[0].status is InputStatus.LOST)
        lost = await observer.wait_for(
            "localctl/events",
            lambda p: (json.loads(p)["previous"], json.loads(p)["current"]) == ("stale", "lost"),
        )
        assert json.loads(lost)["input"] == "grid"
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)
        await meter.stop()
    log = caplog.text
    assert "input grid: unknown -> lost" in log or "input grid: fresh" in log
    assert "input grid: fresh -> stale (stale: its node is assumed at its limit" in log
    assert "input grid: stale -> lost (lost: EVSEs below its node fall back to their floors)" in log
