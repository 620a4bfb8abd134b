"""TLS benchmark: what security profiles cost the relay per station, side by side in one run.

    .venv/bin/python -m benchmarks.tls_bench              # 500 stations per mode
    .venv/bin/python -m benchmarks.tls_bench --stations 100

For each mode a `localctl run` process (pinned to core 1) relays to a minimal CSMS in this
process (the load generator, core 0). All stations connect at once, twice:
- cold storm: the controller has just started, every station's first handshake (profiles 1
  and 2 pay one scrypt derivation each, ~40 ms of CPU);
- warm storm: every station drops and reconnects to the running controller (a site power
  cut): successful password checks are remembered, TLS is a full handshake each time.
Memory per station is the relay's RSS growth over the second half of the cold storm (two
sockets each: station and upstream), divided by those stations; relay RSS is the whole
process with every station connected after the warm storm. CPU per handshake is the relay's
utime+stime during the warm storm, divided by the station count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import ssl
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from benchmarks.machine import machine
from benchmarks.relay_frames import SUBPROTOCOL
from benchmarks.relay_loadgen import Csms
from benchmarks.relay_proc import cpu_seconds, pin_to_cpu, raise_fd_limit, rss_kib
from localctl.security.basic_auth import BasicCredentials, basic_auth_header
from localctl.security.passwords import hash_password
from tests.security.certs import Authority

_LISTENING = re.compile(r"listening for stations on wss?://127\.0\.0\.1:(\d+)/")
_PASSWORD = "Bench-Station-Passw0rd"
_CONCURRENCY = 100  # handshakes in flight, as a restart storm would have
_SETTLE_S = 1.0
_LOADGEN_CPU, _RELAY_CPU = 0, 1


@dataclass(frozen=True)
class Mode:
    name: str
    profile: int | None  # None: no station authentication at all
    tls: bool


MODES = (
    Mode("ws, no auth", None, tls=False),
    Mode("profile 1 (ws + basic)", 1, tls=False),
    Mode("profile 2 (wss + basic)", 2, tls=True),
    Mode("profile 3 (wss + client cert)", 3, tls=True),
)


@dataclass(frozen=True)
class Result:
    mode: str
    stations: int
    cold_per_s: float
    warm_per_s: float
    cpu_ms_per_handshake: float
    kib_per_station: float
    relay_rss_mib: float


@dataclass
class Pki:
    folder: Path
    servers: Authority
    stations: Authority

    def server(self) -> tuple[Path, Path]:
        issued = self.servers.issue("localctl.local", hosts=("localhost", "127.0.0.1"))
        return issued.cert_file, issued.key_file

    def client_context(self, station_id: str | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.servers.ca_file)
        if station_id is not None:
            issued = self.stations.issue(station_id)
            context.load_cert_chain(issued.cert_file, issued.key_file)
        return context


def relay_config(mode: Mode, pki: Pki, upstream_url: str, ids: list[str]) -> dict[str, Any]:
    relay: dict[str, Any] = {
        "listen": "127.0.0.1:0",
        "upstream_url": upstream_url,
        "compression": False,
        "offline": {"outbox_path": str(pki.folder / f"outbox-{mode.profile}.sqlite3")},
    }
    if mode.profile is not None:
        password_hash = hash_password(_PASSWORD)
        security: dict[str, Any] = {
            "default_profile": mode.profile,
            "stations": [{"id": i, "password_hash": password_hash} for i in ids],
        }
        if mode.tls:
            cert, key = pki.server()
            security["tls"] = {"cert_file": str(cert), "key_file": str(key)}
            security["tls"]["client_ca_file"] = str(pki.stations.ca_file)
        relay["station_security"] = security
    return {"relay": relay}


class Relay:
    """`localctl run` on core 1 with a given config; stderr to a file."""

    def __init__(self, config: dict[str, Any], folder: Path) -> None:
        self.config_path = folder / f"relay-{id(self)}.yaml"
        self.log_path = folder / f"relay-{id(self)}.log"
        self.config_path.write_text(yaml.safe_dump(config))
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> int:
        with self.log_path.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "localctl", "run", "--config", str(self.config_path),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=log,
                preexec_fn=_relay_child,
            )  # fmt: skip
        for _ in range(600):
            if match := _LISTENING.search(self.log_path.read_text(errors="replace")):
                return int(match.group(1))
            await asyncio.sleep(0.05)
        raise RuntimeError(f"relay did not start:\n{self.log_path.read_text()}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)


def _relay_child() -> None:
    raise_fd_limit()
    pin_to_cpu(_RELAY_CPU)


async def storm(
    url: str, ids: list[str], contexts: dict[str, ssl.SSLContext | None], headers: bool
) -> tuple[list[ClientConnection], float]:
    """Connect every station at once (at most _CONCURRENCY handshakes in flight)."""
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def one(station_id: str) -> ClientConnection:
        auth = basic_auth_header(BasicCredentials(station_id, _PASSWORD)) if headers else None
        async with limit:
            return await connect(
                f"{url}/{station_id}",
                subprotocols=[Subprotocol(SUBPROTOCOL)],
                ssl=contexts[station_id],
                additional_headers={"Authorization": auth} if auth else None,
                ping_interval=None,
                open_timeout=120,
                proxy=None,
            )

    start_s = time.perf_counter()
    sockets = await asyncio.gather(*(one(i) for i in ids))
    return list(sockets), time.perf_counter() - start_s


async def close_all(sockets: list[ClientConnection]) -> None:
    await asyncio.gather(*(s.close() for s in sockets))
    await asyncio.sleep(_SETTLE_S)


async def measure(mode: Mode, pki: Pki, csms: Csms, count: int, folder: Path) -> Result:
    ids = [f"CS{n:05d}" for n in range(count)]
    relay = Relay(relay_config(mode, pki, csms.url, ids), folder)
    port = await relay.start()
    assert relay.process is not None
    pid = relay.process.pid
    url = f"{'wss://localhost' if mode.tls else 'ws://127.0.0.1'}:{port}/ocpp"
    client_ids = {i: (i if mode.profile == 3 else None) for i in ids}
    contexts = {i: pki.client_context(c) if mode.tls else None for i, c in client_ids.items()}
    headers = mode.profile in (1, 2)
    half = count // 2
    try:
        await asyncio.sleep(_SETTLE_S)
        # Memory: the growth over the second half of the cold storm, so that one-off costs
        # (password-hashing threads, TLS library state) paid by the first half do not count.
        first, first_s = await storm(url, ids[:half], contexts, headers)
        await asyncio.sleep(_SETTLE_S)
        rss_half_kib = rss_kib(pid)
        second, second_s = await storm(url, ids[half:], contexts, headers)
        await asyncio.sleep(_SETTLE_S)
        rss_full_kib = rss_kib(pid)
        cold_s = first_s + second_s
        await close_all(first + second)
        cpu_before_s = cpu_seconds(pid)
        sockets, warm_s = await storm(url, ids, contexts, headers)
        cpu_s = cpu_seconds(pid) - cpu_before_s
        rss_total_mib = rss_kib(pid) / 1024
        await close_all(sockets)
    finally:
        await relay.stop()
    return Result(
        mode.name,
        count,
        count / cold_s,
        count / warm_s,
        cpu_s / count * 1000,
        (rss_full_kib - rss_half_kib) / (count - half),
        rss_total_mib,
    )


def render(results: list[Result]) -> str:
    head = (
        "| mode | stations | cold storm (stations/s) | warm storm (stations/s) "
        "| relay CPU per handshake (ms) | relay memory per station (KiB) | relay RSS (MiB) |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [
        f"| {r.mode} | {r.stations} | {r.cold_per_s:.0f} | {r.warm_per_s:.0f} "
        f"| {r.cpu_ms_per_handshake:.2f} | {r.kib_per_station:.1f} | {r.relay_rss_mib:.0f} |"
        for r in results
    ]
    return "\n".join(lines)


async def run(count: int) -> list[Result]:
    raise_fd_limit()
    pin_to_cpu(_LOADGEN_CPU)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pki = Pki(folder, Authority(folder, "servers"), Authority(folder, "stations"))
        csms = Csms(compression=False)
        await csms.start()
        try:
            for mode in MODES:
                results.append(await measure(mode, pki, csms, count, folder))
                print(f"  done: {mode.name}", file=sys.stderr)
        finally:
            await csms.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=500, help="stations per mode")
    args = parser.parse_args()
    results = asyncio.run(run(args.stations))
    facts = machine()
    print(f"TLS benchmark: {facts['nproc']} cores, {facts['cpu_model']}, Python {facts['python']}")
    print(
        f"relay on core {_RELAY_CPU}, load generator on core {_LOADGEN_CPU} (of {os.cpu_count()})"
    )
    print(render(results))


if __name__ == "__main__":
    main()
