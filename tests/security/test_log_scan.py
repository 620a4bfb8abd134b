"""With everything at DEBUG, websockets' handshake logs included, no secret reaches a log."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest
from websockets.exceptions import InvalidStatus

from localctl.io.relay_server import RelayServer
from localctl.logs import configure_logging
from localctl.relay.schemas import SchemaRegistry
from localctl.security.basic_auth import BasicCredentials, basic_auth_header
from localctl.security.relay_gate import RelaySecurity
from tests.io.conftest import relay_config
from tests.security.conftest import STATION_PASSWORD, Pki
from tests.security.helpers import basic, connect_station, security, station_tls
from tests.security.tls_csms import TlsCsms

CONTROLLER_PASSWORD = "Controller-0wn-Passw0rd"
WRONG_PASSWORD = "Wrong-Guess-0123456789"
BOOT = '[2,"b1","BootNotification",{"chargePointVendor":"ACME","chargePointModel":"W1"}]'


@pytest.fixture
def debug_everywhere() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    websockets = logging.getLogger("websockets")
    saved_ws = websockets.level
    configure_logging("DEBUG")
    root.handlers.extend(saved[0])  # keep pytest's capture next to the real handler
    websockets.setLevel(logging.DEBUG)
    logging.getLogger("localctl.traffic").setLevel(logging.DEBUG)
    yield
    root.handlers[:], root.level = saved
    websockets.setLevel(saved_ws)
    logging.getLogger("localctl.traffic").setLevel(logging.NOTSET)


def secrets(pki: Pki) -> list[str]:
    key_lines = [
        line
        for path in (pki.server.key_file,)
        for line in path.read_text().splitlines()
        if not line.startswith("-----")
    ]
    headers = [
        basic_auth_header(BasicCredentials(user, password)).removeprefix("Basic ")
        for user, password in (
            ("CS1", STATION_PASSWORD),
            ("CS1", CONTROLLER_PASSWORD),
            ("CS1", WRONG_PASSWORD),
        )
    ]
    return [STATION_PASSWORD, CONTROLLER_PASSWORD, WRONG_PASSWORD, *headers, *key_lines]


@pytest.mark.usefixtures("debug_everywhere")
async def test_no_secret_appears_in_any_log_record_or_output(
    pki: Pki,
    schemas: SchemaRegistry,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    csms_cert = pki.servers_ca.issue("csms.example", hosts=("localhost",))
    async with TlsCsms(csms_cert) as csms:
        config = relay_config(
            csms.url,
            log_traffic=True,
            station_security=security(pki, 2, "CS1"),
            upstream_security={
                "default": {"ca_file": str(pki.servers_ca.ca_file), "password_env": "PW"}
            },
        )
        relay = RelayServer(
            config, schemas, security=RelaySecurity(config, environ={"PW": CONTROLLER_PASSWORD})
        )
        async with relay:
            tls = station_tls(pki.servers_ca)
            with pytest.raises(InvalidStatus):
                async with connect_station(
                    relay, "CS1", tls=tls, headers=basic("CS1", WRONG_PASSWORD)
                ):
                    pass
            async with connect_station(
                relay, "CS1", tls=tls, headers=basic("CS1", STATION_PASSWORD)
            ) as station:
                await station.send(BOOT)
                upstream = await csms.connection("CS1")
                assert await upstream.next_frame() == BOOT
    text = "\n".join(r.getMessage() for r in caplog.records) + capsys.readouterr().err
    # the scan is only worth something if the handshake headers were logged at all
    assert "> Authorization: Basic <redacted>" in text
    assert "< Authorization: Basic <redacted>" in text
    leaked = [s for s in secrets(pki) if s in text]
    assert leaked == []
    assert base64.b64encode(STATION_PASSWORD.encode()).decode() not in text
