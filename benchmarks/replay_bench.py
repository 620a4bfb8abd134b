"""Replay benchmark: a one-hour CSMS outage of many stations, then the backlog's replay.

    .venv/bin/python -m benchmarks.replay_bench            # 500 stations, an hour in 120 s
    .venv/bin/python -m benchmarks.replay_bench --quick    # 50 stations, ten minutes in 10 s

The relay runs as its own `localctl run` process (offline operation on, its outbox in
`--dir`) pinned to core 1; this process, pinned to core 0, is every station and the CSMS.
1. **Outage.** The CSMS is down. Half the stations speak OCPP 1.6, half 2.0.1; each connects
   (accepted offline) and runs one transaction through the simulated hour, time-accelerated
   by `--speedup`: a start, a meter reading every 10 s (360), a stop. The relay stores each
   in the outbox before it answers. Measured: append-to-answer time as the station sees it,
   the outbox's growth on disk per message, the relay's CPU per message.
2. **Replay.** The CSMS comes back on the same port. Measured: when the first and the last
   stored message reach it, so the replay throughput (messages/s) and the wall time to drain
   every backlog from the CSMS's return, and the relay's CPU meanwhile. The CSMS checks each
   station's messages arrive complete and in order with 1.6 transaction ids mapped; after the
   relay stops, the outbox must hold nothing pending.

See docs/replay-benchmark.md for the method, the figures and what limits them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from benchmarks.machine import machine as base_machine
from benchmarks.outbox_bench import file_system_of, percentile
from benchmarks.relay_proc import (
    RelayOptions,
    RelayProcess,
    _prepare_child,
    cpu_seconds,
    machine_cpu_seconds,
    own_cpu_seconds,
    pin_to_cpu,
    raise_fd_limit,
    rss_kib,
)
from benchmarks.relay_stats import CpuWindow
from benchmarks.replay_traffic import ReplayCsms, StationRun, meter_count
from localctl.offline import Outbox

RESULTS_PATH = Path(__file__).parent / "results" / "replay.json"
_CONNECT_CONCURRENCY = 50
_OPEN_TIMEOUT_S = 60.0
_DRAIN_TIMEOUT_S = 900.0
_ACK_GRACE_S = 1.0  # the last acknowledgements are written after the CSMS's last answer


@dataclass(frozen=True, slots=True)
class Plan:
    stations: int
    outage_s: int  # simulated
    speedup: float
    # The default first delay; the longest cut from 60 s to 10 s so that a short run does not
    # wait a minute for the last station, and still slow enough to stay off the relay's CPU.
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 10.0

    @property
    def messages_per_station(self) -> int:
        return meter_count(self.outage_s) + 2

    @property
    def interval_s(self) -> float:
        """Wall time between two calls of one station."""
        return 10 / self.speedup


class OfflineRelay(RelayProcess):
    """`localctl run` with offline operation on and its outbox in the work directory."""

    def __init__(self, work_dir: Path, csms_port: int, plan: Plan) -> None:
        super().__init__(RelayOptions(f"ws://127.0.0.1:{csms_port}/ocpp", False), work_dir)
        self.outbox_path = work_dir / "outbox.sqlite3"
        self._plan = plan

    def outbox_bytes(self) -> int:
        paths = [self.outbox_path, self.outbox_path.with_name(self.outbox_path.name + "-wal")]
        return sum(p.stat().st_size for p in paths if p.exists())

    async def start(self) -> None:
        self.config_path.write_text(
            "relay:\n"
            "  listen: 127.0.0.1:0\n"
            f"  upstream_url: {self.options.upstream_url}\n"
            "  compression: false\n"
            "  offline:\n"
            f"    outbox_path: {self.outbox_path}\n"
            f"    reconnect_min_s: {self._plan.reconnect_min_s}\n"
            f"    reconnect_max_s: {self._plan.reconnect_max_s}\n"
            "    unknown_token_policy: accept\n"
        )
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "localctl", "run", "--config", str(self.config_path)),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
                preexec_fn=lambda: _prepare_child(self.options.cpu),
            )
        self.port = await self._wait_for_port()


@dataclass(frozen=True, slots=True)
class OutageResult:
    messages: int
    wall_s: float
    persist_p50_us: float
    persist_p99_us: float
    persist_max_us: float
    bytes_per_message: float
    relay_cpu_us_per_message: float
    worst_station_lag_s: float
    cpu: CpuWindow


@dataclass(frozen=True, slots=True)
class ReplayResult:
    messages: int
    reconnected_s: float  # CSMS back -> every station's upstream socket open
    first_message_s: float  # CSMS back -> first stored message at the CSMS
    drain_s: float  # CSMS back -> last stored message at the CSMS
    messages_per_s: float  # first to last message at the CSMS
    all_connected_messages_per_s: float  # from the last station's reconnect to the last message
    relay_cpu_us_per_message: float
    relay_rss_mib: float
    out_of_order_or_unmapped: int
    left_pending: int
    bytes_per_message_at_rest: float  # the file once closed, with the CSMS's answers kept
    cpu: CpuWindow


class CpuMeter:
    """CPU seconds from now until `used()`: the relay's, this process's (stations and CSMS),
    and the whole machine's busy and stolen time (the 2 cores are shared with other work)."""

    def __init__(self, relay_pid: int) -> None:
        self._pid = relay_pid
        self._start_s = time.monotonic()
        self._start = self._read()

    def _read(self) -> tuple[float, float, float, float]:
        busy_s, steal_s = machine_cpu_seconds()
        return cpu_seconds(self._pid), own_cpu_seconds(), busy_s, steal_s

    def used(self) -> CpuWindow:
        now = self._read()
        relay_s, own_s, busy_s, steal_s = (b - a for a, b in zip(self._start, now, strict=True))
        wall_s = time.monotonic() - self._start_s
        return CpuWindow(self._start_s, wall_s, relay_s, own_s, 0, busy_s, steal_s)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def connect_stations(relay: OfflineRelay, count: int) -> list[tuple[StationRun, str]]:
    limit = asyncio.Semaphore(_CONNECT_CONCURRENCY)

    async def open_one(index: int) -> tuple[StationRun, str]:
        version = "ocpp1.6" if index % 2 == 0 else "ocpp2.0.1"
        async with limit:
            socket = await connect(
                f"{relay.url}/RB-{index:04d}",
                subprotocols=[Subprotocol(version)],
                compression=None,
                ping_interval=None,
                open_timeout=_OPEN_TIMEOUT_S,
            )
        return StationRun(f"RB-{index:04d}", socket), version

    return await asyncio.gather(*(open_one(i) for i in range(count)))


