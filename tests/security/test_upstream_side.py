"""Upstream side: the controller is the station towards the CSMS, with its own credentials."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

import pytest

from localctl.clocks import Clocks
from localctl.control.identity import ControllerIdentity
from localctl.io.identity_client import IdentityClient
from localctl.io.relay_server import RelayServer
from localctl.relay.schemas import SchemaRegistry
from localctl.relay.versions import OcppVersion
from localctl.security.basic_auth import BasicCredentials, parse_basic_auth
from localctl.security.relay_gate import RelaySecurity
from localctl.security.upstream import MissingSecretError
from tests.io.conftest import relay_config
from tests.io.rawpeers import RawCsms
from tests.security.conftest import STATION_PASSWORD, Pki
from tests.security.helpers import basic, connect_station, refused, security
from tests.security.tls_csms import TlsCsms

CONTROLLER_PASSWORD = "Controller-0wn-Passw0rd"
ENV = {"CSMS_PASSWORD": CONTROLLER_PASSWORD}


def upstream(pki: Pki, **default: object) -> dict[str, object]:
    return {"default": {"ca_file": str(pki.servers_ca.ca_file), **default}}


def relay_for(csms_url: str, schemas: SchemaRegistry, pki: Pki, **default: object) -> RelayServer:
    config = relay_config(
        csms_url,
        station_security=security(None, 1, "CS1"),
        upstream_security=upstream(pki, **default),
    )
    return RelayServer(config, schemas, security=RelaySecurity(config, environ=ENV))


async def test_profile_2_upstream_verifies_the_csms_and_sends_the_controllers_own_password(
    pki: Pki, schemas: SchemaRegistry
) -> None:
    csms_cert = pki.servers_ca.issue("csms.example", hosts=("localhost",))
    async with (
        TlsCsms(csms_cert) as csms,
        relay_for(csms.url, schemas, pki, password_env="CSMS_PASSWORD") as relay,
        connect_station(relay, "CS1", headers=basic("CS1", STATION_PASSWORD)),
    ):
        upstream = await csms.connection("CS1")
        credentials = parse_basic_auth(upstream.headers["Authorization"])
        assert credentials is not None
        assert (credentials.username, credentials.password) == ("CS1", CONTROLLER_PASSWORD)
        ssl_object = upstream.socket.transport.get_extra_info("ssl_object")
        assert ssl_object.version() in {"TLSv1.2", "TLSv1.3"}


async def test_a_per_station_user_name_and_password_override_the_default(
    pki: Pki, schemas: SchemaRegistry
) -> None:
    csms_cert = pki.servers_ca.issue("csms.example", hosts=("localhost",))
    async with TlsCsms(csms_cert) as csms:
        section = upstream(pki) | {
            "stations": [
                {
                    "id": "CS1",
                    "username": "lc-CS1",
                    "password_env": "CSMS_PASSWORD",
                    "ca_file": str(pki.servers_ca.ca_file),
                }
            ]
        }
        config = relay_config(
            csms.url, station_security=security(None, 1, "CS1"), upstream_security=section
        )
        async with (
            RelayServer(config, schemas, security=RelaySecurity(config, environ=ENV)) as relay,
            connect_station(relay, "CS1", headers=basic("CS1", STATION_PASSWORD)),
        ):
            credentials = parse_basic_auth((await csms.connection("CS1")).headers["Authorization"])
            assert credentials is not None
            assert credentials.username == "lc-CS1"


async def test_profile_3_upstream_presents_the_controllers_client_certificate(
    pki: Pki, schemas: SchemaRegistry
) -> None:
    csms_cert = pki.servers_ca.issue("csms.example", hosts=("localhost",))
    own = pki.stations_ca.issue("localctl-1")
    async with (
        TlsCsms(csms_cert, client_ca=pki.stations_ca) as csms,
        relay_for(
            csms.url, schemas, pki, cert_file=str(own.cert_file), key_file=str(own.key_file)
        ) as relay,
        connect_station(relay, "CS1", headers=basic("CS1", STATION_PASSWORD)),
    ):
        upstream = await csms.connection("CS1")
        peer = upstream.socket.transport.get_extra_info("peercert")
        assert dict(rdn[0] for rdn in peer["subject"])["commonName"] == "localctl-1"
        assert "Authorization" not in upstream.headers


async def test_a_csms_with_an_untrusted_certificate_is_refused_with_502_and_an_error(
    pki: Pki, schemas: SchemaRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    rogue = pki.rogue_ca.issue("csms.example", hosts=("localhost",))
    async with TlsCsms(rogue) as csms, relay_for(csms.url, schemas, pki) as relay:
        response = await refused(relay, "CS1", headers=basic("CS1", STATION_PASSWORD))
        assert response.status_code == 502
        assert csms.connections == {}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("CSMS certificate does not verify" in r.getMessage() for r in errors)


async def test_a_csms_certificate_for_another_host_name_is_refused(
    pki: Pki, schemas: SchemaRegistry
) -> None:
    elsewhere = pki.servers_ca.issue("csms.example", hosts=("csms.example",))
    async with TlsCsms(elsewhere) as csms, relay_for(csms.url, schemas, pki) as relay:
        response = await refused(relay, "CS1", headers=basic("CS1", STATION_PASSWORD))
        assert response.status_code == 502


def test_a_missing_password_variable_stops_the_start_naming_it(pki: Pki) -> None:
    config = relay_config(
        "wss://csms.example/ocpp", upstream_security=upstream(pki, password_env="NOT_SET_HERE")
    )
    with pytest.raises(MissingSecretError, match="NOT_SET_HERE"):
        RelaySecurity(config, environ={})


async def test_profile_1_upstream_sends_the_controllers_password_over_ws(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = relay_config(
        csms.url,
        station_security=security(None, 1, "CS1"),
        upstream_security={"default": {"password_env": "CSMS_PASSWORD"}},
    )
    async with (
        RelayServer(config, schemas, security=RelaySecurity(config, environ=ENV)) as relay,
        connect_station(relay, "CS1", headers=basic("CS1", STATION_PASSWORD)),
    ):
        credentials = parse_basic_auth((await csms.connection("CS1")).headers["Authorization"])
        assert credentials == BasicCredentials("CS1", CONTROLLER_PASSWORD)


async def test_the_controllers_own_identity_connects_with_its_own_password(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = relay_config(
        csms.url, upstream_security={"default": {"password_env": "CSMS_PASSWORD"}}
    )
    gate = RelaySecurity(config, environ=ENV)
    identity = ControllerIdentity("LOCALCTL", OcppVersion.V201, 230.0)
    client = IdentityClient(
        identity,
        csms.url,
        Clocks(),
        connect_options=partial(gate.upstream_options, "LOCALCTL"),
    )
    running = asyncio.create_task(client.run())
    try:
        connection = await csms.connection("LOCALCTL")
        credentials = parse_basic_auth(connection.headers["Authorization"])
        assert credentials == BasicCredentials("LOCALCTL", CONTROLLER_PASSWORD)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
