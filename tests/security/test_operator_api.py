"""The operator API over HTTPS, its metrics counting refused stations."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from localctl.config.model import LocalctlConfig
from localctl.service import Controller
from tests.io.conftest import relay_config
from tests.io.rawpeers import RawCsms
from tests.security.conftest import Pki
from tests.security.helpers import basic, refused, security

TOKEN = "operator-token-0123456789"


@pytest.fixture
async def controller(pki: Pki, csms: RawCsms) -> AsyncIterator[Controller]:
    config = LocalctlConfig(
        relay=relay_config(csms.url, station_security=security(None, 1, "CS1")),
        api={
            "listen": "127.0.0.1:0",
            "token": TOKEN,
            "tls": {"cert_file": pki.server.cert_file, "key_file": pki.server.key_file},
        },
    )
    controller = Controller(config)
    stop = asyncio.Event()
    running = asyncio.create_task(controller.run(stop))
    await asyncio.wait_for(controller.started.wait(), 5)
    yield controller
    stop.set()
    await running


async def test_metrics_over_https_count_refused_stations(controller: Controller, pki: Pki) -> None:
    response = await refused(controller.relay, "CS1", headers=basic("CS1", "Wrong-Passw0rd-12345"))
    assert response.status_code == 401
    assert controller.api is not None
    url = controller.api.url.replace("127.0.0.1", "localhost")
    assert url.startswith("https://")
    verify = ssl.create_default_context(cafile=pki.servers_ca.ca_file)
    async with httpx.AsyncClient(verify=verify) as http:
        metrics = await http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert metrics.status_code == 200
        assert 'localctl_station_auth_failures_total{reason="bad_password"} 1.0' in metrics.text
        anonymous = await http.get(f"{url}/metrics")
        assert anonymous.status_code == 401


async def test_plain_http_gets_no_answer_from_the_https_api(controller: Controller) -> None:
    assert controller.api is not None
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.HTTPError):
            await http.get(f"http://127.0.0.1:{controller.api.port}/metrics")
