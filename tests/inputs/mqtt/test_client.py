from __future__ import annotations

import asyncio

from localctl.inputs.mqtt.client import MqttClient, MqttMessage
from tests.inputs.mqtt.broker import Broker
from tests.inputs.mqtt.conftest import WAIT_S, Observer, client_config


async def test_client_announces_online_retained_and_offline_on_clean_stop(
    broker: Broker, observer: Observer
) -> None:
    async with MqttClient(client_config(broker)) as mqtt:
        await mqtt.wait_ready()
        assert await observer.wait_for("localctl/status") == b"online"
    assert observer.on("localctl/status")[-1:] == [b"offline"] or (
        await observer.wait_for("localctl/status", lambda p: p == b"offline")
    )
    retained = observer.messages[-1]
    assert retained.payload == b"offline"


async def test_published_message_reaches_a_subscriber(client: MqttClient, broker: Broker) -> None:
    received: asyncio.Queue[MqttMessage] = asyncio.Queue()
    other = MqttClient(client_config(broker, client_id="other", base_topic="other"))
    other.subscribe("localctl/x/+", received.put_nowait)
    async with other:
        await other.wait_ready()
        await client.wait_ready()
        client.publish("localctl/x/1", b"hello")
        message = await asyncio.wait_for(received.get(), WAIT_S)
    assert (message.topic, message.payload, message.retained) == ("localctl/x/1", b"hello", False)
