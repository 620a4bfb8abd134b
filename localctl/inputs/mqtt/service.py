"""Everything MQTT in one piece: the connection, EMS limits, meters and telemetry.

`MqttService.run` connects and serves until cancelled, then publishes `offline` and
disconnects; the meter watchdogs and the telemetry sampler run in its own task group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence

from localctl.inputs.mqtt.client import MqttClient
from localctl.inputs.mqtt.config import EmsMqttConfig, MqttConfig, MqttMeterConfig
from localctl.inputs.mqtt.ems import EmsLimitInput
from localctl.inputs.mqtt.meter import MqttMeterInput
from localctl.inputs.mqtt.telemetry import TelemetryPublisher, TelemetrySnapshot
from localctl.inputs.readings import ReadingSink

__all__ = ["MqttService"]


class MqttService:
    """Builds the MQTT inputs and the telemetry publisher from their configuration."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        ems: EmsMqttConfig | None,
        meters: Sequence[MqttMeterConfig],
        sink: ReadingSink,
        snapshot: Callable[[], TelemetrySnapshot],
        monotonic: Callable[[], float],
        wall: Callable[[], float],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.client = MqttClient(config, environ=environ)
        clocks = {"monotonic": monotonic, "wall": wall}
        self.ems = None if ems is None else EmsLimitInput(self.client, ems, sink, **clocks)
        self.meters = [MqttMeterInput(self.client, m, sink, **clocks) for m in meters]
        self.telemetry = TelemetryPublisher(
            self.client, config.base_topic, snapshot, interval_s=config.telemetry_interval_s
        )

    async def run(self) -> None:
        """Connect and serve until cancelled; a clean `offline` and disconnect at the end."""
        async with self.client, asyncio.TaskGroup() as tasks:
            for meter in self.meters:
                tasks.create_task(meter.run(), name=f"mqtt-meter-{meter.config.id}")
            tasks.create_task(self.telemetry.run(), name="mqtt-telemetry")
