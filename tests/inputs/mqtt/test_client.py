from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from localctl.inputs.mqtt.client import MqttClient, MqttMessage
from localctl.inputs.mqtt.config import MqttConfigError
from tests.inputs.mqtt.broker import Broker
from tests.inputs.mqtt.conftest import WAIT_S, Observer, client_config, retained_payload


async def test_client_is_online_while_connected_and_offline_after_a_clean_stop(
    broker: Broker, observer: Observer
) -> None:
    async with MqttClient(client_config(broker)) as mqtt:
        await mqtt.wait_ready()
        assert await observer.wait_for("localctl/status") == b"online"
        assert await retained_payload(broker, "localctl/status") == b"online"
    await observer.wait_for("localctl/status", lambda p: p == b"offline")
    assert await retained_payload(broker, "localctl/status") == b"offline"


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


async def test_subscriptions_are_restored_after_a_broker_restart(broker: Broker) -> None:
    received: asyncio.Queue[MqttMessage] = asyncio.Queue()
    lost = asyncio.Event()
    mqtt = MqttClient(client_config(broker))
    mqtt.subscribe("localctl/in", received.put_nowait)
    mqtt.on_disconnected(lost.set)
    async with mqtt:
        await mqtt.wait_ready()
        await broker.stop()
        await asyncio.wait_for(lost.wait(), WAIT_S)
        assert not mqtt.connected
        await broker.start()
        async with asyncio.timeout(WAIT_S):
            await mqtt.wait_ready()
        sender = MqttClient(client_config(broker, client_id="sender", base_topic="sender"))
        async with sender:
            await sender.wait_ready()
            sender.publish("localctl/in", b"after restart")
            message = await asyncio.wait_for(received.get(), WAIT_S)
        assert message.payload == b"after restart"
        # and `online` again, on a broker that lost every retained message
        assert await retained_payload(broker, "localctl/status") == b"online"


_CHILD = """
import asyncio, sys
from localctl.inputs.mqtt.client import MqttClient
from localctl.inputs.mqtt.config import MqttConfig

async def main():
    config = MqttConfig(host="127.0.0.1", port=int(sys.argv[1]), client_id="doomed")
    async with MqttClient(config) as mqtt:
        await mqtt.wait_ready()
        print("ready", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_last_will_says_offline_when_the_connection_drops_abruptly(
    broker: Broker, observer: Observer
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, str(broker.port), stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), WAIT_S) == b"ready\n"
        await observer.wait_for("localctl/status", lambda p: p == b"online")
        child.send_signal(signal.SIGKILL)  # no DISCONNECT, no offline message of its own
        await child.wait()
        await observer.wait_for("localctl/status", lambda p: p == b"offline")
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert await retained_payload(broker, "localctl/status") == b"offline"


@pytest.fixture
async def password_broker(broker_kind: str, tmp_path: Path) -> Broker:
    if broker_kind != "mosquitto":
        pytest.skip("user names and passwords are tested with mosquitto only")
    return Broker(broker_kind, tmp_path, users={"ems": "s3cret"})


async def test_username_and_password_from_the_environment_are_accepted(
    password_broker: Broker,
) -> None:
    await password_broker.start()
    try:
        config = client_config(password_broker, username="ems", password_env="MQTT_PASSWORD")
        async with MqttClient(config, environ={"MQTT_PASSWORD": "s3cret"}) as mqtt:
            await asyncio.wait_for(mqtt.wait_ready(), WAIT_S)
    finally:
        await password_broker.stop()


async def test_wrong_password_never_connects_and_is_logged(
    password_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    await password_broker.start()
    try:
        config = client_config(password_broker, username="ems", password_env="MQTT_PASSWORD")
        with caplog.at_level(logging.WARNING):
            async with MqttClient(config, environ={"MQTT_PASSWORD": "guess"}) as mqtt:
                await asyncio.sleep(0.3)
                assert not mqtt.connected
    finally:
        await password_broker.stop()
    assert caplog.text.count("refused the connection") == 1  # once, though retried


def test_missing_password_variable_is_a_config_error_naming_it(broker: Broker) -> None:
    config = client_config(broker, username="ems", password_env="LOCALCTL_NO_SUCH_VARIABLE")
    assert "LOCALCTL_NO_SUCH_VARIABLE" not in os.environ
    with pytest.raises(MqttConfigError, match="LOCALCTL_NO_SUCH_VARIABLE is not set"):
        MqttClient(config, environ={})


async def test_every_handler_of_a_topic_gets_the_message_even_if_one_fails(
    client: MqttClient, caplog: pytest.LogCaptureFixture
) -> None:
    received: asyncio.Queue[str] = asyncio.Queue()

    def broken(message: MqttMessage) -> None:
        raise ValueError(message.topic)

    client.subscribe("localctl/both", broken)
    client.subscribe("localctl/both", lambda m: received.put_nowait("first"))
    client.subscribe("localctl/+", lambda m: received.put_nowait("wildcard"))
    await client.wait_ready()
    client.publish("localctl/both", b"x")
    got = {await asyncio.wait_for(received.get(), WAIT_S) for _ in range(2)}
    assert got == {"first", "wildcard"}
    assert "handler" in caplog.text and "ValueError: localctl/both" in caplog.text


async def test_publishing_while_the_broker_is_down_returns_at_once_and_counts_what_it_drops(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    lost = asyncio.Event()
    mqtt = MqttClient(client_config(broker, max_queued_messages=5))
    mqtt.on_disconnected(lost.set)
    async with mqtt:
        await mqtt.wait_ready()
        await broker.stop()
        await asyncio.wait_for(lost.wait(), WAIT_S)
        started_s = time.monotonic()
        for number in range(50):
            mqtt.publish("localctl/burst", str(number).encode())
        assert time.monotonic() - started_s < 0.5
        await broker.start()
        await asyncio.wait_for(mqtt.wait_ready(), WAIT_S)
    assert caplog.text.count("outgoing queue full") == 1
    assert re.search(r"mqtt: \d+ messages were dropped while disconnected", caplog.text)
