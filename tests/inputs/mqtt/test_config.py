from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from localctl.inputs.mqtt.config import (
    EmsMqttConfig,
    MqttConfig,
    MqttConfigError,
    MqttMeterConfig,
    MqttTlsConfig,
)

PATHS = ["a", "b", "c"]


def errors(model: type[Any], data: dict[str, object]) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return str(caught.value)


def test_defaults_are_the_documented_ones() -> None:
    config = MqttConfig(host="broker")
    assert (config.port, config.base_topic, config.qos, config.keepalive_s) == (
        1883,
        "localctl",
        1,
        30,
    )
    assert config.tls is None and MqttTlsConfig().verify is True


def test_password_comes_from_the_named_environment_variable() -> None:
    config = MqttConfig(host="broker", username="lc", password_env="LC_PW")
    assert config.password({"LC_PW": "pw"}) == "pw"
    assert MqttConfig(host="broker").password({}) is None
    with pytest.raises(MqttConfigError, match=r"mqtt\.password_env: environment variable LC_PW"):
        config.password({})


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"host": "b", "password": "x"}, "Extra inputs are not permitted"),
        ({"host": "b", "password_env": "PW"}, "password_env needs a username"),
        ({"host": "b", "base_topic": "site/#"}, "base_topic"),
        ({"host": "b", "qos": 3}, "qos"),
        ({"host": "b", "reconnect_min_delay_s": 5, "reconnect_max_delay_s": 1}, "must not be"),
        ({"host": "b", "tls": {"cert_file": "c.pem"}}, "cert_file and key_file go together"),
    ],
)
def test_bad_connection_settings_are_rejected(data: dict[str, object], words: str) -> None:
    assert words in errors(MqttConfig, data)


def test_ems_nodes_must_be_single_topic_levels() -> None:
    assert "node_ids" in errors(EmsMqttConfig, {"node_ids": ["main/sub"]})
    assert "node_ids" in errors(EmsMqttConfig, {"node_ids": []})
    assert EmsMqttConfig(node_ids=("main",)).max_ttl_s == 900


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"topic": "devices/+/status"}, "topic"),
        ({"current_paths": ["a", "b"]}, "current_paths"),
        ({"current_paths": ["a..b", "b", "c"]}, "current_paths"),
        ({"power_paths": ["a", "b", ".c"]}, "power_paths"),
        ({"current_scale": 0}, "current_scale"),
        ({"id": "grid/meter"}, "id"),
    ],
)
def test_bad_meter_settings_are_rejected(changes: dict[str, object], field: str) -> None:
    data = {"id": "grid", "node_id": "main", "topic": "t", "current_paths": PATHS, **changes}
    assert field in errors(MqttMeterConfig, data)


@pytest.mark.parametrize("topic", ["ems", "ems/state", "evse", "site/limits", "status"])
def test_ems_topic_may_not_be_where_localctl_publishes(topic: str) -> None:
    assert "is where localctl publishes" in errors(
        EmsMqttConfig, {"topic": topic, "node_ids": ["main"]}
    )


def test_ems_topic_may_be_any_other_prefix() -> None:
    assert EmsMqttConfig(topic="ems/vendor-x/limit", node_ids=("main",)).topic