async def outage(
    relay: OfflineRelay, stations: list[tuple[StationRun, str]], plan: Plan
) -> OutageResult:
    bytes_before = relay.outbox_bytes()
    meter = CpuMeter(relay.pid)
    began_s = time.perf_counter()
    await asyncio.gather(
        *(run.hour(version, plan.outage_s, plan.interval_s) for run, version in stations)
    )
    wall_s = time.perf_counter() - began_s
    cpu = meter.used()
    latencies_us = sorted(s * 1e6 for run, _ in stations for s in run.latencies_s)
    messages = len(latencies_us)
    return OutageResult(
        messages=messages,
        wall_s=wall_s,
        persist_p50_us=percentile(latencies_us, 50),
        persist_p99_us=percentile(latencies_us, 99),
        persist_max_us=latencies_us[-1],
        bytes_per_message=(relay.outbox_bytes() - bytes_before) / messages,
        relay_cpu_us_per_message=cpu.relay_cpu_s * 1e6 / messages,
        worst_station_lag_s=max(run.late_s for run, _ in stations),
        cpu=cpu,
    )


async def replay(relay: OfflineRelay, csms: ReplayCsms, plan: Plan, messages: int) -> ReplayResult:
    meter = CpuMeter(relay.pid)
    back_s = time.perf_counter()
    await csms.start(expected=messages)
    await csms.all_in(_DRAIN_TIMEOUT_S)
    cpu = meter.used()
    rss_mib = rss_kib(relay.pid) / 1024
    assert csms.first_s is not None
    problems = sum(len(d.problems) for d in csms.deliveries.values())
    return ReplayResult(
        messages=csms.received,
        reconnected_s=csms.all_connected_s - back_s,
        first_message_s=csms.first_s - back_s,
        drain_s=csms.last_s - back_s,
        messages_per_s=csms.received / max(csms.last_s - csms.first_s, 1e-9),
        all_connected_messages_per_s=(csms.received - csms.received_when_all_connected)
        / max(csms.last_s - csms.all_connected_s, 1e-9),
        relay_cpu_us_per_message=cpu.relay_cpu_s * 1e6 / max(csms.received, 1),
        relay_rss_mib=rss_mib,
        out_of_order_or_unmapped=problems,
        left_pending=-1,
        bytes_per_message_at_rest=0.0,
        cpu=cpu,
    )


async def pending_after_stop(outbox_path: Path) -> int:
    outbox = await Outbox.open(outbox_path)
    try:
        return sum((await outbox.backlog()).values())
    finally:
        await outbox.close()


