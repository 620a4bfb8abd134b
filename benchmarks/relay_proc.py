"""The relay under test as a separate `localctl run` process, and what /proc says about it."""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import resource
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.relay_stats import GcPause

_LISTENING = re.compile(r"listening for stations on ws://127\.0\.0\.1:(\d+)/")
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 30.0
_GC_PAUSE = re.compile(
    r"gc-probe gen=(?P<gen>\d) pause_ms=(?P<pause_ms>[\d.]+) at_s=(?P<at_s>[\d.]+)"
)
_CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one: 5,000 stations need 10,000 sockets."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def pin_to_cpu(cpu: int) -> None:
    """Keep one process per core so the relay and the load generator do not trade places
    (a migration costs a cold cache and shows up as latency noise)."""
    if cpu < (os.cpu_count() or 1):
        os.sched_setaffinity(0, {cpu})


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, from /proc/<pid>/stat (fields 14 and 15, in clock ticks)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS_PER_S


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _prepare_child(cpu: int) -> None:
    raise_fd_limit()
    pin_to_cpu(cpu)
    # Should the bench die without stopping it (SIGKILL, a closed pipe), the relay goes too
    # rather than idling on with thousands of sockets and skewing the next run.
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat: the bench
    shares its 2 cores with whatever else runs, and the reader should know how much that was."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq) / _CLOCK_TICKS_PER_S, steal / _CLOCK_TICKS_PER_S


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class RelayOptions:
    upstream_url: str
    compression: bool
    cpu: int = 1
    module: str = "localctl"  # or benchmarks.relay_gc_probe, which wraps it


def write_config(path: Path, options: RelayOptions) -> None:
    # Pings stay at the controller's defaults: they are part of what a deployment pays for.
    path.write_text(
        "relay:\n"
        "  listen: 127.0.0.1:0\n"
        f"  upstream_url: {options.upstream_url}\n"
        f"  compression: {'true' if options.compression else 'false'}\n"
    )


class RelayProcess:
    """`python -m localctl run --config FILE`, its stderr kept in a file (a pipe left unread
    would fill up with 5,000 stations' connect lines and stall the relay)."""

    def __init__(self, options: RelayOptions, work_dir: Path) -> None:
        self.options = options
        self.config_path = work_dir / f"relay-{id(self)}.yaml"
        self.log_path = work_dir / f"relay-{id(self)}.log"
        self._process: asyncio.subprocess.Process | None = None
        self.port = 0

    @property
    def pid(self) -> int:
        assert self._process is not None, "start() first"
        return self._process.pid

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    async def start(self) -> None:
        write_config(self.config_path, self.options)
        cpu = self.options.cpu
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                self.options.module,
                "run",
                "--config",
                str(self.config_path),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
                preexec_fn=lambda: _prepare_child(cpu),
            )
        self.port = await self._wait_for_port()

    async def _wait_for_port(self) -> int:
        deadline_s = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline_s:
            if match := _LISTENING.search(self.log_path.read_text(errors="replace")):
                return int(match.group(1))
            if self._process is not None and self._process.returncode is not None:
                break
            await asyncio.sleep(0.05)
        raise RuntimeError(f"relay did not start; its log:\n{self.log_path.read_text()}")

    async def stop(self) -> int:
        """SIGTERM and wait; the relay closes what is still connected and exits 0."""
        if self._process is None:
            return 0
        if self._process.returncode is not None:
            return self._process.returncode
        self._process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self._process.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
            raise

    def gc_pauses(self) -> list[GcPause]:
        """What benchmarks.relay_gc_probe logged (nothing when the relay ran without it)."""
        return [
            GcPause(float(m["at_s"]), int(m["gen"]), float(m["pause_ms"]))
            for m in _GC_PAUSE.finditer(self.log_path.read_text(errors="replace"))
        ]

    def warnings(self) -> list[str]:
        """Lines the relay logged at WARNING or above: a clean run has none."""
        text = self.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if " WARNING " in line or " ERROR " in line]
