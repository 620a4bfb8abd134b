"""The configuration model. Every field has a description with its unit; unknown keys are errors."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from localctl.config.api import ApiConfig
from localctl.config.base import StrictModel
from localctl.config.control import ControlConfig
from localctl.config.inputs import InputsConfig
from localctl.config.listen import ListenAddress
from localctl.config.offline import OfflineConfig
from localctl.config.security import StationSecurityConfig, UpstreamSecurityConfig
from localctl.config.site import SiteConfig, StationConfig, check_stations
from localctl.inputs.mqtt.config import MqttConfig

__all__ = ["LocalctlConfig", "RelayConfig", "StrictModel", "Subprotocol"]

Subprotocol = Literal["ocpp2.1", "ocpp2.0.1", "ocpp1.6"]


class RelayConfig(ListenAddress):
    """The station-side WebSocket server and the upstream connections to the CSMS."""

    listen: str = Field(
        "127.0.0.1:9000",
        description="HOST:PORT of the station-side WebSocket server (port 0: any free port)",
    )
    upstream_url: str = Field(
        description="ws:// or wss:// URL of the CSMS's OCPP endpoint; the station's identity is "
        "appended as the last path segment"
    )
    subprotocols: tuple[Subprotocol, ...] = Field(
        ("ocpp2.0.1", "ocpp1.6", "ocpp2.1"),
        description="OCPP-J subprotocols accepted from stations, in order of preference",
    )
    strict: bool = Field(
        False,
        description="answer schema-invalid calls with a CALLERROR instead of relaying them "
        "(off by default: real stations are often slightly off-spec)",
    )
    relayed_call_timeout_s: float = Field(
        60.0, gt=0, description="seconds a relayed call may stay unanswered (s)"
    )
    own_call_timeout_s: float = Field(
        30.0, gt=0, description="seconds the controller's own call may stay unanswered (s)"
    )
    upstream_open_timeout_s: float = Field(
        10.0, gt=0, description="seconds to open the upstream connection during a handshake (s)"
    )
    upstream_connects_per_s: float = Field(
        200.0,
        gt=0,
        description="new upstream connections per second, first connects and outage "
        "reconnects together, after a burst of `upstream_connect_burst` (1/s); a crowd of N "
        "stations connecting at once waits up to (N - burst) / rate seconds for its upstream",
    )
    upstream_connect_burst: int = Field(
        50, ge=1, description="upstream connections that may open at once before pacing starts"
    )
    upstream_connect_concurrency: int = Field(
        32,
        ge=1,
        description="upstream opening handshakes (TCP, TLS, HTTP upgrade) under way at once",
    )
    ping_interval_s: float | None = Field(
        20.0, gt=0, description="WebSocket ping interval on both sockets (s); null: no pings"
    )
    ping_timeout_s: float | None = Field(
        20.0, gt=0, description="seconds a ping may go unanswered before the socket closes (s)"
    )
    max_frame_bytes: int = Field(
        1_048_576, ge=1024, description="largest WebSocket message accepted (bytes)"
    )
    compression: bool = Field(
        True, description="RFC 7692 permessage-deflate when the peer offers it (OCPP-J part 4, 5)"
    )
    allowed_station_ids: tuple[str, ...] | None = Field(
        None, description="if set, only these station identities may connect (others: HTTP 404)"
    )
    on_duplicate_connection: Literal["replace", "reject"] = Field(
        "replace",
        description="a station connecting while its identity is connected: replace the old "
        "connection (the usual case after a silent network loss) or reject the new one (HTTP 409)",
    )
    log_traffic: bool = Field(False, description="log every relayed frame at INFO level")
    offline: OfflineConfig = Field(
        default_factory=OfflineConfig,
        description="store and forward while the CSMS is unreachable",
    )
    station_security: StationSecurityConfig | None = Field(
        None,
        description="how stations authenticate (security profiles 1-3); null: they do not "
        "(only for a trusted network; `check-config` warns)",
    )
    upstream_security: UpstreamSecurityConfig = Field(
        default_factory=UpstreamSecurityConfig,
        description="the controller's own credentials and TLS settings towards the CSMS",
    )

    @field_validator("upstream_url")
    @classmethod
    def _websocket_url(cls, url: str) -> str:
        if not url.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return url.rstrip("/")


class IdentityConfig(StrictModel):
    """The controller's own connection to the CSMS (OCPP 2.0.1 part 4, 6.2)."""

    station_id: str = Field(
        min_length=1, max_length=48, description="the identity the controller connects with"
    )
    ocpp_version: Literal["ocpp1.6", "ocpp2.0.1"] = Field(
        "ocpp2.0.1", description="OCPP-J subprotocol of the controller's own connection"
    )
    node_id: str = Field(
        min_length=1,
        description="the node a group limit from the CSMS applies to (usually the root)",
    )
    reconnect_max_s: float = Field(
        60.0, gt=0, description="longest wait between reconnection attempts (s)"
    )


class LocalctlConfig(StrictModel):
    """A whole localctl configuration file."""

    relay: RelayConfig = Field(description="station-side server and upstream connections")
    site: SiteConfig | None = Field(
        None, description="the distribution tree and EVSEs; without it localctl only relays"
    )
    stations: tuple[StationConfig, ...] = Field((), description="stations and their EVSEs")
    control: ControlConfig = Field(
        default_factory=ControlConfig, description="control loop and fail-safe settings"
    )

    inputs: InputsConfig = Field(default_factory=InputsConfig, description="meters and EMS sources")
    identity: IdentityConfig | None = Field(
        None, description="the controller's own connection, for a group limit set by the CSMS"
    )
    mqtt: MqttConfig | None = Field(
        None, description="the MQTT broker for EMS limits, meters and telemetry"
    )
    api: ApiConfig | None = Field(
        None, description="the operator HTTP API, dashboard and metrics; null: none"
    )

    @model_validator(mode="after")
    def _parts_fit_together(self) -> LocalctlConfig:
        check_stations(self.site, self.stations)
        node_ids = {n.id for n in self.site.nodes} if self.site else set()
        self.inputs.check(node_ids, has_mqtt=self.mqtt is not None)
        if self.identity is not None and self.identity.node_id not in node_ids:
            raise ValueError(f"identity: node {self.identity.node_id} is not in the site")
        return self
