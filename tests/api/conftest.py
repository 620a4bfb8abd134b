"""A controller with its operator API on port 0, in front of a simulated 1.6 and 2.0.1
station, a stub CSMS and a Modbus grid meter (the closed-loop end-to-end site), and an HTTP
client that talks to the real server."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from localctl.config.api import ApiConfig
from localctl.config.model import LocalctlConfig
from localctl.service import Controller
from tests.e2e.test_closed_loop import Site, config, open_site

TOKEN = secrets.token_urlsafe(16)
API = "/api/v1"
LOCKED = ("HeartbeatInterval",)
OWN_CALL_TIMEOUT_S = 1.5


@dataclass
class Operated:
    site: Site
    http: httpx.AsyncClient
    """authenticated, with the API's base URL"""

    @property
    def controller(self) -> Controller:
        return self.site.controller


def api_config(**changes: object) -> ApiConfig:
    return ApiConfig.model_validate({"listen": "127.0.0.1:0", "token": TOKEN, **changes})


def with_api(csms_url: str, meter_port: int) -> LocalctlConfig:
    api = api_config(csms_locked_parameters=LOCKED, report_timeout_s=3)
    base = config(csms_url, meter_port)
    # a call a station leaves unanswered times out within an HTTP client's patience
    relay = base.relay.model_copy(update={"own_call_timeout_s": OWN_CALL_TIMEOUT_S})
    return base.model_copy(update={"api": api, "relay": relay})


@pytest.fixture
async def operated() -> AsyncIterator[Operated]:
    async with open_site(with_api) as site:
        api = site.controller.api
        assert api is not None
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=api.url, headers=headers) as http:
            yield Operated(site, http)
