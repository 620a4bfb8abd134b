"""Settings that work but weaken security, for `localctl check-config` to point out.

Each line names the key to change. None of these stop the controller: a lab or a site behind
a VPN may choose them (A00.FR.201: profile 1 SHOULD only be used in trusted networks).
"""

from __future__ import annotations

from localctl.config.model import LocalctlConfig, RelayConfig
from localctl.config.security import UpstreamCredentialsConfig


def weaknesses(config: LocalctlConfig) -> list[str]:
    found = _station_side(config.relay) + _upstream(config.relay) + _no_password(config)
    api = config.api
    if api is not None and api.tls is None and not api.loopback_only:
        found.append(
            f"api.listen {api.listen}: the bearer token crosses the network in clear; set api.tls"
        )
    mqtt = config.mqtt
    if mqtt is not None and mqtt.password_env is not None and mqtt.tls is None:
        found.append("mqtt: the broker password is sent without TLS; set mqtt.tls")
    if mqtt is not None and mqtt.tls is not None and not mqtt.tls.verify:
        found.append("mqtt.tls.verify is off: any broker can impersonate yours")
    return found


def _station_side(relay: RelayConfig) -> list[str]:
    security = relay.station_security
    if relay.loopback_only:
        return []
    if security is None:
        return [
            f"relay.listen {relay.listen}: stations are not authenticated on a network address; "
            "set relay.station_security"
        ]
    plain = [s.id for s in security.stations if s.profile == 1]
    if security.default_profile == 1 or plain:
        who = "every station" if security.default_profile == 1 else ", ".join(plain)
        return [
            f"relay.station_security: profile 1 (passwords in clear, no TLS) on {relay.listen} "
            f"for {who}; use profile 2 or 3 outside a trusted network (A00.FR.201)"
        ]
    return []


def _upstream(relay: RelayConfig) -> list[str]:
    found = []
    configured: list[tuple[str, UpstreamCredentialsConfig]] = [
        ("relay.upstream_security.default", relay.upstream_security.default)
    ]
    configured += [
        (f"relay.upstream_security.stations[{s.id}]", s) for s in relay.upstream_security.stations
    ]
    plain = relay.upstream_url.startswith("ws://")
    for where, credentials in configured:
        if not credentials.verify:
            found.append(f"{where}.verify is off: the CSMS's certificate is not checked")
        if plain and credentials.password_env is not None:
            found.append(
                f"{where}: the controller's CSMS password goes over plain ws://; use wss://"
            )
        if plain and credentials.cert_file is not None:
            found.append(f"{where}: a client certificate is set but {relay.upstream_url} is ws://")
    return found


def _no_password(config: LocalctlConfig) -> list[str]:
    """Configured stations that use a password profile but have no hash: always refused."""
    security = config.relay.station_security
    if security is None:
        return []
    found: list[str] = []
    for station in config.stations:
        profile = security.profile_of(station.id)
        entry = security.station(station.id)
        if profile != 3 and (entry is None or entry.password_hash is None):
            found.append(
                f"station {station.id} uses profile {profile} but has no relay.station_security."
                "stations[].password_hash: it will be refused"
            )
    return found
