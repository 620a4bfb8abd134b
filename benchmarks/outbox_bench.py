"""Outbox benchmark: what storing a transaction message durably costs. Prints a table.

Run: python -m benchmarks.outbox_bench [--quick] [--dir DIR] [--repeat N]

- **Append** (the best of `--repeat` runs by wall time): `appenders` tasks, one per station,
  each awaiting its appends one after the other (as a station does: one CALL in flight).
  Reported per append: wall time of the whole run divided by the appends (the cost under
  that concurrency), the latency of each await (p50, p99), the CPU time of this process and
  of the event loop's thread alone (what the relay would pay; the rest is the writer
  thread), the group-commit factor (appends per commit), and, from one more run, how late a
  1 ms sleep on the loop wakes up meanwhile (loop lag: the writer thread competes with the
  loop for the GIL).
- **Bytes on disk**: the file's growth per message after N appends of one frame kind, pending
  and once acknowledged with a typical CALLRESULT (file closed, so the WAL is checkpointed
  into it).
- **Replay read**: a one-hour outage of many stations (one MeterValues a minute each) read back
  in pages of 100 with `pending(after_seq=...)`, one station after the other; and a replay
  that also acknowledges every message, all stations at once, each acking one by one.

The file lives in `--dir` (default: the current directory), so the figures are those of that
file system's fsync; a tmpfs would make them meaningless, and the report names the file system.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import orjson

from benchmarks.machine import machine as base_machine
from localctl.offline import Outbox

RESULTS_PATH = Path(__file__).parent / "results" / "outbox.json"
_TIMESTAMP = "2026-11-22T04:00:00Z"
_WALL_S = 1_795_000_000.0


def _sample(value: str, measurand: str, unit: str, phase: str | None = None) -> dict[str, str]:
    sample = {
        "value": value,
        "context": "Sample.Periodic",
        "measurand": measurand,
        "location": "Outlet",
        "unit": unit,
    }
    if phase is not None:
        sample["phase"] = phase
    return sample


# A three-phase OCPP 1.6 MeterValues in a transaction, about 1.1 kB like the relay benchmark's.
_METER_VALUES = {
    "connectorId": 1,
    "transactionId": -17,
    "meterValue": [
        {
            "timestamp": _TIMESTAMP,
            "sampledValue": [
                _sample("1234567.8", "Energy.Active.Import.Register", "Wh"),
                _sample("10950.0", "Power.Active.Import", "W"),
                *(_sample("15.9", "Current.Import", "A", p) for p in ("L1", "L2", "L3")),
                *(_sample("229.6", "Voltage", "V", f"{p}-N") for p in ("L1", "L2", "L3")),
                _sample("64", "SoC", "Percent"),
            ],
        }
    ],
}
_START_TRANSACTION = {
    "connectorId": 1,
    "idTag": "04A2B3C4D5E6F7",
    "meterStart": 1234567,
    "timestamp": _TIMESTAMP,
}
PAYLOADS: dict[str, dict[str, object]] = {
    "MeterValues": _METER_VALUES,
    "StartTransaction": _START_TRANSACTION,
}


def call_frame(action: str, message_id: str) -> str:
    return orjson.dumps([2, message_id, action, PAYLOADS[action]]).decode()


def result_frame(message_id: str) -> str:
    return f'[3,"{message_id}",{{}}]'


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank: always an observed value."""
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


# --- append cost ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppendResult:
    appenders: int
    appends: int
    wall_us_per_append: float
    cpu_us_per_append: float
    loop_cpu_us_per_append: float
    p50_latency_us: float
    p99_latency_us: float
    appends_per_commit: float
    loop_lag_p99_us: float
    loop_lag_max_us: float


