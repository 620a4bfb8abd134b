"""Security settings of both sides of the relay (OCPP 2.0.1 part 2, A00; part 4, 6.5).

Station side: the controller is the CSMS, so it needs a server certificate (profiles 2, 3), a
CA for client certificates (profile 3) and the stations' basic-auth password hashes (profiles
1, 2). Upstream side: the controller is the station, with its own password and, for profile 3,
its own client certificate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from localctl.config.base import StrictModel
from localctl.security.passwords import is_password_hash

SecurityProfile = Literal[1, 2, 3]


class StationTlsConfig(StrictModel):
    """The station-side TLS server (profiles 2 and 3)."""

    cert_file: Path = Field(description="PEM server certificate (chain) shown to stations (path)")
    key_file: Path = Field(description="PEM private key of cert_file (path)")
    client_ca_file: Path | None = Field(
        None,
        description="PEM CA(s) that sign station client certificates (path); needed by profile 3",
    )
    client_organization: str | None = Field(
        None,
        min_length=1,
        description="if set, a client certificate's subject O must equal it (A00.FR.404)",
    )
    check_interval_s: float = Field(
        10.0,
        gt=0,
        description="how often the certificate and key files are checked for changes (s)",
    )
    expiry_warning_days: float = Field(
        30.0,
        ge=0,
        description="warn this long before a certificate of the controller expires (days)",
    )


class StationAuthConfig(StrictModel):
    """One station's security profile and basic-auth password hash."""

    id: str = Field(min_length=1, max_length=48, description="station identity, as in its URL")
    profile: SecurityProfile | None = Field(
        None, description="security profile 1, 2 or 3; null: `default_profile`"
    )
    password_hash: str | None = Field(
        None,
        description="hash of the station's basic-auth password (profiles 1, 2), made by "
        "`localctl hash-password`; plain passwords are refused",
    )

    @field_validator("password_hash")
    @classmethod
    def _a_hash(cls, value: str | None) -> str | None:
        if value is not None and not is_password_hash(value):
            raise ValueError("must be a hash printed by `localctl hash-password`, not a password")
        return value


class StationSecurityConfig(StrictModel):
    """How stations authenticate to the controller."""

    default_profile: SecurityProfile = Field(
        2, description="profile of stations not listed in `stations` (1, 2 or 3)"
    )
    stations: tuple[StationAuthConfig, ...] = Field(
        (), description="per-station profile and password hash"
    )
    tls: StationTlsConfig | None = Field(
        None, description="the TLS server; required by profiles 2 and 3, refused with profile 1"
    )
    failed_auth_burst: int = Field(
        5, ge=1, description="failed handshakes one source address may make at once (count)"
    )
    failed_auth_refill_s: float = Field(
        30.0, gt=0, description="after the burst, one more attempt per this interval (s)"
    )

    @model_validator(mode="after")
    def _one_transport(self) -> StationSecurityConfig:
        # A00.FR.006: one profile family per port. TLS and plain ws cannot share a listener, so
        # profile 1 (plain) and profiles 2/3 (TLS) cannot be mixed on the one relay port.
        profiles = {self.default_profile} | {s.profile for s in self.stations if s.profile}
        if self.tls is None and profiles - {1}:
            raise ValueError("profiles 2 and 3 need a `tls` section")
        if self.tls is not None and 1 in profiles:
            raise ValueError("profile 1 is plain ws: it cannot share the TLS port (A00.FR.006)")
        if 3 in profiles and (self.tls is None or self.tls.client_ca_file is None):
            raise ValueError("profile 3 needs tls.client_ca_file")
        ids = [s.id for s in self.stations]
        if len(ids) != len(set(ids)):
            raise ValueError("a station is listed twice")
        return self

    def profile_of(self, station_id: str) -> SecurityProfile:
        station = self.station(station_id)
        return station.profile if station and station.profile else self.default_profile

    def station(self, station_id: str) -> StationAuthConfig | None:
        return next((s for s in self.stations if s.id == station_id), None)


class UpstreamCredentialsConfig(StrictModel):
    """The controller's own credentials towards the CSMS, for one station or by default."""

    username: str | None = Field(
        None, description="basic-auth user name; null: the station identity (A00.FR.204)"
    )
    password_env: str | None = Field(
        None,
        min_length=1,
        description="environment variable holding the controller's basic-auth password for "
        "the CSMS (profiles 1, 2); null: no basic auth",
    )
    ca_file: Path | None = Field(
        None, description="PEM CA(s) to verify the CSMS with (path); null: the system's CAs"
    )
    cert_file: Path | None = Field(
        None, description="PEM client certificate of the controller for profile 3 (path)"
    )
    key_file: Path | None = Field(None, description="PEM private key of cert_file (path)")
    verify: bool = Field(
        True, description="verify the CSMS's certificate and host name (off only for testing)"
    )

    @model_validator(mode="after")
    def _cert_with_key(self) -> UpstreamCredentialsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class UpstreamStationCredentialsConfig(UpstreamCredentialsConfig):
    """Credentials used for one station's upstream socket instead of the default."""

    id: str = Field(min_length=1, max_length=48, description="station identity, as in its URL")


class UpstreamSecurityConfig(StrictModel):
    """The controller's credentials towards the CSMS."""

    default: UpstreamCredentialsConfig = Field(
        default_factory=UpstreamCredentialsConfig,
        description="credentials for stations not listed in `stations`",
    )
    stations: tuple[UpstreamStationCredentialsConfig, ...] = Field(
        (), description="per-station credentials"
    )

    def for_station(self, station_id: str) -> UpstreamCredentialsConfig:
        return next((s for s in self.stations if s.id == station_id), self.default)