async def run(plan: Plan, work_dir: Path) -> tuple[OutageResult, ReplayResult, list[str]]:
    csms = ReplayCsms(free_port(), plan.stations)
    relay = OfflineRelay(work_dir, csms.port, plan)
    await relay.start()
    try:
        stations = await connect_stations(relay, plan.stations)
        say(f"{plan.stations} stations connected offline; the outage hour begins")
        outage_result = await outage(relay, stations, plan)
        say(f"{outage_result.messages} messages stored; the CSMS comes back")
        replay_result = await replay(relay, csms, plan, outage_result.messages)
        await asyncio.sleep(_ACK_GRACE_S)
        await asyncio.gather(*(run.socket.close() for run, _ in stations))
    finally:
        await relay.stop()
        await csms.stop()
    at_rest = relay.outbox_bytes() / outage_result.messages
    left = await pending_after_stop(relay.outbox_path)
    replay_result = replace(replay_result, left_pending=left, bytes_per_message_at_rest=at_rest)
    return outage_result, replay_result, relay.warnings()


def say(what: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def render(plan: Plan, info: dict[str, str], out: OutageResult, back: ReplayResult) -> str:
    rows = [
        ("stations (half 1.6, half 2.0.1)", f"{plan.stations}"),
        ("simulated outage", f"{plan.outage_s / 60:g} min in {out.wall_s:.0f} s wall"),
        ("messages stored", f"{out.messages:,}"),
        ("append-to-answer p50 / p99 / max", _us3(out)),
        ("outbox growth per message (file + WAL)", f"{out.bytes_per_message:,.0f} B"),
        ("relay CPU per stored message", f"{out.relay_cpu_us_per_message:,.0f} us"),
        ("CPU seconds during the outage", _cpu(out.cpu)),
        ("worst station lag behind schedule", f"{out.worst_station_lag_s:.2f} s"),
        ("CSMS back -> all reconnected", f"{back.reconnected_s:.2f} s"),
        ("CSMS back -> first replayed message", f"{back.first_message_s:.2f} s"),
        ("CSMS back -> every backlog drained", f"{back.drain_s:.1f} s"),
        ("replay throughput, first to last message", f"{back.messages_per_s:,.0f} messages/s"),
        ("  once every station is back", f"{back.all_connected_messages_per_s:,.0f} messages/s"),
        ("relay CPU per replayed message", f"{back.relay_cpu_us_per_message:,.0f} us"),
        ("CPU seconds during the replay", _cpu(back.cpu)),
        ("relay RSS after replay", f"{back.relay_rss_mib:.0f} MiB"),
        ("out of order or unmapped at the CSMS", f"{back.out_of_order_or_unmapped}"),
        ("left pending in the outbox", f"{back.left_pending}"),
        ("closed file per message, answers kept", f"{back.bytes_per_message_at_rest:,.0f} B"),
    ]
    width = max(len(name) for name, _ in rows)
    machine_line = ", ".join(f"{k} {v}" for k, v in info.items())
    return "\n".join([machine_line, *(f"{name:<{width}}  {value}" for name, value in rows)])


def _us3(out: OutageResult) -> str:
    return f"{out.persist_p50_us:,.0f} / {out.persist_p99_us:,.0f} / {out.persist_max_us:,.0f} us"


def _cpu(cpu: CpuWindow) -> str:
    return (
        f"relay {cpu.relay_cpu_s:.1f} s, stations+CSMS {cpu.loadgen_cpu_s:.1f} s, "
        f"others {cpu.others_cpu_percent / 100 * cpu.wall_s:.1f} s (steal {cpu.steal_s:.1f} s)"
    )


def _fastest_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop for the stations and the CSMS, as in the relay benchmark, so they keep up."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="50 stations, ten minutes")
    parser.add_argument("--stations", type=int, help="stations (default 500)")
    parser.add_argument("--speedup", type=float, default=30.0, help="simulated s per wall s")
    parser.add_argument("--dir", type=Path, default=Path("."), help="where the outbox lives")
    parser.add_argument("--no-save", action="store_true", help="do not write results JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    plan = Plan(
        args.stations or (50 if args.quick else 500), 600 if args.quick else 3600, args.speedup
    )
    raise_fd_limit()
    pin_to_cpu(0)
    work_dir = Path(tempfile.mkdtemp(prefix="replay-bench-", dir=args.dir))
    try:
        with asyncio.Runner(loop_factory=_fastest_loop()) as runner:
            out, back, warnings = runner.run(run(plan, work_dir))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    info = {**base_machine(), "file_system": file_system_of(args.dir)}
    print(render(plan, info, out, back))
    if back.out_of_order_or_unmapped or back.left_pending:
        print("FAILED: the replay lost, reordered or left messages", file=sys.stderr)
        return 1
    if not args.no_save and not args.quick:
        result = {
            "plan": asdict(plan),
            "machine": info,
            "outage": asdict(out),
            "replay": asdict(back),
            "relay_warning_lines": len(warnings),
        }
        RESULTS_PATH.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
