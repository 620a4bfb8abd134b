"""Relay benchmark: what `localctl run` costs compared with a direct station-to-CSMS link.

    .venv/bin/python -m benchmarks.relay_bench            # full run, 5 to 7 minutes
    .venv/bin/python -m benchmarks.relay_bench --quick    # smoke run, under a minute

The relay runs as its own `localctl run` process pinned to core 1; this process is the load
generator (a minimal CSMS and all the stations, on uvloop when installed) pinned to core 0.
The same stations and CSMS are measured direct and through the relay. See
docs/relay-benchmark.md for the method and the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from benchmarks.machine import machine as base_machine
from benchmarks.relay_frames import check_frames, frame_bytes
from benchmarks.relay_loadgen import Csms, PacedRecord, Station, Stream, close_stations
from benchmarks.relay_phases import (
    back_to_back,
    closed_loop_run,
    connect_and_boot,
    memory_steps,
    paced_run,
)
from benchmarks.relay_proc import RelayOptions, RelayProcess, pin_to_cpu, raise_fd_limit
from benchmarks.relay_report import (
    BenchResult,
    LatencyResult,
    RealisticResult,
    ThroughputResult,
    render,
    write_json,
)
from benchmarks.relay_stats import CpuWindow, LatencySummary, percentile

RESULTS_PATH = Path(__file__).parent / "results" / "relay.json"
_LOADGEN_CPU = 0
_RELAY_CPU = 1
_BACK_TO_BACK_CALLS = 2000
_REALISTIC_STREAMS = [Stream("MeterValues", 10.0), Stream("Heartbeat", 60.0)]


@dataclass(frozen=True, slots=True)
class Plan:
    mode: str
    latency_stations: int
    latency_warmup_s: float
    latency_window_s: float
    throughput_stations: int
    throughput_warmup_s: float
    throughput_window_s: float
    memory_steps: tuple[int, ...]
    realistic_stations: int
    realistic_warmup_s: float
    realistic_window_s: float
    latency_action: str = "MeterValues"
    latency_interval_s: float = 1.0
    memory_with_compression: bool = True  # for information only; the quick run skips it

    def capped(self, stations: int) -> Plan:
        """Every phase with at most `stations` stations (for smoke runs)."""
        steps = tuple(sorted({min(n, stations) for n in self.memory_steps}))
        return replace(
            self,
            mode=f"{self.mode}, at most {stations} stations",
            latency_stations=min(self.latency_stations, stations),
            throughput_stations=min(self.throughput_stations, stations),
            memory_steps=steps,
            realistic_stations=min(self.realistic_stations, stations),
        )


FULL = Plan("full", 1000, 3.0, 20.0, 200, 2.0, 8.0, (1000, 5000), 5000, 5.0, 40.0)
QUICK = Plan(
    "quick", 200, 1.0, 3.0, 50, 0.5, 2.0, (200, 500), 500, 1.0, 5.0, memory_with_compression=False
)


def _machine(loadgen_loop: str) -> dict[str, str]:
    return {
        **base_machine(),
        "websockets": importlib.metadata.version("websockets"),
        "loadgen_loop": loadgen_loop,
    }


def _send_lag_p99_ms(record: PacedRecord) -> float:
    return percentile(sorted(record.send_lag_s), 99) * 1000


class Bench:
    """The whole run: one CSMS without compression, two relay processes, and the stations."""

    def __init__(self, plan: Plan, work_dir: Path, result: BenchResult) -> None:
        self.plan = plan
        self.work_dir = work_dir
        self.result = result
        self.profile_path: Path | None = None
        self._realistic_relay: tuple[PacedRecord, CpuWindow] | None = None
        self._started_s = time.monotonic()

    def _say(self, what: str) -> None:
        """Progress on stderr, so a long run is not silent."""
        print(f"[{time.monotonic() - self._started_s:6.1f} s] {what}", file=sys.stderr, flush=True)

    async def run(self) -> None:
        csms = Csms(compression=False)
        await csms.start()
        try:
            relay = RelayProcess(self._relay_options(csms.url, compression=False), self.work_dir)
            await relay.start()
            try:
                await self._relay_phases(relay)
            finally:
                await self._stop(relay)
            await self._null_relay_phases(csms)
            await self._realistic_direct(csms)
        finally:
            await csms.stop()
        if self.plan.memory_with_compression:
            await self._memory_with_compression()

    async def _null_relay_phases(self, csms: Csms) -> None:
        """Latency and throughput through the do-nothing relay: the floor for any relay."""
        plan = self.plan
        null = RelayProcess(
            RelayOptions(csms.url, False, cpu=_RELAY_CPU, module="benchmarks.relay_null"),
            self.work_dir,
        )
        await null.start()
        try:
            self._say("null relay: latency and throughput")
            count = max(plan.latency_stations, plan.throughput_stations)
            stations = await connect_and_boot(null.url, "null", 0, count, compression=False)
            streams = [Stream(plan.latency_action, plan.latency_interval_s)]
            record, cpu = await paced_run(
                stations[: plan.latency_stations],
                streams,
                plan.latency_warmup_s,
                plan.latency_window_s,
                null.pid,
            )
            unloaded = await back_to_back(stations[0], plan.latency_action, _BACK_TO_BACK_CALLS)
            if self.result.latency is not None:
                self.result.latency.unloaded["null relay"] = unloaded
                self.result.latency = replace(
                    self.result.latency,
                    null=LatencySummary.of_ns(record.rtt_ns),
                    null_cpu=cpu,
                    failures=self.result.latency.failures + record.failures,
                )
            await self._closed_loop("null relay", "MeterValues", stations, null.pid)
            await close_stations(stations)
        finally:
            await self._stop(null)

    async def _closed_loop(
        self, label: str, action: str, stations: list[Station], pid: int | None
    ) -> None:
        plan = self.plan
        count = plan.throughput_stations
        cpu, failures = await closed_loop_run(
            stations[:count], action, plan.throughput_warmup_s, plan.throughput_window_s, pid
        )
        if failures:
            self.result.relay_warnings.append(f"throughput {label} {action}: {failures} failed")
        self.result.throughput.append(ThroughputResult(label, action, count, cpu))

    def _relay_options(self, csms_url: str, *, compression: bool) -> RelayOptions:
        module = "benchmarks.relay_gc_probe" if self.result.gc_probe else "localctl"
        return RelayOptions(csms_url, compression, cpu=_RELAY_CPU, module=module)

    async def _stop(self, relay: RelayProcess) -> None:
        exit_code = await relay.stop()
        self.result.relay_warnings += relay.warnings()
        self.result.gc_pauses += relay.gc_pauses()
        if exit_code != 0:
            self.result.relay_warnings.append(f"relay exited with {exit_code}")

    async def _relay_phases(self, relay: RelayProcess) -> None:
        """Memory first, on a fresh relay; then 5,000 stations at realistic rates on the same
        connections; then latency and throughput with 1,000, next to direct stations."""
        plan = self.plan
        self._say(f"relay, compression off: RSS at {plan.memory_steps} stations")
        memory, relayed = await memory_steps(
            relay.url, relay.pid, plan.memory_steps, compression=False
        )
        self.result.memory.append(memory)
        relayed += await connect_and_boot(
            relay.url, "relay", len(relayed), plan.realistic_stations, compression=False
        )
        self._say(f"relay: {plan.realistic_stations} stations at realistic rates")
        self._realistic_relay = await paced_run(
            relayed[: plan.realistic_stations],
            _REALISTIC_STREAMS,
            plan.realistic_warmup_s,
            plan.realistic_window_s,
            relay.pid,
        )
        keep = max(plan.latency_stations, plan.throughput_stations)
        await close_stations(relayed[keep:])
        relayed = relayed[:keep]
        csms_url = relay.options.upstream_url
        direct = await connect_and_boot(csms_url, "direct", 0, keep, compression=False)
        self._say(f"latency at {plan.latency_stations} stations, direct then via relay")
        await self._latency(direct, relayed, relay.pid)
        self._say(f"throughput, {plan.throughput_stations} stations in closed loop")
        await self._throughput(direct, relayed, relay)
        await close_stations(direct + relayed)

    async def _latency(self, direct: list[Station], relayed: list[Station], relay_pid: int) -> None:
        plan = self.plan
        streams = [Stream(plan.latency_action, plan.latency_interval_s)]
        count = plan.latency_stations
        direct_run = await paced_run(
            direct[:count], streams, plan.latency_warmup_s, plan.latency_window_s, None
        )
        relay_run = await paced_run(
            relayed[:count], streams, plan.latency_warmup_s, plan.latency_window_s, relay_pid
        )
        unloaded = {
            "direct": await back_to_back(direct[0], plan.latency_action, _BACK_TO_BACK_CALLS),
            "relay": await back_to_back(relayed[0], plan.latency_action, _BACK_TO_BACK_CALLS),
        }
        self.result.latency = LatencyResult(
            stations=count,
            rate_per_station_hz=1 / plan.latency_interval_s,
            action=plan.latency_action,
            frame_bytes=frame_bytes(plan.latency_action),
            window_s=plan.latency_window_s,
            direct=LatencySummary.of_ns(direct_run[0].rtt_ns),
            relay=LatencySummary.of_ns(relay_run[0].rtt_ns),
            direct_cpu=direct_run[1],
            relay_cpu=relay_run[1],
            send_lag_p99_ms={
                "direct": _send_lag_p99_ms(direct_run[0]),
                "relay": _send_lag_p99_ms(relay_run[0]),
            },
            failures=direct_run[0].failures + relay_run[0].failures,
            unloaded=unloaded,
        )

    async def _throughput(
        self, direct: list[Station], relayed: list[Station], relay: RelayProcess
    ) -> None:
        await self._closed_loop("direct", "MeterValues", direct, None)
        await self._closed_loop("relay", "MeterValues", relayed, relay.pid)
        await self._closed_loop("relay", "Heartbeat", relayed, relay.pid)
        if self.profile_path is not None:
            await self._profile(relayed[: self.plan.throughput_stations], relay.pid)

    async def _profile(self, stations: list[Station], relay_pid: int) -> None:
        """A separate window under py-spy, so sampling overhead stays out of the figures."""
        assert self.profile_path is not None
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        window_s = self.plan.throughput_window_s
        profiler = await asyncio.create_subprocess_exec(
            py_spy, "record", "--pid", str(relay_pid), "--duration", str(int(window_s) + 1),
            "--rate", "250", "--nonblocking", "--format", "raw", "--output",
            str(self.profile_path), stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await closed_loop_run(stations, "MeterValues", 0.5, window_s + 1, None)
        await profiler.wait()

    async def _realistic_direct(self, csms: Csms) -> None:
        plan = self.plan
        self._say(f"direct: {plan.realistic_stations} stations at realistic rates")
        stations = await connect_and_boot(
            csms.url, "direct", 0, plan.realistic_stations, compression=False
        )
        direct_run = await paced_run(
            stations, _REALISTIC_STREAMS, plan.realistic_warmup_s, plan.realistic_window_s, None
        )
        await close_stations(stations)
        assert self._realistic_relay is not None, "the relay's run comes first"
        relay_record, relay_cpu = self._realistic_relay
        offered = sum(1 / s.interval_s for s in _REALISTIC_STREAMS) * plan.realistic_stations
        self.result.realistic = RealisticResult(
            stations=plan.realistic_stations,
            offered_calls_per_s=offered,
            window_s=plan.realistic_window_s,
            direct=LatencySummary.of_ns(direct_run[0].rtt_ns),
            relay=LatencySummary.of_ns(relay_record.rtt_ns),
            direct_cpu=direct_run[1],
            relay_cpu=relay_cpu,
            send_lag_p99_ms={
                "direct": _send_lag_p99_ms(direct_run[0]),
                "relay": _send_lag_p99_ms(relay_record),
            },
            failures=direct_run[0].failures + relay_record.failures,
        )

    async def _memory_with_compression(self) -> None:
        """For information: the same RSS steps with permessage-deflate on every socket."""
        self._say(f"relay, compression on: RSS at {self.plan.memory_steps} stations")
        csms = Csms(compression=True)
        await csms.start()
        try:
            relay = RelayProcess(self._relay_options(csms.url, compression=True), self.work_dir)
            await relay.start()
            try:
                memory, stations = await memory_steps(
                    relay.url, relay.pid, self.plan.memory_steps, compression=True
                )
                self.result.memory.append(memory)
                await close_stations(stations)
            finally:
                await self._stop(relay)
        finally:
            await csms.stop()


def _event_loop_factory() -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """uvloop when it is installed (it roughly halves the load generator's CPU per frame);
    it is a benchmark-only dependency, so the bench still runs on the stock loop."""
    try:
        uvloop: Any = importlib.import_module("uvloop")
    except ImportError:
        return None, "asyncio (install uvloop for a lighter load generator)"
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory, f"uvloop {importlib.metadata.version('uvloop')}"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.relay_bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smoke run, about 30 s")
    parser.add_argument("--stations", type=int, help="cap every phase at this many stations")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help="JSON results file")
    parser.add_argument(
        "--profile-relay",
        type=Path,
        metavar="FILE",
        help="after the throughput windows, record the relay with py-spy (raw stacks) to FILE",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="scheduling priority of the bench and the relays it starts (negative: above other "
        "jobs on a shared machine; needs root)",
    )
    parser.add_argument(
        "--gc-probe",
        action="store_true",
        help="run the relay under benchmarks.relay_gc_probe and report its GC pauses per window",
    )
    return parser.parse_args(argv)


def _run(
    coroutine: Coroutine[Any, Any, None],
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None,
) -> None:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(coroutine)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    plan = QUICK if args.quick else FULL
    if args.stations is not None:
        plan = plan.capped(args.stations)
    check_frames()
    if args.nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)  # the relay processes inherit it
    raise_fd_limit()
    pin_to_cpu(_LOADGEN_CPU)
    loop_factory, loop_name = _event_loop_factory()
    machine = {**_machine(loop_name), "nice": str(os.getpriority(os.PRIO_PROCESS, 0))}
    result = BenchResult(machine=machine, mode=plan.mode, gc_probe=args.gc_probe)
    started_s = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as work_dir:
        bench = Bench(plan, Path(work_dir), result)
        bench.profile_path = args.profile_relay
        _run(bench.run(), loop_factory)
    result.duration_s = time.monotonic() - started_s
    print(render(result))
    write_json(result, args.output)
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
