"""`localctl run` reloads its certificates on SIGHUP, keeping a connected station."""

from __future__ import annotations

import asyncio
import re
import signal
import ssl
import sys
from pathlib import Path

import yaml
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.io.rawpeers import RawCsms
from tests.security.conftest import STATION_PASSWORD, Pki
from tests.security.helpers import basic, security, station_tls
from tests.security.test_reload import renew, served_serial

LISTENING = re.compile(rb"listening for stations on wss://127\.0\.0\.1:(\d+)/")


async def test_sighup_reloads_the_certificate_and_keeps_the_station(
    pki: Pki, csms: RawCsms, tmp_path: Path
) -> None:
    config = tmp_path / "localctl.yaml"
    station_security = security(pki, 2, "CS1", "CS2")
    station_security["tls"]["check_interval_s"] = 3600  # only the signal reloads
    relay = {
        "listen": "127.0.0.1:0",
        "upstream_url": csms.url,
        "station_security": station_security,
        "offline": {"outbox_path": str(tmp_path / "outbox.sqlite3")},  # not the shared cwd
    }
    config.write_text(yaml.safe_dump({"relay": relay}))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localctl", "run", "--config", str(config),
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stderr is not None
    try:
        port = await listening_port(process.stderr)
        tls = station_tls(pki.servers_ca)
        async with station(port, "CS1", tls) as first:
            new_serial = renew(pki)
            process.send_signal(signal.SIGHUP)
            await wait_for_line(process.stderr, b"reloaded the station-side server certificate")
            async with station(port, "CS2", tls) as second:
                assert served_serial(second) == new_serial
            await first.send('[2,"h1","Heartbeat",{}]')
            assert await (await csms.connection("CS1")).next_frame() == '[2,"h1","Heartbeat",{}]'
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def listening_port(stderr: asyncio.StreamReader) -> int:
    match = LISTENING.search(await wait_for_line(stderr, b"listening for stations"))
    assert match is not None
    return int(match.group(1))


async def wait_for_line(stderr: asyncio.StreamReader, words: bytes) -> bytes:
    seen: list[bytes] = []
    while True:
        line = await asyncio.wait_for(stderr.readline(), 30)
        assert line, b"".join(seen).decode()
        seen.append(line)
        if words in line:
            return line


def station(port: int, station_id: str, tls: ssl.SSLContext) -> connect:
    return connect(
        f"wss://localhost:{port}/ocpp/{station_id}",
        subprotocols=[Subprotocol("ocpp1.6")],
        ssl=tls,
        additional_headers=basic(station_id, STATION_PASSWORD),
    )
