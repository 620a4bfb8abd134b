from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from localctl.config.model import RelayConfig
from localctl.io.relay_server import RelayServer
from localctl.relay.schemas import SchemaRegistry
from tests.io.rawpeers import RawCsms


@pytest.fixture(scope="session")
def schemas() -> SchemaRegistry:
    return SchemaRegistry()


@pytest.fixture
async def csms() -> AsyncIterator[RawCsms]:
    async with RawCsms() as server:
        yield server


def relay_config(upstream_url: str, **overrides: object) -> RelayConfig:
    return RelayConfig.model_validate(
        {
            "listen": "127.0.0.1:0",
            "upstream_url": upstream_url,
            "ping_interval_s": None,
            **overrides,
        }
    )


@pytest.fixture
async def relay(csms: RawCsms, schemas: SchemaRegistry) -> AsyncIterator[RelayServer]:
    async with RelayServer(relay_config(csms.url), schemas) as server:
        yield server
