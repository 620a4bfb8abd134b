from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from localctl.cli import main
from tests.io.rawpeers import RawCsms

LISTENING = re.compile(rb"listening for stations on ws://127\.0\.0\.1:(\d+)/")


async def start_relay(*args: str) -> tuple[asyncio.subprocess.Process, int, list[bytes]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "localctl", *args, stderr=asyncio.subprocess.PIPE
    )
    assert process.stderr is not None
    lines: list[bytes] = []
    while True:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        assert line, b"".join(lines).decode()
        lines.append(line)
        if match := LISTENING.search(line):
            return process, int(match.group(1)), lines


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_run_relays_without_a_config_file_and_stops_cleanly_on_signals(
    stop_signal: signal.Signals,
) -> None:
    async with RawCsms() as csms:
        process, port, _ = await start_relay(
            "run", "--listen", "127.0.0.1:0", "--upstream", csms.url, "--log-traffic"
        )
        assert process.stderr is not None
        try:
            async with connect(
                f"ws://127.0.0.1:{port}/CP-7", subprotocols=[Subprotocol("ocpp2.0.1")]
            ) as socket:
                await socket.send('[2,"h1","Heartbeat",{}]')
                upstream = await csms.connection("CP-7")
                assert await upstream.next_frame() == '[2,"h1","Heartbeat",{}]'
                process.send_signal(stop_signal)
                assert await asyncio.wait_for(process.wait(), 15) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        log = (await process.stderr.read()).decode()
        assert "CALL Heartbeat  station_id=CP-7 message_id=h1 action=Heartbeat" in log
        assert "direction=station->csms" in log
        assert "stopped" in log


def test_check_config_names_the_file_the_field_and_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("relay:\n  upstream_url: ws://csms/ocpp\n  strict: maybe\n  colour: blue\n")
    assert main(["check-config", str(config)]) == 2
    error = capsys.readouterr().err
    assert str(config) in error
    assert "relay.strict (line 3)" in error
    assert "relay.colour (line 4): Extra inputs are not permitted" in error


def test_check_config_prints_a_valid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "site.yaml"
    config.write_text("relay:\n  listen: 0.0.0.0:9000\n  upstream_url: wss://csms.example/ocpp\n")
    assert main(["check-config", str(config)]) == 0
    assert "ws://0.0.0.0:9000/<station-id> -> wss://csms.example/ocpp/<station-id>" in (
        capsys.readouterr().out
    )


def test_check_config_prints_the_site_tree(capsys: pytest.CaptureFixture[str]) -> None:
    demo = Path(__file__).parent.parent / "site-configs" / "demo.yaml"
    assert main(["check-config", str(demo)]) == 0
    out = capsys.readouterr().out
    assert "  main (grid connection): fuse 63/63/63 A" in out
    assert "  │  ├─ evse a2 [CP-1 #2]: AC 3-phase on L2 L3 L1, 6-32 A" in out
    assert "     └─ evse b4 [CP-4 #2]: AC 1-phase on L3, 6-16 A, priority 1" in out
    assert "stations: 4 with 8 EVSEs" in out


def test_missing_config_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "/nonexistent/site.yaml"]) == 2
    assert "/nonexistent/site.yaml: cannot read" in capsys.readouterr().err


def test_run_needs_an_upstream(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--listen", "127.0.0.1:0"]) == 2
    assert "--upstream" in capsys.readouterr().err


async def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "localctl", "run", "--listen", f"127.0.0.1:{port}",
            "--upstream", "ws://127.0.0.1:9/ocpp", stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 1
    assert "cannot start: [Errno 98]" in stderr.decode()
    assert "Traceback" not in stderr.decode()