async def measure_appends(
    path: Path, appenders: int, appends: int, *, probe_loop: bool = False
) -> AppendResult:
    outbox = await Outbox.open(path)
    frames = [call_frame("MeterValues", f"m{index}") for index in range(appends // appenders)]
    latencies_s: list[float] = []

    async def station(station_id: str) -> None:
        for index, frame in enumerate(frames):
            start_s = time.perf_counter()
            await outbox.append(
                station_id, "MeterValues", f"m{index}", frame, received_wall_s=_WALL_S
            )
            latencies_s.append(time.perf_counter() - start_s)

    wall_start_s, cpu_start_s = time.perf_counter(), time.process_time()
    loop_cpu_start_s = time.thread_time()
    commits_before = outbox.group_stats.commits
    lags_s: list[float] = []
    async with asyncio.TaskGroup() as group:
        stations = [group.create_task(station(f"cs{n:04d}")) for n in range(appenders)]
        if probe_loop:
            probe = group.create_task(loop_lag_probe(lags_s))
            await asyncio.gather(*stations)
            probe.cancel()
    wall_s, cpu_s = time.perf_counter() - wall_start_s, time.process_time() - cpu_start_s
    loop_cpu_s = time.thread_time() - loop_cpu_start_s
    commits = outbox.group_stats.commits - commits_before
    await outbox.close()
    latencies_s.sort()
    done = len(latencies_s)
    return AppendResult(
        appenders,
        done,
        wall_s / done * 1e6,
        cpu_s / done * 1e6,
        loop_cpu_s / done * 1e6,
        percentile(latencies_s, 50) * 1e6,
        percentile(latencies_s, 99) * 1e6,
        done / commits,
        percentile(sorted(lags_s), 99) * 1e6 if lags_s else math.nan,
        max(lags_s) * 1e6 if lags_s else math.nan,
    )


async def loop_lag_probe(lags_s: list[float], interval_s: float = 0.001) -> None:
    """How late a 1 ms sleep wakes up: what the rest of the relay would feel while the writer
    thread competes with the loop for the GIL."""
    while True:
        start_s = time.perf_counter()
        await asyncio.sleep(interval_s)
        lags_s.append(time.perf_counter() - start_s - interval_s)


# --- bytes on disk --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SizeResult:
    action: str
    frame_bytes: int
    messages: int
    pending_bytes_per_message: float
    acknowledged_bytes_per_message: float


async def measure_size(directory: Path, action: str, messages: int) -> SizeResult:
    path = directory / f"size-{action}.sqlite"
    outbox = await Outbox.open(path)
    await outbox.close()
    empty_bytes = path.stat().st_size
    outbox = await Outbox.open(path)
    entries = await asyncio.gather(
        *(
            outbox.append(
                f"cs{index % 100:04d}",
                action,
                f"m{index}",
                call_frame(action, f"m{index}"),
                received_wall_s=_WALL_S,
            )
            for index in range(messages)
        )
    )
    await outbox.close()  # the last connection's close checkpoints the WAL into the file
    pending_bytes = path.stat().st_size - empty_bytes
    outbox = await Outbox.open(path)
    await asyncio.gather(
        *(outbox.acknowledge(entry.seq, result_frame(entry.message_id)) for entry in entries)
    )
    await outbox.close()
    acknowledged_bytes = path.stat().st_size - empty_bytes
    return SizeResult(
        action,
        len(call_frame(action, "m0")),
        messages,
        pending_bytes / messages,
        acknowledged_bytes / messages,
    )


# --- replay ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplayResult:
    stations: int
    messages: int
    fill_s: float
    read_messages_per_s: float
    read_and_ack_messages_per_s: float
    ack_commits: int


async def fill_outage(path: Path, stations: int, per_station: int) -> float:
    """One MeterValues a minute from every station, appended minute by minute."""
    outbox = await Outbox.open(path)
    start_s = time.perf_counter()
    for minute in range(per_station):
        message_id = f"m{minute}"
        frame = call_frame("MeterValues", message_id)
        await asyncio.gather(
            *(
                outbox.append(
                    f"cs{number:04d}", "MeterValues", message_id, frame, received_wall_s=_WALL_S
                )
                for number in range(stations)
            )
        )
    fill_s = time.perf_counter() - start_s
    await outbox.close()
    return fill_s


async def read_all(outbox: Outbox, station_ids: list[str]) -> int:
    read = 0
    for station_id in station_ids:
        after_seq = 0
        while page := await outbox.pending(station_id, limit=100, after_seq=after_seq):
            read += len(page)
            after_seq = page[-1].seq
    return read


async def replay_and_ack(outbox: Outbox, station_ids: list[str]) -> int:
    async def station(station_id: str) -> int:
        acked = 0
        while page := await outbox.pending(station_id, limit=100):
            for entry in page:
                await outbox.acknowledge(entry.seq, result_frame(entry.message_id))
            acked += len(page)
        return acked

    return sum(await asyncio.gather(*(station(station_id) for station_id in station_ids)))


async def timed(action: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    start_s = time.perf_counter()
    count = await action()
    return count, time.perf_counter() - start_s


async def measure_replay(path: Path, stations: int, per_station: int) -> ReplayResult:
    fill_s = await fill_outage(path, stations, per_station)
    outbox = await Outbox.open(path)
    station_ids = sorted(await outbox.backlog())
    read, read_s = await timed(lambda: read_all(outbox, station_ids))
    commits_before = outbox.group_stats.commits
    acked, acked_s = await timed(lambda: replay_and_ack(outbox, station_ids))
    commits = outbox.group_stats.commits - commits_before
    assert read == acked == stations * per_station, (read, acked)
    assert await outbox.backlog() == {}
    await outbox.close()
    return ReplayResult(stations, read, fill_s, read / read_s, acked / acked_s, commits)


# --- report ---------------------------------------------------------------------------------


def file_system_of(path: Path) -> str:
    """The type of the file system holding `path`, from /proc/mounts (longest mount prefix)."""
    best = ("", "unknown")
    resolved = str(path.resolve())
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return "unknown"
    for line in lines:
        _, mount_point, fs_type, *_ = line.split()
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) > len(best[0]):
            best = (mount_point, fs_type)
    return best[1]


def machine(directory: Path) -> dict[str, str]:
    return {
        **base_machine(),
        "sqlite": sqlite3.sqlite_version,
        "file_system": file_system_of(directory),
    }


def render(
    info: dict[str, str],
    appends: list[AppendResult],
    sizes: list[SizeResult],
    replay: ReplayResult,
) -> str:
    lines = [
        f"localctl outbox benchmark: {info['nproc']} cores, {info['cpu_model']}, "
        f"Python {info['python']}, SQLite {info['sqlite']}, file on {info['file_system']}",
        f"loop lag of the 1 ms probe on an idle loop, p99/max: "
        f"{info['idle_loop_lag_p99_max_us']} us",
        "",
        "durable append (WAL, synchronous=FULL), 1.1 kB MeterValues, each appender awaits in turn"
        " (best run)",
        f"{'appenders':>9} {'appends':>8} {'wall us/append':>15} {'cpu us/append':>14}"
        f" {'loop cpu us':>12} {'p50 us':>9} {'p99 us':>9} {'appends/commit':>15}"
        f" {'loop lag p99/max us':>20}",
    ]
    lines += [
        f"{r.appenders:>9} {r.appends:>8} {r.wall_us_per_append:>15.1f}"
        f" {r.cpu_us_per_append:>14.1f} {r.loop_cpu_us_per_append:>12.1f}"
        f" {r.p50_latency_us:>9.0f} {r.p99_latency_us:>9.0f}"
        f" {r.appends_per_commit:>15.1f}"
        f" {f'{r.loop_lag_p99_us:.0f}/{r.loop_lag_max_us:.0f}':>20}"
        for r in appends
    ]
    lines += [
        "",
        "bytes on disk per message (file growth / messages, WAL checkpointed)",
        f"{'action':>16} {'frame B':>8} {'messages':>9} {'pending B':>10} {'acknowledged B':>15}",
    ]
    lines += [
        f"{s.action:>16} {s.frame_bytes:>8} {s.messages:>9} {s.pending_bytes_per_message:>10.0f}"
        f" {s.acknowledged_bytes_per_message:>15.0f}"
        for s in sizes
    ]
    lines += [
        "",
        f"replay of a {replay.messages // replay.stations}-minute outage: {replay.stations}"
        f" stations, {replay.messages} MeterValues (filled in {replay.fill_s:.1f} s)",
        f"  read only, pages of 100, station by station: {replay.read_messages_per_s:,.0f} msg/s",
        f"  read + acknowledge each, all stations at once: "
        f"{replay.read_and_ack_messages_per_s:,.0f} msg/s ({replay.ack_commits} commits)",
    ]
    return "\n".join(lines)


async def idle_loop_lag_us(duration_s: float = 1.0) -> tuple[float, float]:
    """The probe's p99 and max on an idle loop: the baseline for the loop lag figures."""
    lags_s: list[float] = []
    probe = asyncio.create_task(loop_lag_probe(lags_s))
    await asyncio.sleep(duration_s)
    probe.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await probe
    lags_s.sort()
    return percentile(lags_s, 99) * 1e6, lags_s[-1] * 1e6


async def best_appends(directory: Path, appenders: int, appends: int, repeat: int) -> AppendResult:
    """The run with the lowest wall time of `repeat`, each on a fresh file (on a shared machine
    other jobs only ever add time), with the loop lag of one more run: the probe's own wake-ups
    would add to the loop's CPU figure."""
    runs = [
        await measure_appends(directory / f"append-{appenders}-{run}.sqlite", appenders, appends)
        for run in range(repeat)
    ]
    best = min(runs, key=lambda result: result.wall_us_per_append)
    probed = await measure_appends(
        directory / f"append-{appenders}-probed.sqlite", appenders, appends, probe_loop=True
    )
    return replace(
        best, loop_lag_p99_us=probed.loop_lag_p99_us, loop_lag_max_us=probed.loop_lag_max_us
    )


async def run(directory: Path, quick: bool, repeat: int) -> dict[str, object]:
    scale = 10 if quick else 1
    append_plan = ((1, 2000 // scale), (10, 10_000 // scale), (100, 40_000 // scale))
    appends = [await best_appends(directory, count, total, repeat) for count, total in append_plan]
    sizes = [
        await measure_size(directory, action, 10_000 // scale)
        for action in ("MeterValues", "StartTransaction")
    ]
    replay = await measure_replay(directory / "replay.sqlite", 500 // scale, 60)
    info = machine(directory)
    idle_p99_us, idle_max_us = await idle_loop_lag_us()
    info["idle_loop_lag_p99_max_us"] = f"{idle_p99_us:.0f}/{idle_max_us:.0f}"
    print(render(info, appends, sizes, replay))
    return {
        "machine": info,
        "mode": "quick" if quick else "full",
        "append_runs_per_figure": repeat,
        "append": [asdict(r) for r in appends],
        "bytes_on_disk": [asdict(s) for s in sizes],
        "replay": asdict(replay),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the messages")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where the files go")
    parser.add_argument("--repeat", type=int, default=3, help="append runs, best is kept")
    parser.add_argument("--no-json", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="outbox-bench-", dir=args.dir))
    try:
        result = asyncio.run(run(directory, args.quick, args.repeat))
    finally:
        shutil.rmtree(directory)
    if not args.no_json:
        RESULTS_PATH.write_text(json.dumps(result, indent=2) + "\n")
        print(f"\nwritten: {RESULTS_PATH}")


if __name__ == "__main__":
    main()
