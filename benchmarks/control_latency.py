"""Reaction latency: from the grid-meter reading with a base-load step in it arriving at the
controller to the last SetChargingProfile frame of the reaction written to its station.

Two processes, as in a real installation: this one runs only the controller (pinned to
CPU 1), `control_latency_site` runs the stub CSMS, the stations, the EVs and the meter
(pinned to CPU 0). The controller is observed without changing it, by wrapping three
instance attributes (what a profiler would do):
- `controller.site_state.meter_reading`: every reading's delivery is stamped;
- `controller.loop.cycle`: each cycle gets a number in a context variable, which the tasks
  it starts to send profiles inherit;
- `controller.relay.call`: each SetChargingProfile payload is recorded with the number of
  the cycle that sent it.
The relay's socket towards each station is wrapped too, to stamp each SetChargingProfile as
it is written; the site process stamps each step's moment and each SetChargingProfile's
arrival at its station (later, by the site's own processing). Both use `time.monotonic()`,
one clock for the whole machine. For step k, t0 is the delivery of the first reading after
the step whose L1 current shows it; the reaction is everything sent by the first cycle that
started at or after t0 (its decreases and, once they are answered, its increases: the loop
wakes at once on a jump of more than 2 A); the latency is the writing of its last frame
minus t0 (and, for comparison, its arrival).

The site: every EVSE has a car (mixed 1- and 3-phase, reaction delays 1 to 10 s; the cars
arrive over the first 10 s, so meter values, sampled from each transaction's start, come in
spread out as on a real site), the fuse
is 8 A per EVSE so every car is limited, and every 6 s the base load steps up by 15 % of the
fuse on all three phases, and down again 3 s later. Controller settings are the defaults
except two that only govern how fast limits come back *up* after a step down, so that every
step up finds the headroom in use again and calls for decreases: `non_ev_hold_s` 2 s
(default 10 s) and `max_increase_a_per_cycle` 16 A (default 4 A). Neither is on the path
from a meter jump to the decreases it causes.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import contextvars
import itertools
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.control_latency_site import FUSE_A_PER_EVSE, payload_key
from benchmarks.control_site import site_config
from benchmarks.relay_stats import percentile
from localctl.config.model import LocalctlConfig
from localctl.inputs.readings import MeterReading
from localctl.relay.events import Side
from localctl.service import Controller

_CYCLE: contextvars.ContextVar[int] = contextvars.ContextVar("control_bench_cycle", default=-1)
CONTROLLER_CPU = 1
SITE_CPU = 0


@dataclass
class Trace:
    """What the wrappers saw in the controller, stamped with `time.monotonic()`."""

    cycle_start_s: dict[int, float] = field(default_factory=dict)
    sent_by_cycle: dict[str, int] = field(default_factory=dict)
    readings: list[tuple[float, float]] = field(default_factory=list)
    """(delivered at, L1 current) of every grid reading"""
    written_s: dict[str, float] = field(default_factory=dict)
    """when the relay's socket towards the station took each SetChargingProfile"""
    wrapped: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class LatencyResult:
    evses: int
    stations: int
    steps: int
    samples_ms: list[float]
    frames_per_reaction: list[int]
    no_reaction: int
    """steps whose first cycle sent nothing (not counted in the percentiles)"""
    cycle_wait_ms: list[float]
    """t0 to the start of the reacting cycle"""
    first_frame_ms: list[float]
    """t0 to the arrival of the reaction's first frame"""
    call_failures: int
    arrived_ms: list[float]
    """the same, to the last frame's arrival at its station (the site's own load included)"""

    def summary(self) -> dict[str, float | int]:
        values = sorted(self.samples_ms)
        first = sorted(self.first_frame_ms)
        arrived = sorted(self.arrived_ms)
        frames = sorted(float(f) for f in self.frames_per_reaction)
        nan = float("nan")
        return {
            "evses": self.evses,
            "stations": self.stations,
            "steps": self.steps,
            "samples": len(values),
            "no_reaction": self.no_reaction,
            "p50_ms": round(percentile(values, 50), 1),
            "p99_ms": round(percentile(values, 99), 1),
            "max_ms": round(values[-1], 1) if values else nan,
            "arrived_p50_ms": round(percentile(arrived, 50), 1),
            "arrived_p99_ms": round(percentile(arrived, 99), 1),
            "first_frame_p50_ms": round(percentile(first, 50), 1),
            "cycle_start_max_ms": round(max(self.cycle_wait_ms), 1) if self.cycle_wait_ms else nan,
            "frames_per_reaction_p50": int(percentile(frames, 50)) if frames else 0,
            "frames_per_reaction_max": int(frames[-1]) if frames else 0,
            "site_call_failures": self.call_failures,
        }


def _instrument(trace: Trace, controller: Controller) -> None:
    loop = controller.loop
    assert loop is not None
    counter = itertools.count()
    original_cycle: Callable[[], Awaitable[None]] = loop.cycle

    async def traced_cycle() -> None:
        number = next(counter)
        trace.cycle_start_s[number] = time.monotonic()
        token = _CYCLE.set(number)
        try:
            await original_cycle()
        finally:
            _CYCLE.reset(token)

    original_call = controller.relay.call

    async def traced_call(station_id: str, action: str, payload: Any, **kwargs: Any) -> Any:
        if action == "SetChargingProfile":
            trace.sent_by_cycle[payload_key(payload)] = _CYCLE.get()
        return await original_call(station_id, action, payload, **kwargs)

    original_reading = controller.site_state.meter_reading

    def traced_reading(reading: MeterReading) -> None:
        trace.readings.append((time.monotonic(), reading.current_a[0]))
        original_reading(reading)

    loop.cycle = traced_cycle  # type: ignore[method-assign]
    controller.relay.call = traced_call  # type: ignore[method-assign]
    controller.site_state.meter_reading = traced_reading  # type: ignore[method-assign]


