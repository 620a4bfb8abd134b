"""Bearer-token authentication on the real server; the token never reaches the logs."""

from __future__ import annotations

import logging

import httpx
import pytest

from localctl.api.auth import MissingTokenError, resolve_token
from localctl.config.api import ApiConfig
from localctl.config.loader import ConfigError
from tests.api.conftest import API, TOKEN, Operated


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
async def test_calls_without_the_right_bearer_token_are_refused(
    operated: Operated, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    async with httpx.AsyncClient(base_url=str(operated.http.base_url), headers=headers) as http:
        for path in (API + "/site", API + "/evses/a/explain", "/metrics"):
            response = await http.get(path)
            assert response.status_code == 401, path
            assert response.headers["WWW-Authenticate"] == "Bearer"
        assert (await http.post(API + "/evses/a/pause")).status_code == 401
    assert operated.controller.loop is not None
    assert operated.controller.loop.overrides.paused == set()


async def test_the_openapi_document_and_the_dashboard_files_need_no_token(
    operated: Operated,
) -> None:
    async with httpx.AsyncClient(base_url=str(operated.http.base_url)) as http:
        document = (await http.get(API + "/openapi.json")).json()
        assert "bearer" in str(document["components"]["securitySchemes"]).lower()
        assert (await http.get("/dashboard/")).status_code == 200


async def test_the_token_is_not_logged(
    operated: Operated, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await operated.http.post(API + "/evses/a/pause")
    async with httpx.AsyncClient(base_url=str(operated.http.base_url)) as http:
        await http.get(API + "/site", headers={"Authorization": "Bearer nope"})
    assert caplog.records
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_the_token_comes_from_the_config_or_the_environment() -> None:
    assert resolve_token(ApiConfig(token="from-file"), {"LOCALCTL_API_TOKEN": "x"}) == "from-file"
    config = ApiConfig(token_env="SITE_TOKEN")
    assert resolve_token(config, {"SITE_TOKEN": "from-env"}) == "from-env"
    with pytest.raises(MissingTokenError, match="SITE_TOKEN") as raised:
        resolve_token(config, {"LOCALCTL_API_TOKEN": "wrong variable"})
    assert isinstance(raised.value, ConfigError)  # `localctl run` reports it and exits 2


def test_the_token_does_not_show_in_the_configuration() -> None:
    config = ApiConfig(token="s3cret-value")
    assert "s3cret-value" not in repr(config)
    assert "s3cret-value" not in config.model_dump_json()


@pytest.mark.parametrize(
    ("listen", "loopback"),
    [("127.0.0.1:8080", True), ("[::1]:0", True), ("localhost:1", True), ("0.0.0.0:80", False)],
)
def test_loopback_is_recognised(listen: str, loopback: bool) -> None:
    assert ApiConfig(listen=listen).loopback_only is loopback
