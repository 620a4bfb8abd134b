"""Configuration of the MQTT connection, the EMS limit input and MQTT meters.

The models import `StrictModel` from `localctl.config.base` (the class `localctl.config.model`
re-exports), so the top-level config can import them without an import cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from localctl.config.base import StrictModel

TopicLevel = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^/+#\s]+$")]
"""One MQTT topic level: no separators or wildcards, so it can stand in a topic."""

Topic = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^+#]+$")]
"""A topic to subscribe to; wildcards are not allowed (one device per topic)."""

JsonPath = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^.]+(\.[^.]+)*$")]
"""Dotted keys and list indexes, e.g. ``ENERGY.Current.0`` (see docs/mqtt.md)."""

PhasePaths = tuple[JsonPath, JsonPath, JsonPath]


_PUBLISHED_LEVELS = frozenset({"status", "site", "evse", "meter", "station", "events"})
"""First topic levels under the base that localctl publishes on (see docs/mqtt.md)."""


class MqttConfigError(ValueError):
    """The configuration cannot be used as it is, e.g. a named environment variable is unset."""


class MqttTlsConfig(StrictModel):
    """TLS towards the broker."""

    ca_file: Path | None = Field(
        None, description="PEM file of the CA(s) to trust (path); null: the system's CAs"
    )
    cert_file: Path | None = Field(
        None, description="PEM client certificate for mutual TLS (path); needs key_file"
    )
    key_file: Path | None = Field(None, description="PEM private key of cert_file (path)")
    verify: bool = Field(
        True,
        description="check the broker's certificate and host name (turn off only for testing)",
    )

    @model_validator(mode="after")
    def _cert_with_key(self) -> MqttTlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class MqttConfig(StrictModel):
    """The connection to the MQTT broker, shared by EMS limits, meters and telemetry."""

    host: str = Field(min_length=1, description="broker host name or address")
    port: int = Field(1883, ge=1, le=65535, description="broker TCP port (usually 8883 with TLS)")
    client_id: str = Field(
        "localctl", min_length=1, max_length=23, description="MQTT client identifier (unique)"
    )
    base_topic: str = Field(
        "localctl",
        min_length=1,
        pattern=r"^[^+#]+$",
        description="prefix of every topic localctl publishes or listens on, without a "
        "trailing slash",
    )
    username: str | None = Field(None, description="user name for the broker; null: anonymous")
    password_env: str | None = Field(
        None,
        min_length=1,
        description="name of the environment variable holding the broker password "
        "(the password itself never goes in the file)",
    )
    tls: MqttTlsConfig | None = Field(None, description="TLS settings; null: plain TCP")
    keepalive_s: int = Field(
        30, ge=5, le=65535, description="MQTT keepalive; the broker declares us gone after 1.5x (s)"
    )
    qos: Literal[0, 1, 2] = Field(1, description="QoS of subscriptions and publications")
    reconnect_min_delay_s: float = Field(
        1.0, gt=0, description="first wait before reconnecting after a lost connection (s)"
    )
    reconnect_max_delay_s: float = Field(
        60.0, gt=0, description="longest wait between reconnection attempts; doubles up to it (s)"
    )
    telemetry_interval_s: float = Field(
        10.0, gt=0, description="how often telemetry is sampled and changed topics published (s)"
    )
    max_queued_messages: int = Field(
        1000,
        ge=1,
        description="outgoing messages held while the broker is unreachable (messages); "
        "newer ones are dropped past it",
    )

    @model_validator(mode="after")
    def _delays_ordered(self) -> MqttConfig:
        if self.reconnect_max_delay_s < self.reconnect_min_delay_s:
            raise ValueError("reconnect_max_delay_s must not be below reconnect_min_delay_s")
        if self.password_env is not None and self.username is None:
            raise ValueError("password_env needs a username")
        return self

    def password(self, environ: Mapping[str, str]) -> str | None:
        """The broker password from the environment, or None when none is configured."""
        if self.password_env is None:
            return None
        try:
            return environ[self.password_env]
        except KeyError:
            raise MqttConfigError(
                f"mqtt.password_env: environment variable {self.password_env} is not set"
            ) from None


class EmsMqttConfig(StrictModel):
    """EMS limits received over MQTT (contract in docs/mqtt.md)."""

    topic: str = Field(
        "ems/limit",
        min_length=1,
        pattern=r"^[^+#]+$",
        description="topic prefix under the base topic; a limit for node N arrives on "
        "<base>/<topic>/N",
    )
    node_ids: tuple[TopicLevel, ...] = Field(
        min_length=1, description="nodes of the site tree an EMS may limit (node ids)"
    )
    max_ttl_s: float = Field(
        900.0,
        gt=0,
        description="longest validity of one EMS limit (s); longer TTLs and valid_until "
        "times are shortened to it",
    )

    @model_validator(mode="after")
    def _not_where_localctl_publishes(self) -> EmsMqttConfig:
        # Listening where localctl publishes would read its own messages as limits; on
        # ems/error each rejection would answer itself, for ever.
        topic = self.topic.strip("/")
        if topic.split("/")[0] in _PUBLISHED_LEVELS or topic in ("ems", "ems/state"):
            raise ValueError(f"topic {self.topic!r} is where localctl publishes; use ems/limit")
        return self


class MqttMeterConfig(StrictModel):
    """A meter that publishes JSON readings over MQTT (Shelly, Tasmota and alike)."""

    id: TopicLevel = Field(description="unique meter id")
    node_id: str = Field(min_length=1, description="the node of the site tree the meter measures")
    topic: Topic = Field(description="full topic the device publishes its readings on")
    current_paths: PhasePaths = Field(
        description="JSON paths of the current of L1, L2, L3 (values in A after scaling)"
    )
    voltage_paths: PhasePaths | None = Field(
        None, description="JSON paths of the voltage of L1, L2, L3 (values in V after scaling)"
    )
    power_paths: PhasePaths | None = Field(
        None,
        description="JSON paths of the active power of L1, L2, L3 (values in W after scaling)",
    )
    current_scale: float = Field(
        1.0, gt=0, description="factor from the device's unit to A, e.g. 0.001 for mA (A/unit)"
    )
    voltage_scale: float = Field(1.0, gt=0, description="factor to V (V/unit)")
    power_scale: float = Field(1.0, gt=0, description="factor to W, e.g. 1000 for kW (W/unit)")
    timeout_s: float = Field(
        30.0,
        gt=0,
        description="a meter silent this long is reported as an input fault (s)",
    )