async def _tap_station_sockets(trace: Trace, controller: Controller) -> None:
    """Stamp every SetChargingProfile as the relay writes it to a station's socket (each
    link's socket is wrapped once, when it shows up)."""
    while True:
        for station_id in controller.relay.station_ids:
            link = controller.relay.link(station_id)
            if link is None or station_id in trace.wrapped:
                continue
            socket = link._sockets[Side.STATION]  # the benchmark's one look inside
            original_send = socket.send_now

            # The relay writes every frame with send_now (localctl.io.direct), synchronously.
            def send_now(message: str, _send: Any = original_send) -> bool:
                sent: bool = _send(message)
                if '"SetChargingProfile"' in message:
                    frame = json.loads(message)
                    if frame[0] == 2:
                        trace.written_s.setdefault(payload_key(frame[3]), time.monotonic())
                return sent

            socket.send_now = send_now  # type: ignore[method-assign, assignment]
            trace.wrapped.add(station_id)
        await asyncio.sleep(0.5)


def _t0s(trace: Trace, steps: list[tuple[float, float]]) -> list[float]:
    """For each step (applied at, L1 threshold): the first reading delivered after it that
    shows it."""
    times = [t for t, _ in trace.readings]
    found = []
    for applied_s, threshold_a in steps:
        first = bisect.bisect_left(times, applied_s)
        hit = next((t for t, l1 in trace.readings[first:] if l1 > threshold_a), None)
        if hit is not None:
            found.append(hit)
    return found


def _reactions(
    trace: Trace, t0s: list[float], arrived_s: dict[str, float]
) -> tuple[list[float], list[int], list[float], list[float], int]:
    starts = sorted((s, n) for n, s in trace.cycle_start_s.items())
    by_cycle: dict[int, list[float]] = {}
    for key, number in trace.sent_by_cycle.items():
        if key in arrived_s:
            by_cycle.setdefault(number, []).append(arrived_s[key])
    latencies, frames, waits, firsts, none = [], [], [], [], 0
    for t0 in t0s:
        reacting = next(((s, n) for s, n in starts if s >= t0), None)
        if reacting is None or reacting[1] not in by_cycle:
            none += 1
            continue
        arrivals = by_cycle[reacting[1]]
        latencies.append((max(arrivals) - t0) * 1000)
        firsts.append((min(arrivals) - t0) * 1000)
        frames.append(len(arrivals))
        waits.append((reacting[0] - t0) * 1000)
    return latencies, frames, waits, firsts, none


def _pin(pid: int, cpu: int) -> None:
    with contextlib.suppress(AttributeError, OSError):
        if (os.cpu_count() or 1) > cpu:
            os.sched_setaffinity(pid, {cpu})


async def _line(stream: asyncio.StreamReader, timeout_s: float) -> dict[str, Any]:
    raw = await asyncio.wait_for(stream.readline(), timeout_s)
    if not raw:
        raise RuntimeError("the site process ended early")
    answer: dict[str, Any] = json.loads(raw)
    return answer


async def measure_latency(evse_count: int, steps: int, seed: int = 1) -> LatencyResult:
    """Run the site process and the controller side by side; see the module docstring."""
    affinity = os.sched_getaffinity(0)
    _pin(0, CONTROLLER_CPU)
    try:
        return await _measure(evse_count, steps, seed)
    finally:
        os.sched_setaffinity(0, affinity)


async def _measure(evse_count: int, steps: int, seed: int) -> LatencyResult:
    from benchmarks.control_latency_site import STEP_EVERY_S, WARMUP_S

    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "site.json"
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.control_latency_site",
            "--evses", str(evse_count), "--steps", str(steps), "--seed", str(seed),
            "--out", str(out),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert child.stdin is not None and child.stdout is not None
        _pin(child.pid, SITE_CPU)
        try:
            hello = await _line(child.stdout, 60)

            def config_for(port: int, csms_url: str) -> LocalctlConfig:
                control = {"non_ev_hold_s": 2.0, "max_increase_a_per_cycle": 16.0}
                return site_config(
                    evse_count,
                    fuse_a=FUSE_A_PER_EVSE * evse_count,
                    meter_port=port,
                    csms_url=csms_url,
                    control=control,
                    state_dir=Path(work),
                )

            controller = Controller(config_for(hello["meter_port"], hello["csms_url"]))
            trace = Trace()
            _instrument(trace, controller)
            stop = asyncio.Event()
            running = asyncio.create_task(controller.run(stop))
            tap = asyncio.create_task(_tap_station_sockets(trace, controller))
            try:
                await asyncio.wait_for(controller.started.wait(), 30)
                child.stdin.write(f"ws://127.0.0.1:{controller.relay.port}/ocpp\n".encode())
                await child.stdin.drain()
                await _line(child.stdout, 120 + WARMUP_S + steps * STEP_EVERY_S)
            finally:
                tap.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await tap
                stop.set()
                await asyncio.wait_for(running, 60)
            await asyncio.wait_for(child.wait(), 60)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        site = json.loads(out.read_text())
    t0s = _t0s(trace, [(t, thr) for t, thr in site["steps"]])
    written = _reactions(trace, t0s, trace.written_s)
    arrived = _reactions(trace, t0s, site["arrived_s"])
    missing = steps - len(t0s)
    return LatencyResult(
        evse_count,
        site["stations"],
        steps,
        written[0],
        written[1],
        written[4] + missing,
        written[2],
        written[3],
        len(site["call_failures"]),
        arrived[0],
    )
