"""Measurement windows of the relay benchmark: paced load, closed-loop load, RSS steps.

Each run has a warm-up (connections settle, caches fill) and then a window; CPU and counts are
read only at the window's edges, and only calls *scheduled* inside it count as samples.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from benchmarks.relay_loadgen import (
    Counter,
    PacedRecord,
    Station,
    Stream,
    boot,
    close_stations,
    connect_stations,
    finish,
    start_closed_loop,
    start_paced,
)
from benchmarks.relay_proc import cpu_seconds, machine_cpu_seconds, own_cpu_seconds, rss_kib
from benchmarks.relay_report import MemoryResult, MemoryStep
from benchmarks.relay_stats import CpuWindow, LatencySummary

_FINISH_GRACE_S = 30.0  # a call still unanswered this long after the window is a failure
_SETTLE_S = 1.0  # after a burst of connects, let buffers drain before reading RSS
_WARM_UP_STATIONS = 3


async def cpu_window(
    relay_pid: int | None, start_s: float, end_s: float, round_trips: Callable[[], int]
) -> CpuWindow:
    """CPU seconds of the relay and of this process between two time.monotonic instants."""
    await asyncio.sleep(max(0.0, start_s - time.monotonic()))
    relay0_s = cpu_seconds(relay_pid) if relay_pid else 0.0
    own0_s, wall0_s, trips0 = own_cpu_seconds(), time.monotonic(), round_trips()
    busy0_s, steal0_s = machine_cpu_seconds()
    await asyncio.sleep(max(0.0, end_s - time.monotonic()))
    relay1_s = cpu_seconds(relay_pid) if relay_pid else 0.0
    own1_s, wall1_s, trips1 = own_cpu_seconds(), time.monotonic(), round_trips()
    busy1_s, steal1_s = machine_cpu_seconds()
    return CpuWindow(
        wall0_s,
        wall1_s - wall0_s,
        relay1_s - relay0_s,
        own1_s - own0_s,
        trips1 - trips0,
        busy1_s - busy0_s,
        steal1_s - steal0_s,
    )


async def paced_run(
    stations: list[Station],
    streams: list[Stream],
    warmup_s: float,
    window_s: float,
    relay_pid: int | None,
) -> tuple[PacedRecord, CpuWindow]:
    now_s = time.monotonic()
    record = PacedRecord(now_s + warmup_s, now_s + warmup_s + window_s)
    tasks = start_paced(stations, streams, record, end_s=record.window_end_s)
    cpu = await cpu_window(relay_pid, record.window_start_s, record.window_end_s, lambda: 0)
    record.failures = await finish(tasks, _FINISH_GRACE_S)
    return record, cpu


async def closed_loop_run(
    stations: list[Station], action: str, warmup_s: float, window_s: float, relay_pid: int | None
) -> tuple[CpuWindow, int]:
    """Every station calls back-to-back; the window's round trips and CPU, and the failures."""
    now_s = time.monotonic()
    counter = Counter()
    start_s, end_s = now_s + warmup_s, now_s + warmup_s + window_s
    tasks = start_closed_loop(stations, action, end_s, counter)
    cpu = await cpu_window(relay_pid, start_s, end_s, lambda: counter.round_trips)
    return cpu, await finish(tasks, _FINISH_GRACE_S)


async def back_to_back(station: Station, action: str, calls: int) -> LatencySummary:
    """One station, each CALL sent as soon as the previous reply is in: the latency of the
    path itself, with no other station queueing in front."""
    for _ in range(calls // 10):  # warm-up
        await station.round_trip_ns(action)
    return LatencySummary.of_ns([await station.round_trip_ns(action) for _ in range(calls)])


def station_ids(prefix: str, first: int, end: int) -> list[str]:
    return [f"{prefix}-{i:05d}" for i in range(first, end)]


async def connect_and_boot(
    url: str, prefix: str, first: int, end: int, *, compression: bool
) -> list[Station]:
    stations = await connect_stations(url, station_ids(prefix, first, end), compression=compression)
    await boot(stations)
    return stations


async def memory_steps(
    relay_url: str, relay_pid: int, steps: tuple[int, ...], *, compression: bool
) -> tuple[MemoryResult, list[Station]]:
    """RSS with no station (after a few have come and gone, so first-use allocations are not
    charged to the stations), then after each step's stations have connected and booted."""
    warm = await connect_and_boot(relay_url, "warm", 0, _WARM_UP_STATIONS, compression=compression)
    await close_stations(warm)
    await asyncio.sleep(_SETTLE_S)
    rss0_kib = rss_kib(relay_pid)
    stations: list[Station] = []
    measured: list[MemoryStep] = []
    prefix = "deflate" if compression else "relay"
    for count in steps:
        stations += await connect_and_boot(
            relay_url, prefix, len(stations), count, compression=compression
        )
        await asyncio.sleep(_SETTLE_S)
        step_kib = rss_kib(relay_pid)
        measured.append(MemoryStep(count, step_kib, (step_kib - rss0_kib) / count))
    return MemoryResult(compression, rss0_kib, tuple(measured)), stations
