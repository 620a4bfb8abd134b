"""The `api` configuration section: a controller with an API and no token does not start."""

from __future__ import annotations

from pathlib import Path

import pytest

from localctl.cli import main


def test_run_without_an_api_token_stops_with_the_variable_to_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SITE_API_TOKEN", raising=False)
    config = tmp_path / "site.yaml"
    config.write_text(
        "relay: {listen: '127.0.0.1:0', upstream_url: 'ws://127.0.0.1:9/ocpp'}\n"
        "api: {listen: '127.0.0.1:0', token_env: SITE_API_TOKEN}\n",
        encoding="utf-8",
    )
    assert main(["run", "--config", str(config)]) == 2
    assert "SITE_API_TOKEN" in capsys.readouterr().err


def test_an_api_listen_address_must_be_host_and_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.yaml"
    config.write_text(
        "relay: {upstream_url: 'ws://127.0.0.1:9/ocpp'}\napi: {listen: '8080'}\n",
        encoding="utf-8",
    )
    assert main(["check-config", str(config)]) == 2
    assert "api.listen" in capsys.readouterr().err
