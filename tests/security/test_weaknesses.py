"""`localctl check-config` points out settings that weaken security."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from localctl.cli import main
from localctl.config.loader import load_config
from localctl.config.model import LocalctlConfig
from localctl.config.security import StationSecurityConfig
from localctl.config.weaknesses import weaknesses
from tests.security.conftest import STATION_HASH


def config(**relay: Any) -> LocalctlConfig:
    return LocalctlConfig.model_validate({"relay": {"upstream_url": "wss://csms/ocpp", **relay}})


def tls_section() -> dict[str, str]:
    return {"cert_file": "server.pem", "key_file": "server.key"}


def test_a_loopback_relay_with_verified_tls_upstream_has_no_weakness() -> None:
    assert weaknesses(config()) == []


@pytest.mark.parametrize(
    ("relay", "words"),
    [
        ({"listen": "0.0.0.0:9000"}, "stations are not authenticated"),
        (
            {"listen": "0.0.0.0:9000", "station_security": {"default_profile": 1}},
            "profile 1 (passwords in clear",
        ),
        (
            {
                "listen": "0.0.0.0:9000",
                "station_security": {
                    "default_profile": 2,
                    "tls": tls_section(),
                    "stations": [{"id": "CS1", "password_hash": STATION_HASH}],
                },
            },
            None,
        ),
        ({"upstream_security": {"default": {"verify": False}}}, "verify is off"),
        (
            {
                "upstream_url": "ws://csms/ocpp",
                "upstream_security": {"default": {"password_env": "PW"}},
            },
            "password goes over plain ws://",
        ),
        (
            {
                "upstream_url": "ws://csms/ocpp",
                "upstream_security": {
                    "stations": [{"id": "CS1", "cert_file": "a", "key_file": "b"}]
                },
            },
            "stations[CS1]: a client certificate is set but ws://csms/ocpp is ws://",
        ),
    ],
)
def test_weak_settings_are_named(relay: dict[str, Any], words: str | None) -> None:
    found = weaknesses(config(**relay))
    if words is None:
        assert found == []
    else:
        assert len(found) == 1
        assert words in found[0]


def test_an_api_on_the_network_without_tls_is_named() -> None:
    weak = LocalctlConfig.model_validate(
        {"relay": {"upstream_url": "wss://csms/ocpp"}, "api": {"listen": "0.0.0.0:8080"}}
    )
    assert weaknesses(weak) == [
        "api.listen 0.0.0.0:8080: the bearer token crosses the network in clear; set api.tls"
    ]


def test_check_config_prints_the_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "weak.yaml"
    file.write_text(
        yaml.safe_dump({"relay": {"listen": "0.0.0.0:9000", "upstream_url": "ws://csms/ocpp"}})
    )
    assert main(["check-config", str(file)]) == 0
    assert (
        "warning: relay.listen 0.0.0.0:9000: stations are not authenticated"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"default_profile": 2}, "profiles 2 and 3 need a `tls` section"),
        ({"default_profile": 1, "tls": tls_section()}, "cannot share the TLS port"),
        ({"default_profile": 3, "tls": tls_section()}, "profile 3 needs tls.client_ca_file"),
        (
            {
                "default_profile": 1,
                "stations": [{"id": "CS1", "password_hash": "hunter2-hunter2-hunter2"}],
            },
            "not a password",
        ),
    ],
)
def test_inconsistent_security_sections_are_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], section: dict[str, Any], words: str
) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(
        yaml.safe_dump({"relay": {"upstream_url": "ws://csms/ocpp", "station_security": section}})
    )
    assert main(["check-config", str(file)]) == 2
    error = capsys.readouterr().err
    assert words in error
    assert "hunter2" not in error


def test_a_configured_station_without_a_password_hash_is_named(tmp_path: Path) -> None:
    demo = load_config(Path(__file__).parents[2] / "site-configs" / "demo.yaml")
    first, *others = (s.id for s in demo.stations)
    section = StationSecurityConfig.model_validate(
        {
            "default_profile": 2,
            "tls": tls_section() | {"client_ca_file": "ca.pem"},
            "stations": [
                {"id": first, "password_hash": STATION_HASH},
                *({"id": o, "profile": 3 if i == 0 else None} for i, o in enumerate(others)),
            ],
        }
    )
    relay = demo.relay.model_copy(update={"station_security": section})
    found = weaknesses(demo.model_copy(update={"relay": relay}))
    named = [f for f in found if "has no relay.station_security" in f]
    assert [n.split()[1] for n in named] == others[1:]
