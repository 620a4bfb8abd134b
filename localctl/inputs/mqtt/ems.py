"""EMS limits over MQTT: messages on `<base>/ems/limit/<node_id>` to the reading sink.

Accepted limits go to the sink and are published back, retained, on
`<base>/ems/state/<node_id>`; rejected ones go to the sink as an `InputFault` and are
explained on `<base>/ems/error`. The rules themselves live in `ems_contract` (sans I/O).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from localctl.inputs.mqtt.client import MqttClient, MqttMessage
from localctl.inputs.mqtt.config import EmsMqttConfig
from localctl.inputs.mqtt.ems_contract import EmsAccepted, EmsRejected, EmsRules, parse_ems_limit
from localctl.inputs.readings import InputFault, ReadingSink

__all__ = ["EmsLimitInput"]

_log = logging.getLogger(__name__)


class EmsLimitInput:
    """Subscribes to the EMS limit topics of `client` when constructed."""

    def __init__(
        self,
        client: MqttClient,
        config: EmsMqttConfig,
        sink: ReadingSink,
        *,
        monotonic: Callable[[], float],
        wall: Callable[[], float],
    ) -> None:
        base = client.config.base_topic
        self.limit_prefix = f"{base}/{config.topic}/"
        self.state_prefix = f"{base}/ems/state/"
        self.error_topic = f"{base}/ems/error"
        self._client = client
        self._sink = sink
        self._monotonic = monotonic
        self._wall = wall
        self._rules = EmsRules(frozenset(config.node_ids), config.max_ttl_s)
        client.subscribe(self.limit_prefix + "+", self._on_message)

    def _on_message(self, message: MqttMessage) -> None:
        if not message.payload:
            # An empty payload is how MQTT deletes a retained message: no limit, no error.
            # A limit that was in force simply runs out at the end of its validity.
            return
        node_id = message.topic.removeprefix(self.limit_prefix)
        monotonic_s, wall_time_s = self._monotonic(), self._wall()
        result = parse_ems_limit(
            node_id,
            message.payload,
            retained=message.retained,
            rules=self._rules,
            monotonic_s=monotonic_s,
            wall_time_s=wall_time_s,
        )
        if isinstance(result, EmsAccepted):
            self._accept(result)
        else:
            self._reject(result, message.topic, monotonic_s, wall_time_s)

    def _accept(self, accepted: EmsAccepted) -> None:
        limit = accepted.limit
        _log.info(
            "ems: limit on %s from %s: power_w=%s current_a=%s for %.0f s",
            limit.node_id,
            limit.source,
            limit.power_w,
            limit.current_a,
            accepted.ttl_s,
        )
        self._sink.ems_limit(limit)
        topic = self.state_prefix + limit.node_id
        self._client.publish(topic, accepted.state_payload(), retain=True)

    def _reject(
        self, rejected: EmsRejected, topic: str, monotonic_s: float, wall_time_s: float
    ) -> None:
        description = rejected.description()
        _log.warning("ems: rejected a message on %s: %s", topic, description)
        fault = InputFault(f"ems:{rejected.node_id}", f"rejected: {description}", monotonic_s)
        self._sink.input_fault(fault)
        self._client.publish(self.error_topic, rejected.error_payload(topic, wall_time_s))
