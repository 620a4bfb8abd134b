"""Certificate reload on the live context: new handshakes get the new chain, connected
stations stay connected; a bad pair is not loaded; expiry is warned about."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable

import pytest
from cryptography import x509
from websockets.asyncio.client import ClientConnection

from localctl.config.security import StationTlsConfig
from localctl.relay.schemas import SchemaRegistry
from localctl.security.reload import CertificateWatcher, WatchedChain
from localctl.security.tls import server_context
from tests.io.rawpeers import RawCsms
from tests.security.conftest import STATION_PASSWORD, Pki
from tests.security.helpers import basic, connect_station, make_relay, security, station_tls

HEARTBEAT = '[2,"h{}","Heartbeat",{{}}]'


def served_serial(station: ClientConnection) -> int:
    der = station.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der).serial_number


async def heartbeat(station: ClientConnection, csms: RawCsms, n: int) -> None:
    frame = HEARTBEAT.format(n)
    await station.send(frame)
    upstream = await csms.connection("CS1")
    assert await upstream.next_frame() == frame
    await upstream.socket.send(f'[3,"h{n}",{{"currentTime":"2026-01-01T00:00:00Z"}}]')
    assert await station.recv() == f'[3,"h{n}",{{"currentTime":"2026-01-01T00:00:00Z"}}]'


def renew(pki: Pki) -> int:
    """Issue a new server certificate into the files the relay was configured with."""
    renewed = pki.servers_ca.issue(
        "localctl.local", hosts=("localhost", "127.0.0.1"), file_stem="renewed"
    )
    shutil.copyfile(renewed.key_file, pki.server.key_file)
    shutil.copyfile(renewed.cert_file, pki.server.cert_file)
    return renewed.serial


async def test_a_renewed_certificate_serves_new_handshakes_and_keeps_stations_connected(
    pki: Pki, csms: RawCsms, schemas: SchemaRegistry
) -> None:
    tls = station_tls(pki.servers_ca)
    headers = basic("CS1", STATION_PASSWORD)
    config = security(pki, 2, "CS1", "CS2")
    async with (
        make_relay(csms.url, schemas, station_security=config) as relay,
        connect_station(relay, "CS1", tls=tls, headers=headers) as station,
    ):
        assert served_serial(station) == pki.server.serial
        traffic = asyncio.create_task(keep_talking(station, csms))
        await asyncio.sleep(0.05)
        new_serial = renew(pki)
        assert relay.security.certificates.check() == ["station-side server"]
        async with connect_station(
            relay, "CS2", tls=tls, headers=basic("CS2", STATION_PASSWORD)
        ) as newcomer:
            assert served_serial(newcomer) == new_serial
        await asyncio.sleep(0.05)
        sent = await traffic
        assert sent >= 5
        assert relay.station_ids == ["CS1"]  # never dropped
        await heartbeat(station, csms, 9999)


async def keep_talking(station: ClientConnection, csms: RawCsms) -> int:
    sent = 0
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        await heartbeat(station, csms, sent)
        sent += 1
    return sent


def test_unchanged_files_are_not_reloaded_and_sighup_reloads_anyway(pki: Pki) -> None:
    watcher = watcher_for(pki)
    assert watcher.check() == []
    assert watcher.reload_all() == ["station-side server"]


def test_a_certificate_without_its_new_key_is_not_loaded(
    pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = watcher_for(pki)
    renewed = pki.servers_ca.issue("localctl.local", file_stem="half")
    shutil.copyfile(renewed.cert_file, pki.server.cert_file)  # the key is still the old one
    assert watcher.check() == []
    assert "cannot reload the station-side server certificate" in caplog.text
    shutil.copyfile(renewed.key_file, pki.server.key_file)  # the copy completes
    assert watcher.check() == ["station-side server"]


@pytest.mark.parametrize(
    ("days_from_now", "level", "words"),
    [
        (0, None, None),
        (70, logging.WARNING, "expires in 20.0 days"),
        (100, logging.ERROR, "EXPIRED"),
    ],
)
def test_expiry_is_warned_about_ahead_of_time(
    pki: Pki,
    caplog: pytest.LogCaptureFixture,
    days_from_now: float,
    level: int | None,
    words: str | None,
) -> None:
    caplog.set_level(logging.INFO, "localctl.security")
    watcher_for(pki, wall_clock=lambda: time.time() + days_from_now * 86_400)
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    if level is None or words is None:
        assert records == []
    else:
        assert [r.levelno for r in records] == [level]
        assert words in records[0].getMessage()


async def test_the_watcher_polls_on_its_own(pki: Pki) -> None:
    watcher = watcher_for(pki)
    polling = asyncio.create_task(watcher.run(0.01))
    renew(pki)
    for _ in range(100):
        if watcher.reloads:
            break
        await asyncio.sleep(0.01)
    polling.cancel()
    assert watcher.reloads == 1


def watcher_for(pki: Pki, wall_clock: Callable[[], float] = time.time) -> CertificateWatcher:
    tls = StationTlsConfig(cert_file=pki.server.cert_file, key_file=pki.server.key_file)
    chain = WatchedChain(
        "station-side server",
        server_context(tls, client_certificates=False),
        tls.cert_file,
        tls.key_file,
    )
    return CertificateWatcher([chain], expiry_warning_days=30, wall_clock=wall_clock)
