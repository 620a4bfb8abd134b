"""Stations and relays for the security tests."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.http11 import Response
from websockets.typing import Subprotocol

from localctl.io.relay_server import RelayServer
from localctl.security.basic_auth import BasicCredentials, basic_auth_header
from tests.io.conftest import relay_config
from tests.security.certs import Authority, Issued
from tests.security.conftest import STATION_HASH, Pki


def security(pki: Pki | None, profile: int, *stations: str, **extra: Any) -> dict[str, Any]:
    """A station_security section where `stations` know STATION_PASSWORD."""
    section: dict[str, Any] = {
        "default_profile": profile,
        "stations": [{"id": s, "password_hash": STATION_HASH} for s in stations],
        **extra,
    }
    if pki is not None:
        section["tls"] = {
            "cert_file": str(pki.server.cert_file),
            "key_file": str(pki.server.key_file),
            "client_ca_file": str(pki.stations_ca.ca_file),
            **section.get("tls", {}),
        }
    return section


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": basic_auth_header(BasicCredentials(username, password))}


def station_tls(trusted: Authority, client: Issued | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=trusted.ca_file)
    if client is not None:
        context.load_cert_chain(client.cert_file, client.key_file)
    return context


def connect_station(
    relay: RelayServer,
    station_id: str,
    *,
    tls: ssl.SSLContext | None = None,
    headers: dict[str, str] | None = None,
) -> connect:
    scheme = "wss" if tls is not None else "ws"
    host = "localhost" if tls is not None else "127.0.0.1"
    return connect(
        f"{scheme}://{host}:{relay.port}/ocpp/{station_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        additional_headers=headers,
        ssl=tls,
        open_timeout=5,
    )


def make_relay(upstream_url: str, schemas: Any, **relay: Any) -> RelayServer:
    return RelayServer(relay_config(upstream_url, **relay), schemas)


async def exchange(station: ClientConnection, csms_socket: Any, frame: str) -> str:
    """Send `frame` from the station and answer it from the CSMS side; the station's reply."""
    await station.send(frame)
    await csms_socket.send(frame.replace("[2,", "[3,", 1))
    reply = await station.recv()
    assert isinstance(reply, str)
    return reply


async def refused(relay: RelayServer, station_id: str, **options: Any) -> Response:
    """The HTTP answer refusing a station's handshake (fails the test if it is accepted)."""
    with pytest.raises(InvalidStatus) as refusal:
        async with connect_station(relay, station_id, **options):
            pass
    return refusal.value.response
