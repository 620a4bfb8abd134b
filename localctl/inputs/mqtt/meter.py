"""MQTT meters: device messages to `MeterReading`s, and a fault when a meter falls silent.

Retained messages are ignored: their age is unknown. Silence is reported once per silent
spell, as an `InputFault`; deciding what a silent meter means for the site (stale, lost)
stays with the site state, which sees the reading's age.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from localctl.inputs.mqtt.client import MqttClient, MqttMessage
from localctl.inputs.mqtt.config import MqttMeterConfig
from localctl.inputs.mqtt.meter_payload import parse_meter_payload
from localctl.inputs.readings import InputFault, MeterReading, ReadingSink

__all__ = ["MqttMeterInput"]

_log = logging.getLogger(__name__)


class MqttMeterInput:
    """One meter: subscribes to its topic when constructed; `run` watches for silence."""

    def __init__(
        self,
        client: MqttClient,
        config: MqttMeterConfig,
        sink: ReadingSink,
        *,
        monotonic: Callable[[], float],
        wall: Callable[[], float],
    ) -> None:
        self.config = config
        self._sink = sink
        self._monotonic = monotonic
        self._wall = wall
        self._last_message_s = monotonic()
        self._silence_reported = False
        client.subscribe(config.topic, self._on_message)

    async def run(self) -> None:
        """Report silence longer than the meter's timeout; runs until cancelled."""
        while True:
            await asyncio.sleep(self.config.timeout_s / 4)
            self.check_silence()

    def check_silence(self) -> None:
        now_s = self._monotonic()
        silent_s = now_s - self._last_message_s
        if silent_s >= self.config.timeout_s and not self._silence_reported:
            self._silence_reported = True
            description = f"no message on {self.config.topic} for {silent_s:.1f} s"
            _log.warning("meter %s: %s", self.config.id, description)
            self._sink.input_fault(InputFault(self.config.id, description, now_s))

    def _on_message(self, message: MqttMessage) -> None:
        if message.retained:
            # A retained reading has an unknown age; stamped now it would pass for fresh.
            return
        monotonic_s = self._monotonic()
        self._last_message_s = monotonic_s
        self._silence_reported = False
        result = parse_meter_payload(
            self.config, message.payload, monotonic_s=monotonic_s, wall_time_s=self._wall()
        )
        if isinstance(result, MeterReading):
            self._sink.meter_reading(result)
        else:
            _log.warning("meter %s: %s", self.config.id, result.description)
            self._sink.input_fault(result)
