"""Telemetry: the site's state as retained JSON messages, sampled periodically and on change.

Topics: `<base>/site`, `<base>/evse/<id>`, `<base>/meter/<id>`, `<base>/station/<id>`. Only
messages whose payload differs from the last one published on their topic are sent, so a
steady site costs nothing; after every (re)connection everything is sent again, since the
broker may have restarted and lost its retained messages. An id that leaves the snapshot has
its retained message cleared (an empty payload).

Events (fail-safe transitions such as a meter going stale) are not state: they go out at once,
not retained, on `<base>/events`, so a subscriber sees each one exactly when it happens.

The content comes from a snapshot function the control loop provides; this module only
serialises and publishes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

import orjson

__all__ = ["JsonObject", "TelemetryPublisher", "TelemetrySnapshot", "telemetry_messages"]

_log = logging.getLogger(__name__)

JsonValue: TypeAlias = (
    "bool | int | float | str | Sequence[JsonValue] | Mapping[str, JsonValue] | None"
)
JsonObject: TypeAlias = Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True)
class TelemetrySnapshot:
    """What to publish, as JSON-ready mappings; keys of the id mappings become topic levels."""

    site: JsonObject
    evses: Mapping[str, JsonObject] = field(default_factory=dict)
    meters: Mapping[str, JsonObject] = field(default_factory=dict)
    stations: Mapping[str, JsonObject] = field(default_factory=dict)


class Publisher(Protocol):
    """What the publisher needs of a connection (MqttClient has it)."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None: ...

    def on_connected(self, callback: Callable[[], None]) -> None: ...


def _plain(value: object) -> object:
    # orjson takes dicts and lists only; the snapshot may hold any mapping or sequence.
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"not JSON-ready: {type(value).__name__}")


def to_json(value: JsonValue) -> bytes:
    """Stable bytes (sorted keys), so equal content gives equal payloads."""
    return orjson.dumps(_plain(value), default=_plain, option=orjson.OPT_SORT_KEYS)


def telemetry_messages(base_topic: str, snapshot: TelemetrySnapshot) -> dict[str, bytes]:
    """Topic -> payload for everything in `snapshot`."""
    messages = {f"{base_topic}/site": to_json(snapshot.site)}
    groups = {"evse": snapshot.evses, "meter": snapshot.meters, "station": snapshot.stations}
    for kind, objects in groups.items():
        for object_id, content in objects.items():
            messages[f"{base_topic}/{kind}/{object_id}"] = to_json(content)
    return messages


class TelemetryPublisher:
    """Samples `snapshot` every `interval_s` and on `notify_changed`, publishing changes."""

    def __init__(
        self,
        client: Publisher,
        base_topic: str,
        snapshot: Callable[[], TelemetrySnapshot],
        *,
        interval_s: float,
    ) -> None:
        self._client = client
        self._base_topic = base_topic
        self._snapshot = snapshot
        self._interval_s = interval_s
        self._last_published: dict[str, bytes] = {}
        self._changed = asyncio.Event()
        client.on_connected(self._republish_all)

    def publish_event(self, event: JsonObject) -> None:
        """Publish one event on `<base>/events` now (not retained); returns at once."""
        self._client.publish(f"{self._base_topic}/events", to_json(event))

    def notify_changed(self) -> None:
        """Ask for a sample now; returns at once. Many calls before the sample make one."""
        self._changed.set()

    async def run(self) -> None:
        """Sample and publish at once, then periodically and on change, until cancelled."""
        self.publish_changes()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval_s):
                    await self._changed.wait()
            self._changed.clear()
            self.publish_changes()

    def publish_changes(self) -> int:
        """Take a snapshot and publish what changed since the last one; the number sent."""
        try:
            messages = telemetry_messages(self._base_topic, self._snapshot())
        except Exception:  # the snapshot is the caller's code: log it, try again next time
            _log.exception("telemetry: snapshot failed")
            return 0
        sent = 0
        for topic in self._last_published.keys() - messages.keys():
            self._client.publish(topic, b"", retain=True)
            del self._last_published[topic]
            sent += 1
        for topic, payload in messages.items():
            if self._last_published.get(topic) != payload:
                self._client.publish(topic, payload, retain=True)
                self._last_published[topic] = payload
                sent += 1
        return sent

    def _republish_all(self) -> None:
        # An empty payload never equals a JSON one: every topic goes out again, and topics
        # whose id has left the snapshot are still cleared.
        self._last_published = dict.fromkeys(self._last_published, b"")
        self.notify_changed()
