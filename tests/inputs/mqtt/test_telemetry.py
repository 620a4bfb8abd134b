from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import orjson
import pytest

from localctl.inputs.mqtt.client import MqttClient
from localctl.inputs.mqtt.telemetry import (
    JsonObject,
    TelemetryPublisher,
    TelemetrySnapshot,
    telemetry_messages,
)
from tests.inputs.mqtt.broker import Broker
from tests.inputs.mqtt.conftest import Observer, retained_payload

SNAPSHOT = TelemetrySnapshot(
    site={"mode": "normal", "power_w": 9000},
    evses={
        "a1": {"offered_a": [16, 16, 16], "bound_by": "fuse:sub-a:L2"},
        "a2": {"offered_a": [6, 0, 0], "bound_by": "evse:a2:min"},
    },
    meters={"grid": {"current_a": [20.5, 18, 19], "age_s": 0.4, "status": "fresh"}},
    stations={"CP-1": {"connected": True}},
)


@dataclass
class RecordingPublisher:
    sent: list[tuple[str, bytes, bool]] = field(default_factory=list)
    connected_callbacks: list[Callable[[], None]] = field(default_factory=list)

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.sent.append((topic, payload, retain))

    def on_connected(self, callback: Callable[[], None]) -> None:
        self.connected_callbacks.append(callback)

    def topics(self) -> list[str]:
        topics = [topic for topic, _, _ in self.sent]
        self.sent.clear()
        return topics


class Snapshots:
    def __init__(self) -> None:
        self.current = SNAPSHOT

    def __call__(self) -> TelemetrySnapshot:
        return self.current


def test_every_part_of_the_snapshot_has_its_topic() -> None:
    messages = telemetry_messages("lc", SNAPSHOT)
    assert sorted(messages) == [
        "lc/evse/a1",
        "lc/evse/a2",
        "lc/meter/grid",
        "lc/site",
        "lc/station/CP-1",
    ]
    assert orjson.loads(messages["lc/evse/a1"]) == {
        "bound_by": "fuse:sub-a:L2",
        "offered_a": [16, 16, 16],
    }


def test_payloads_are_stable_whatever_the_key_order_or_mapping_type() -> None:
    shuffled = TelemetrySnapshot(
        site=MappingProxyType({"power_w": 9000, "mode": "normal"}),
        evses={"a1": {"bound_by": "fuse:sub-a:L2", "offered_a": (16, 16, 16)}},
    )
    assert (
        telemetry_messages("lc", shuffled)["lc/site"]
        == telemetry_messages("lc", SNAPSHOT)["lc/site"]
    )
    assert (
        telemetry_messages("lc", shuffled)["lc/evse/a1"]
        == telemetry_messages("lc", SNAPSHOT)["lc/evse/a1"]
    )


def test_only_changed_topics_are_published_again_and_all_retained() -> None:
    publisher, snapshots = RecordingPublisher(), Snapshots()
    telemetry = TelemetryPublisher(publisher, "lc", snapshots, interval_s=10)
    assert telemetry.publish_changes() == 5
    assert all(retain for _, _, retain in publisher.sent)
    publisher.sent.clear()
    assert telemetry.publish_changes() == 0
    evses: dict[str, JsonObject] = {
        **SNAPSHOT.evses,
        "a2": {"offered_a": [8, 0, 0], "bound_by": "evse:a2:max"},
    }
    snapshots.current = replace(SNAPSHOT, evses=evses)
    telemetry.publish_changes()
    assert publisher.topics() == ["lc/evse/a2"]


def test_an_id_that_leaves_the_snapshot_has_its_retained_message_cleared() -> None:
    publisher, snapshots = RecordingPublisher(), Snapshots()
    telemetry = TelemetryPublisher(publisher, "lc", snapshots, interval_s=10)
    telemetry.publish_changes()
    publisher.sent.clear()
    snapshots.current = replace(SNAPSHOT, evses={})
    telemetry.publish_changes()
    assert sorted(publisher.sent) == [("lc/evse/a1", b"", True), ("lc/evse/a2", b"", True)]


def test_everything_is_published_again_after_a_reconnection() -> None:
    publisher, snapshots = RecordingPublisher(), Snapshots()
    telemetry = TelemetryPublisher(publisher, "lc", snapshots, interval_s=10)
    telemetry.publish_changes()
    publisher.sent.clear()
    (reconnected,) = publisher.connected_callbacks
    reconnected()
    assert telemetry.publish_changes() == 5


def test_a_failing_snapshot_is_logged_and_publishes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> TelemetrySnapshot:
        raise KeyError("evse")

    publisher = RecordingPublisher()
    assert TelemetryPublisher(publisher, "lc", broken, interval_s=10).publish_changes() == 0
    assert publisher.sent == [] and "snapshot failed" in caplog.text


@contextlib.asynccontextmanager
async def running(telemetry: TelemetryPublisher) -> AsyncIterator[None]:
    task = asyncio.create_task(telemetry.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_changes_are_sampled_periodically_without_being_notified(
    broker: Broker, client: MqttClient, observer: Observer
) -> None:
    await client.wait_ready()
    snapshots = Snapshots()
    telemetry = TelemetryPublisher(client, "localctl", snapshots, interval_s=0.1)
    async with running(telemetry):
        await observer.wait_for("localctl/site")
        snapshots.current = TelemetrySnapshot({"mode": "floors", "power_w": 4000})
        site = await observer.wait_for("localctl/site", lambda p: b"floors" in p)
    assert orjson.loads(site) == {"mode": "floors", "power_w": 4000}
    assert await retained_payload(broker, "localctl/site") == site


async def test_notified_change_is_published_at_once_and_identical_samples_are_not(
    client: MqttClient, observer: Observer
) -> None:
    await client.wait_ready()
    snapshots = Snapshots()
    telemetry = TelemetryPublisher(client, "localctl", snapshots, interval_s=30)
    async with running(telemetry):
        await observer.wait_for("localctl/meter/grid")  # the first sample, after connecting
        for _ in range(5):
            telemetry.notify_changed()
            await asyncio.sleep(0.01)
        snapshots.current = replace(SNAPSHOT, site={"mode": "hold", "power_w": 9000})
        telemetry.notify_changed()
        await observer.wait_for("localctl/site", lambda p: b"hold" in p)
    assert len(observer.on("localctl/site")) == 2
    assert observer.on("localctl/evse/a1") == [telemetry_messages("x", SNAPSHOT)["x/evse/a1"]]


def test_events_go_out_at_once_and_are_not_retained() -> None:
    publisher = RecordingPublisher()
    telemetry = TelemetryPublisher(publisher, "lc", Snapshots(), interval_s=10)
    event = {"input_id": "grid", "previous": "fresh", "current": "stale", "at": "..."}
    telemetry.publish_event(event)
    telemetry.publish_event(event)  # events are never deduplicated
    payload = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    assert publisher.sent == [("lc/events", payload, False)] * 2
