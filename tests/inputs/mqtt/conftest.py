from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from localctl.inputs.mqtt.client import MqttClient, MqttMessage
from localctl.inputs.mqtt.config import MqttConfig
from localctl.inputs.readings import EmsLimit, InputFault, MeterReading
from tests.inputs.mqtt.broker import Broker, available_broker_kind

_log = logging.getLogger(__name__)

WAIT_S = 5.0


def _broker_notice(kind: str | None) -> str | None:
    if kind is None:
        return "no MQTT broker: install mosquitto (Debian package) or the amqtt command"
    if kind != "mosquitto":
        return f"mosquitto is not on PATH: the MQTT tests use the {kind} command instead"
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    notice = _broker_notice(available_broker_kind())
    if notice is not None:
        terminalreporter.write_line(notice, yellow=True)


@pytest.fixture(scope="session")
def broker_kind() -> str:
    kind = available_broker_kind()
    notice = _broker_notice(kind)
    if kind is None:
        pytest.skip(notice or "")
    if notice is not None:
        _log.warning(notice)
    return kind


@pytest.fixture
async def broker(broker_kind: str, tmp_path: Path) -> AsyncIterator[Broker]:
    server = Broker(broker_kind, tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def client_config(broker: Broker, **overrides: object) -> MqttConfig:
    return MqttConfig.model_validate(
        {
            "host": "127.0.0.1",
            "port": broker.port,
            "client_id": "localctl-test",
            "keepalive_s": 5,
            "reconnect_min_delay_s": 0.05,
            "reconnect_max_delay_s": 0.2,
            **overrides,
        }
    )


@pytest.fixture
async def client(broker: Broker) -> AsyncIterator[MqttClient]:
    async with MqttClient(client_config(broker)) as mqtt:
        yield mqtt


@pytest.fixture
async def observer(broker: Broker) -> AsyncIterator[Observer]:
    """Another client that records everything under the base topic."""
    mqtt = MqttClient(client_config(broker, client_id="observer", base_topic="observer"))
    watcher = Observer(mqtt)
    mqtt.subscribe("localctl/#", watcher.record)
    async with mqtt:
        await mqtt.wait_ready()
        yield watcher


@dataclass
class Observer:
    client: MqttClient
    messages: list[MqttMessage] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, message: MqttMessage) -> None:
        self.messages.append(message)
        self.arrived.set()

    def on(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.messages if m.topic == topic]

    async def wait_for(
        self, topic: str, predicate: Callable[[bytes], bool] = lambda _: True
    ) -> bytes:
        """The first message on `topic` (seen so far or to come) that satisfies `predicate`."""
        async with asyncio.timeout(WAIT_S):
            while True:
                found = next((p for p in self.on(topic) if predicate(p)), None)
                if found is not None:
                    return found
                self.arrived.clear()
                await self.arrived.wait()


@dataclass
class RecordingSink:
    """A ReadingSink that keeps what it got and wakes waiters."""

    readings: list[MeterReading] = field(default_factory=list)
    limits: list[EmsLimit] = field(default_factory=list)
    faults: list[InputFault] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def meter_reading(self, reading: MeterReading) -> None:
        self.readings.append(reading)
        self.changed.set()

    def ems_limit(self, limit: EmsLimit) -> None:
        self.limits.append(limit)
        self.changed.set()

    def input_fault(self, fault: InputFault) -> None:
        self.faults.append(fault)
        self.changed.set()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


async def retained_payload(broker: Broker, topic: str) -> bytes | None:
    """The retained message a client subscribing to `topic` now is given, if any."""
    received: asyncio.Queue[MqttMessage] = asyncio.Queue()
    late = MqttClient(client_config(broker, client_id="late", base_topic="late"))
    late.subscribe(topic, received.put_nowait)
    async with late:
        await late.wait_ready()
        try:
            message = await asyncio.wait_for(received.get(), 0.5)
        except TimeoutError:
            return None
    return message.payload if message.retained else None
