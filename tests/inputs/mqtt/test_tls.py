from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

pytest.importorskip("cryptography", reason="the TLS tests make their certificates with it")

from localctl.inputs.mqtt.client import MqttClient
from tests.inputs.mqtt.broker import Broker, BrokerTls
from tests.inputs.mqtt.certs import make_ca, make_server_cert
from tests.inputs.mqtt.conftest import WAIT_S, client_config


@pytest.fixture
async def tls_broker(broker_kind: str, tmp_path: Path) -> AsyncIterator[Broker]:
    if broker_kind != "mosquitto":
        pytest.skip("TLS is tested with mosquitto only")
    _, ca_key = make_ca(tmp_path, "test-ca")
    cert_file, key_file = make_server_cert(tmp_path, "test-ca", ca_key)
    server = Broker(broker_kind, tmp_path, tls=BrokerTls(cert_file, key_file))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def test_tls_connection_checks_the_broker_against_the_configured_ca(
    tls_broker: Broker, tmp_path: Path
) -> None:
    tls = {"ca_file": str(tmp_path / "test-ca.pem")}
    async with MqttClient(client_config(tls_broker, tls=tls)) as mqtt:
        await asyncio.wait_for(mqtt.wait_ready(), WAIT_S)


async def test_tls_connection_to_a_broker_of_another_ca_fails_and_says_so_once(
    tls_broker: Broker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other_ca, _ = make_ca(tmp_path, "other-ca")
    config = client_config(tls_broker, tls={"ca_file": str(other_ca)})
    with caplog.at_level(logging.WARNING):
        async with MqttClient(config) as mqtt:
            await asyncio.sleep(0.5)
            assert not mqtt.connected
    assert caplog.text.count("could not connect") == 1


async def test_tls_without_verification_connects_to_any_broker(tls_broker: Broker) -> None:
    config = client_config(tls_broker, tls={"verify": False})
    async with MqttClient(config) as mqtt:
        await asyncio.wait_for(mqtt.wait_ready(), WAIT_S)


async def test_plain_client_on_a_tls_port_never_connects(tls_broker: Broker) -> None:
    async with MqttClient(client_config(tls_broker)) as mqtt:
        await asyncio.sleep(0.3)
        assert not mqtt.connected
