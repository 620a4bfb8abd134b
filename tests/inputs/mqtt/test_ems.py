from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping

import orjson
import pytest

from localctl.inputs.mqtt.client import MqttClient
from localctl.inputs.mqtt.config import EmsMqttConfig
from localctl.inputs.mqtt.ems import EmsLimitInput
from tests.inputs.mqtt.broker import Broker
from tests.inputs.mqtt.conftest import (
    WAIT_S,
    Observer,
    RecordingSink,
    client_config,
    retained_payload,
)

MONOTONIC_S = 100.0
WALL_S = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def ems(broker: Broker, sink: RecordingSink) -> AsyncIterator[EmsLimitInput]:
    client = MqttClient(client_config(broker))
    config = EmsMqttConfig(node_ids=("main", "sub-a"), max_ttl_s=300)
    ems_input = EmsLimitInput(
        client, config, sink, monotonic=lambda: MONOTONIC_S, wall=lambda: WALL_S
    )
    async with client:
        await client.wait_ready()
        yield ems_input


def send(observer: Observer, node_id: str, payload: bytes | Mapping[str, object]) -> None:
    raw = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    observer.client.publish(f"localctl/ems/limit/{node_id}", raw)


async def test_limit_in_watts_reaches_the_sink_and_is_published_back_retained(
    broker: Broker, ems: EmsLimitInput, observer: Observer, sink: RecordingSink
) -> None:
    send(observer, "main", {"power_w": 11000, "ttl_s": 60, "source": "ems-x"})
    state = orjson.loads(await observer.wait_for("localctl/ems/state/main"))
    await sink.wait_until(lambda: bool(sink.limits))
    limit = sink.limits[0]
    assert (limit.node_id, limit.source, limit.power_w, limit.current_a) == (
        "main",
        "ems-x",
        11000.0,
        None,
    )
    assert limit.valid_until_monotonic_s == MONOTONIC_S + 60
    assert state["power_w"] == 11000 and state["valid_until"] == "2027-01-15T08:01:00.000Z"
    assert await retained_payload(broker, "localctl/ems/state/main") == orjson.dumps(state)


async def test_limit_in_amperes_with_valid_until_is_capped_and_says_so(
    ems: EmsLimitInput, observer: Observer, sink: RecordingSink
) -> None:
    payload = {"current_a": [16, 16, 10], "valid_until": "2027-01-15T09:00:00Z", "source": "e"}
    send(observer, "sub-a", payload)
    state = orjson.loads(await observer.wait_for("localctl/ems/state/sub-a"))
    assert state["current_a"] == [16, 16, 10]
    assert (state["ttl_s"], state["capped"]) == (300, True)
    assert sink.limits[0].valid_until_monotonic_s == MONOTONIC_S + 300


@pytest.mark.parametrize(
    "case",
    [
        ("main", b"{broken", "(payload)", "Invalid JSON"),
        ("main", b'{"power_w": "11kW", "ttl_s": 60, "source": "e"}', "power_w", "JSON number"),
        ("main", b'{"power_w": NaN, "ttl_s": 60, "source": "e"}', "power_w", "finite"),
        (
            "main",
            b'{"current_a": [16, Infinity, 16], "ttl_s": 60, "source": "e"}',
            "current_a.1",
            "finite",
        ),
        ("main", b'{"power_w": -500, "ttl_s": 60, "source": "e"}', "power_w", "negative"),
        ("main", b'{"power_w": 1, "ttl_s": 60, "source": "e", "boost": 1}', "boost", "unknown key"),
        ("garage", b'{"power_w": 1, "ttl_s": 60, "source": "e"}', "node_id", "unknown node"),
    ],
)
async def test_bad_message_is_explained_on_the_error_topic_and_faults_the_input(
    ems: EmsLimitInput,
    observer: Observer,
    sink: RecordingSink,
    case: tuple[str, bytes, str, str],
) -> None:
    node_id, payload, field, words = case
    send(observer, node_id, payload)
    error = orjson.loads(await observer.wait_for("localctl/ems/error"))
    assert error["topic"] == f"localctl/ems/limit/{node_id}"
    problem = next(e["problem"] for e in error["errors"] if e["field"] == field)
    assert words in problem
    await sink.wait_until(lambda: bool(sink.faults))
    assert sink.faults[0].input_id == f"ems:{node_id}"
    assert words in sink.faults[0].description
    assert sink.limits == []
    assert observer.on(f"localctl/ems/state/{node_id}") == []


async def test_retained_limit_with_ttl_is_rejected_but_with_valid_until_accepted(
    broker: Broker, observer: Observer, sink: RecordingSink
) -> None:
    ttl = {"power_w": 1000, "ttl_s": 60, "source": "old"}
    until = {"power_w": 2000, "valid_until": "2027-01-15T08:05:00Z", "source": "new"}
    observer.client.publish("localctl/ems/limit/main", orjson.dumps(ttl), retain=True)
    observer.client.publish("localctl/ems/limit/sub-a", orjson.dumps(until), retain=True)
    await observer.wait_for("localctl/ems/limit/sub-a")  # both are on the broker now
    client = MqttClient(client_config(broker))
    config = EmsMqttConfig(node_ids=("main", "sub-a"))
    EmsLimitInput(client, config, sink, monotonic=lambda: MONOTONIC_S, wall=lambda: WALL_S)
    async with client:
        await sink.wait_until(lambda: bool(sink.limits) and bool(sink.faults))
    # (amqtt hands retained messages over twice; mosquitto once)
    assert {limit.source for limit in sink.limits} == {"new"}
    assert all("retained" in fault.description for fault in sink.faults)


async def test_empty_payload_clearing_a_retained_limit_is_ignored(
    ems: EmsLimitInput, observer: Observer, sink: RecordingSink
) -> None:
    send(observer, "main", b"")
    send(observer, "main", {"power_w": 1, "ttl_s": 5, "source": "after"})
    await sink.wait_until(lambda: bool(sink.limits))
    assert sink.faults == [] and observer.on("localctl/ems/error") == []


async def test_limits_flow_again_after_a_broker_restart(
    broker: Broker, sink: RecordingSink
) -> None:
    client = MqttClient(client_config(broker))
    config = EmsMqttConfig(node_ids=("main",))
    EmsLimitInput(client, config, sink, monotonic=lambda: MONOTONIC_S, wall=lambda: WALL_S)
    lost = asyncio.Event()
    client.on_disconnected(lost.set)

    async def send_and_wait(source: str) -> None:
        sender = MqttClient(client_config(broker, client_id="ems-x", base_topic="ems-x"))
        async with sender:
            await sender.wait_ready()
            payload = {"power_w": 5000, "ttl_s": 60, "source": source}
            sender.publish("localctl/ems/limit/main", orjson.dumps(payload))
            await sink.wait_until(lambda: any(lim.source == source for lim in sink.limits))

    async with client:
        await client.wait_ready()
        await send_and_wait("before")
        await broker.stop()
        await asyncio.wait_for(lost.wait(), WAIT_S)
        await broker.start()
        await asyncio.wait_for(client.wait_ready(), WAIT_S)
        await send_and_wait("after")
    assert [limit.source for limit in sink.limits] == ["before", "after"]
