"""Station side: the controller acts as the CSMS for security profiles 1, 2 and 3."""

from __future__ import annotations

import ssl

import pytest
from websockets.exceptions import InvalidMessage

from localctl.relay.schemas import SchemaRegistry
from tests.io.rawpeers import RawCsms
from tests.security.conftest import STATION_PASSWORD, Pki
from tests.security.helpers import (
    basic,
    connect_station,
    make_relay,
    refused,
    security,
    station_tls,
)

BOOT = '[2,"b1","BootNotification",{"chargePointVendor":"ACME","chargePointModel":"W1"}]'
TLS_REFUSED = (ssl.SSLError, InvalidMessage, ConnectionError, EOFError)


async def test_profile_1_station_with_its_password_is_relayed_without_its_credentials(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = security(None, 1, "CS1")
    async with (
        make_relay(csms.url, schemas, station_security=config) as relay,
        connect_station(relay, "CS1", headers=basic("CS1", STATION_PASSWORD)) as station,
    ):
        await station.send(BOOT)
        upstream = await csms.connection("CS1")
        assert await upstream.next_frame() == BOOT
        assert "Authorization" not in upstream.headers


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (basic("CS1", "Wrong-Passw0rd-12345"), "bad_password"),
        (basic("CS2", STATION_PASSWORD), "wrong_username"),
        ({}, "no_credentials"),
        ({"Authorization": "Basic !!not-base64"}, "no_credentials"),
    ],
)
async def test_a_station_without_the_right_password_gets_401_and_is_counted(
    csms: RawCsms, schemas: SchemaRegistry, headers: dict[str, str], reason: str
) -> None:
    async with make_relay(csms.url, schemas, station_security=security(None, 1, "CS1")) as relay:
        response = await refused(relay, "CS1", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
        assert relay.security.authenticator is not None
        assert relay.security.authenticator.failures == {reason: 1}
        assert csms.connections == {}


async def test_an_unlisted_station_has_no_password_and_is_refused(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    async with make_relay(csms.url, schemas, station_security=security(None, 1, "CS1")) as relay:
        response = await refused(relay, "CS9", headers=basic("CS9", STATION_PASSWORD))
        assert response.status_code == 401


async def test_repeated_failures_from_one_address_are_rate_limited(
    csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = security(None, 1, "CS1", failed_auth_burst=2, failed_auth_refill_s=600)
    wrong = basic("CS1", "Wrong-Passw0rd-12345")
    async with make_relay(csms.url, schemas, station_security=config) as relay:
        responses = [
            await refused(relay, "CS1", headers=headers)
            for headers in (wrong, wrong, basic("CS1", STATION_PASSWORD))
        ]
        statuses = [r.status_code for r in responses]
        # even the right password waits: the address has used up its attempts
        assert statuses == [401, 401, 429]
        assert int(responses[-1].headers["Retry-After"]) > 0


async def test_profile_2_station_connects_over_tls_1_2_with_its_password(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    tls = station_tls(pki.servers_ca)
    tls.maximum_version = ssl.TLSVersion.TLSv1_2
    config = security(pki, 2, "CS1")
    async with (
        make_relay(csms.url, schemas, station_security=config) as relay,
        connect_station(relay, "CS1", tls=tls, headers=basic("CS1", STATION_PASSWORD)) as station,
    ):
        ssl_object = station.transport.get_extra_info("ssl_object")
        assert ssl_object.version() == "TLSv1.2"
        assert ssl_object.cipher()[0] in {
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
        }
        await station.send(BOOT)
        assert await (await csms.connection("CS1")).next_frame() == BOOT


async def test_profile_2_wrong_password_over_tls_gets_401(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    async with make_relay(csms.url, schemas, station_security=security(pki, 2, "CS1")) as relay:
        response = await refused(
            relay, "CS1", tls=station_tls(pki.servers_ca), headers=basic("CS1", "x" * 16)
        )
        assert response.status_code == 401


async def test_the_tls_server_offers_tls_1_2_and_up_with_the_ocpp_suites_only(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    relay = make_relay(csms.url, schemas, station_security=security(pki, 2, "CS1"))
    context = relay.security.server_ssl
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.options & ssl.OP_NO_COMPRESSION
    tls_12 = {c["name"] for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"}
    assert tls_12 == {
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
    }


async def test_profile_3_station_with_its_own_certificate_connects(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    client = pki.stations_ca.issue("CS3")
    async with (
        make_relay(csms.url, schemas, station_security=security(pki, 3)) as relay,
        connect_station(relay, "CS3", tls=station_tls(pki.servers_ca, client)) as station,
    ):
        await station.send(BOOT)
        assert await (await csms.connection("CS3")).next_frame() == BOOT
        assert relay.station_ids == ["CS3"]


async def test_profile_3_certificate_of_another_station_gets_403(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    client = pki.stations_ca.issue("CS4")
    async with make_relay(csms.url, schemas, station_security=security(pki, 3)) as relay:
        response = await refused(relay, "CS3", tls=station_tls(pki.servers_ca, client))
        assert response.status_code == 403
        assert relay.security.authenticator is not None
        assert relay.security.authenticator.failures == {"certificate_identity": 1}


async def test_profile_3_checks_the_organization_when_configured(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    client = pki.stations_ca.issue("CS3", organization="Someone Else")
    config = security(pki, 3, tls={"client_organization": "ACME Charging"})
    async with make_relay(csms.url, schemas, station_security=config) as relay:
        response = await refused(relay, "CS3", tls=station_tls(pki.servers_ca, client))
        assert response.status_code == 403


async def test_profile_3_without_a_certificate_gets_403_even_with_a_password(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    async with make_relay(csms.url, schemas, station_security=security(pki, 3, "CS3")) as relay:
        response = await refused(
            relay, "CS3", tls=station_tls(pki.servers_ca), headers=basic("CS3", STATION_PASSWORD)
        )
        assert response.status_code == 403


@pytest.mark.parametrize("case", ["untrusted_ca", "expired"])
async def test_profile_3_untrusted_or_expired_certificate_fails_the_tls_handshake(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry, case: str
) -> None:
    if case == "expired":
        client = pki.stations_ca.issue("CS3", expired=True)
    else:
        client = pki.rogue_ca.issue("CS3")
    async with make_relay(csms.url, schemas, station_security=security(pki, 3)) as relay:
        with pytest.raises(TLS_REFUSED):
            async with connect_station(relay, "CS3", tls=station_tls(pki.servers_ca, client)) as s:
                await s.recv()
        assert relay.station_ids == []
        assert csms.connections == {}
        assert relay.security.authenticator is not None
        assert relay.security.authenticator.failures == {"client_certificate": 1}


async def test_profile_2_and_3_stations_share_the_tls_port(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    config = security(pki, 2, "CS1")
    config["stations"].append({"id": "CS3", "profile": 3})
    client = pki.stations_ca.issue("CS3")
    async with (
        make_relay(csms.url, schemas, station_security=config) as relay,
        connect_station(
            relay, "CS1", tls=station_tls(pki.servers_ca), headers=basic("CS1", STATION_PASSWORD)
        ),
        connect_station(relay, "CS3", tls=station_tls(pki.servers_ca, client)),
    ):
        assert relay.station_ids == ["CS1", "CS3"]
